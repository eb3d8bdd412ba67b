"""benchmarks/compress_study.py (issue 13 item 2): the grid is what the issue asks for and every method
gets the same total epoch budget; no training here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "compress_study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("compress_study", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_grid_covers_methods_cells_blocks_budgets_seeds(study) -> None:
    jobs = study.jobs()
    ids = [j["id"] for j in jobs]
    assert len(ids) == len(set(ids))
    runs = {(j["kind"], j["cell"], j.get("k"), j["budget"], j["seed"]) for j in jobs if j["kind"] != "dense"}
    want = {(m, c, k, b, s) for m in ("admm", "direct", "scratch") for c in ("lstm", "gru")
            for k in (4, 8, 16) for b in (12, 24, 48) for s in (0, 1)}
    want |= {("prune", c, None, b, s) for c in ("lstm", "gru") for b in (12, 24, 48) for s in (0, 1)}
    assert runs == want


def test_dependencies_come_first_and_budgets_in_priority_order(study) -> None:
    jobs = study.jobs()
    position = {j["id"]: i for i, j in enumerate(jobs)}
    for j in jobs:
        assert all(position[d] < position[j["id"]] for d in j["deps"]), j["id"]
    budgets = [j["budget"] for j in jobs if j["kind"] != "dense"]
    assert budgets == sorted(budgets)  # 12 first, 48 last


def test_equal_total_epoch_budget(study) -> None:
    """Dense epochs of the starting snapshot + compression epochs = the budget, for every method."""
    dense = {j["id"]: j["epochs"] for j in study.jobs() if j["kind"] == "dense"}
    for j in study.jobs():
        if j["kind"] == "dense":
            continue
        b, half = j["budget"], j["budget"] // 2
        if j["kind"] == "scratch":
            assert j["deps"] == []
            continue
        (start,) = j["deps"]
        stage = study.admm_schedule(b, 30).total_epochs if j["kind"] == "admm" else half
        assert dense[start] + stage == b, j["id"]


def test_admm_schedule_keeps_the_flow_pull_per_epoch(study) -> None:
    from rnnaccel.compress import ADMMSchedule

    s = study.admm_schedule(12, 30)
    assert (s.iterations, s.epochs_per_iteration, s.finetune_epochs, s.w_step) == (2, 2, 2, "proximal")
    flow = ADMMSchedule()
    pull = 1 - (1 - flow.rho0) ** study.PROXY["flow_steps_per_epoch"]
    assert 1 - (1 - s.rho0) ** 30 == pytest.approx(pull)
    assert study.admm_schedule(48, 30).iterations == 8
