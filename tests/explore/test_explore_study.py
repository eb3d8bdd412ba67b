"""Explore: strict JSON, file modes, a Pareto front (and axis) per device, the plot's legend, and the
sweep as an Optuna study (grid/TPE/NSGA-II, resume, Ray)."""

import json
import stat
from xml.etree import ElementTree

import numpy as np
import pytest
from click.testing import CliRunner
from test_explore_sweep import SMALL  # the same small sweep as the grid tests

from rnnaccel.cli import main
from rnnaccel.explore import explore, load_explore_config, pareto_front_naive
from rnnaccel.explore.run import plot_groups
from rnnaccel.report.plots import pareto_figure


def _config(tmp_path, extra=""):
    path = tmp_path / "cfg.toml"
    path.write_text(SMALL + extra)
    return load_explore_config(path)


def _no_nan(token):
    raise AssertionError(f"non-JSON token {token}")


def test_outputs_are_strict_json_and_mode_0644(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "res"
    result = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    front = json.loads((out / "pareto.json").read_text(), parse_constant=_no_nan)
    assert front and all(row["per"] is None for row in front)  # no Phase I results: PER unknown
    for name in ("points.csv", "pareto.json", "pareto.svg", "summary.json"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    ElementTree.fromstring((out / "pareto.svg").read_text())  # well-formed SVG


def test_front_is_per_device(tmp_path):
    result = explore(_config(tmp_path))
    cols = result.columns
    for dev in range(2):
        idx = np.flatnonzero(cols["fits"] & (cols["device"] == dev))
        naive = pareto_front_naive(cols["frames_per_s_per_w"][idx], cols["resource_use"][idx])
        assert np.array_equal(result.front[idx], naive)
    assert {r["device"] for r in result.front_rows()} == {"ku060", "vx690t"}


def test_plot_one_axis_per_device_drops_excluded_points_and_empty_legend_entries(tmp_path):
    trials = {"trials": [{"cell": "lstm", "hidden": 128, "block_sizes": {"gates": 8, "proj": 4}, "bits": 8,
                          "per": 0.21}]}
    (tmp_path / "p1.json").write_text(json.dumps(trials))
    extra = f'phase1_results = "{tmp_path / "p1.json"}"\nmax_per = 0.25\n'
    result = explore(_config(tmp_path, extra))
    groups = plot_groups(result)
    n_eligible = sum(len(g["points"]) for g in groups.values())
    assert n_eligible == int(result.columns["eligible"].sum()) < int(result.columns["fits"].sum())
    fig = pareto_figure(groups, result.resource)
    assert [ax.get_title() for ax in fig.axes] == ["ku060", "vx690t"]
    for ax in fig.axes:
        handles, labels = ax.get_legend_handles_labels()
        assert "Pareto gru" not in labels  # no GRU point meets max_per: no legend entry for it
        assert all(h.get_offsets().shape[0] > 0 for h in handles)
        assert ax.get_xlabel().endswith(ax.get_title())


@pytest.mark.parametrize("sampler", ["tpe", "nsga2"])
def test_study_samplers(tmp_path, sampler):
    from rnnaccel.explore.study import explore_study

    result, info = explore_study(_config(tmp_path), sampler, 8,
                                 storage=str(tmp_path / "s.journal"))
    assert info["sampler"] == sampler and 1 <= result.n_points <= 8
    assert result.front.any()


def test_grid_study_resumes_and_matches_the_vectorized_front(tmp_path):
    import optuna

    from rnnaccel.explore.study import explore_study

    cfg = _config(tmp_path, "")
    cfg = cfg.model_copy(update={"sweep": cfg.sweep.model_copy(update={"ii": [1], "weight_bits": [8]})})
    storage = str(tmp_path / "grid.journal")
    first, _ = explore_study(cfg, "grid", 6, storage=storage)
    assert first.n_points == 6
    full, info = explore_study(cfg, "grid", storage=storage)
    assert full.n_points == info["trials"] == 16
    from rnnaccel.study.storage import storage_for

    study = optuna.load_study(study_name="explore", storage=storage_for(storage, tmp_path))
    assert len(study.trials) == 16  # the first 6 points were not evaluated again
    vec = explore(cfg)
    key = ("cell", "device", "block_gate", "pe_gate", "ii", "weight_bits")

    def front(res):
        return {tuple(r[k] for k in key) for r in res.front_rows()}

    assert front(full) == front(vec)


def test_cli_study_options(tmp_path):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(SMALL)
    bad = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--jobs", "2"])
    assert bad.exit_code != 0 and "need --sampler" in bad.output
    out = tmp_path / "o"
    ok = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--out", str(out), "--sampler", "tpe",
                                   "--trials", "5", "--json"])
    assert ok.exit_code == 0, ok.output
    summary = json.loads(ok.output)
    assert summary["study"]["trials"] == 5 and (out / "study.journal").is_file()


def test_ray_backend_runs_the_same_trials(tmp_path):
    ray = pytest.importorskip("ray")
    from rnnaccel.explore.study import explore_study

    try:
        result, info = explore_study(_config(tmp_path), "grid", 6, storage=str(tmp_path / "r.journal"),
                                     backend="ray", jobs=2)
    except ValueError as exc:  # Ray waits 30 s (hard-coded) for its raylet: an overloaded machine
        if "timed out during startup" in str(exc):
            pytest.skip(f"local Ray did not start on this (overloaded) machine: {exc}")
        raise
    assert result.n_points == 6 and not ray.is_initialized()  # started and shut down by the backend
    local, _ = explore_study(_config(tmp_path), "grid", 6, storage=str(tmp_path / "r.journal"))
    assert local.n_points == 6  # reused: the same study, nothing new to run


def test_ray_missing_is_a_clear_error(monkeypatch):
    import sys

    from rnnaccel.study import RayBackend

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ValueError, match=r"--backend ray needs Ray: pip install 'rnnaccel\[ray\]'"):
        RayBackend(dict, jobs=1)
