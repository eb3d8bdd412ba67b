"""benchmarks/compress_study.py (issue 13 item 2): the grid is what the issue asks for, every method gets
the same total epoch budget, the flow scale is the flow's training config; one tiny run end to end."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

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


def test_flow_scale_is_the_flow_train_config(study) -> None:
    """FLOW = configs/train_bilstm.toml's network, optimizer, augmentation and distillation weight."""
    from rnnaccel.train import load_config

    cfg = load_config(Path(study.__file__).resolve().parents[1] / "src/rnnaccel/configs/train_bilstm.toml")
    f = study.FLOW
    assert (f["hidden"], f["num_layers"], f["bidirectional"], f["dropout"]) == (
        cfg.model.hidden_size, cfg.model.num_layers, cfg.model.bidirectional, cfg.model.dropout)
    assert (f["batch_size"], f["lr"], f["finetune_lr"], f["clip"], f["distill"]) == (
        cfg.optim.batch_size, cfg.optim.lr, cfg.optim.lr, cfg.optim.clip, cfg.optim.distill)
    assert {k: v for k, v in cfg.augment.model_dump().items() if v} == f["augment"]
    assert f["cmvn"] == cfg.data.cmvn and f["train_utterances"] is None and f["dev_utterances"] is None
    assert study.admm_schedule(24, 175).rho0 == 0.0015  # the flow's steps per epoch: the default ρ₀


def test_restricted_grid_runs_the_decisive_cell_in_priority_order(study) -> None:
    jobs = study.jobs(cells=("lstm",), blocks=(8,), budgets=(24, 12))
    ids = [j["id"] for j in jobs]
    position = {i: n for n, i in enumerate(ids)}
    assert all(position[d] < position[j["id"]] for j in jobs for d in j["deps"])
    work = [i for i in ids if not i.startswith("dense")]
    assert work == [f"{m}-lstm-k8-b24-s{s}" for s in (0, 1) for m in ("admm", "direct")] \
        + [f"scratch-lstm-k8-b24-s{s}" for s in (0, 1)] + [f"prune-lstm-b24-s{s}" for s in (0, 1)] \
        + [f"{m}-lstm-k8-b12-s{s}" for s in (0, 1) for m in ("admm", "direct")] \
        + [f"scratch-lstm-k8-b12-s{s}" for s in (0, 1)] + [f"prune-lstm-b12-s{s}" for s in (0, 1)]
    dense = [i for i in ids if i.startswith("dense")]
    assert dense == ["dense-lstm-s0-e6", "dense-lstm-s0-e12", "dense-lstm-s1-e6", "dense-lstm-s1-e12",
                     "dense-lstm-s0-e24", "dense-lstm-s1-e24"]  # the references at 24 epochs last
    assert ids.index("dense-lstm-s1-e24") == len(ids) - 1
    assert {j["kind"] for j in study.jobs(budgets=(12,), methods=("admm",))} == {"admm", "dense"}


def test_command_line_restriction_and_its_errors(study, monkeypatch, capsys) -> None:
    import argparse

    ns = argparse.Namespace(cell=("lstm",), k=(8,), budget=(24, 12), method=None)
    assert study.grid_of(ns) == {"cells": ("lstm",), "blocks": (8,), "budgets": (24, 12)}
    with pytest.raises(SystemExit, match="--k 5: the study's grid has --k in"):
        study.grid_of(argparse.Namespace(cell=None, k=(5,), budget=None, method=None))
    with pytest.raises(argparse.ArgumentTypeError, match="'2x': expected comma-separated integers"):
        study._ints("2x")
    with pytest.raises(argparse.ArgumentTypeError, match="rnn: expected some of lstm,gru"):
        study._names(study.CELLS)("lstm,rnn")


def test_an_out_dir_holds_one_scale(study, tmp_path) -> None:
    study.check_scale(tmp_path, "flow")
    study.check_scale(tmp_path, "flow")
    assert study.scale_of(tmp_path) == "flow" and study.scale_of(tmp_path / "new") == "proxy"
    with pytest.raises(ValueError, match="holds the 'flow' scale's jobs, not 'proxy'; use another --out"):
        study.check_scale(tmp_path, "proxy")


def test_admm_and_prune_flows_pass_the_teacher_to_training(monkeypatch) -> None:
    """The study's dense-started methods distil from their dense snapshot, as the flow's direct stage."""
    import rnnaccel.compress.pipeline as pipe
    from rnnaccel.compress import ADMMSchedule
    from rnnaccel.train import Config, build_model

    seen = []

    def fake_train(config, model, data, progress, **kw):
        seen.append(kw.get("teacher"))
        return SimpleNamespace(history=[])

    monkeypatch.setattr(pipe, "_train", fake_train)
    monkeypatch.setattr(pipe, "_evaluate_all", lambda *a: {})
    monkeypatch.setattr(pipe, "write_admm_log", lambda *a: None)
    config = Config.model_validate({"model": {"cell": "lstm", "hidden_size": 8, "num_layers": 1}})
    dense = build_model(config.model, 13)
    pipe.admm_flow(dense, config, 4, ADMMSchedule(iterations=1), 1, None, "unused", teacher=dense)
    pipe.prune_flow(dense, config, 0.5, 2, 1, None, "unused", teacher=dense)
    pipe.admm_flow(dense, config, 4, ADMMSchedule(iterations=1), 1, None, "unused")
    assert seen == [dense, dense, dense, None, None]  # W-step, fine-tuning, pruning; the default: none


def test_tiny_grid_end_to_end_with_resume_and_tables(study, monkeypatch, tmp_path) -> None:
    """Every method of one (cell, k, budget) on a 4-utterance random corpus at a tiny scale with
    distillation on: one file per job, a second worker finds nothing left, the tables fill."""
    import numpy as np

    from rnnaccel.data.features import FeatureStats
    from rnnaccel.train import Dataset

    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(12, 13, generator=gen) for _ in range(4)]
    data = Dataset("train", feats, [torch.randint(0, 61, (12,), generator=gen) for _ in range(4)],
                   [torch.randint(0, 61, (3,), generator=gen) for _ in range(4)])
    stats = FeatureStats(np.zeros(13, np.float32), np.ones(13, np.float32))
    tiny = {**study.FLOW, "hidden": 4, "num_layers": 1, "dropout": 0.0, "batch_size": 2, "augment": {}}
    monkeypatch.setitem(study.SCALES, "tiny", tiny)
    monkeypatch.setattr(study.Worker, "data", lambda self: ((data, {"dev": data}, stats), data))
    grid = {"cells": ("lstm",), "blocks": (4,), "budgets": (12,)}
    study.run_worker(tmp_path, "unused", None, grid, "tiny")
    rows = study.load_rows(tmp_path)
    assert set(rows) == {j["id"] for j in study.jobs(**grid)}
    admm = rows["admm-lstm-k4-b12-s0"]
    assert len(admm["epoch_seconds"]) == 6 and admm["scale"] == "tiny" and len(admm["admm_residuals"]) == 2
    assert len(rows["scratch-lstm-k4-b12-s1"]["epoch_seconds"]) == 12
    assert len(rows["dense-lstm-s0-e12"]["epoch_seconds"]) == 6  # only the epochs after the 6-epoch snapshot
    assert study.plan(tmp_path, grid).startswith("12/12 jobs done")
    text = study.seed_table(tmp_path)
    assert "| LSTM | 12 | admm | 4 |" in text and "| LSTM | 12 | prune | — |" in text
    assert "| 12 |" in study.table(tmp_path, grid)
