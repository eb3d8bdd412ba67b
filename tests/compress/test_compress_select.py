"""Model selection: cheapest trial within the PER budget, reduced vs full strategy, resumable sweep,
config validation and the CLI's plan."""

import json

import pytest
from click.testing import CliRunner
from study_fakes import FakeRunner  # PER grows with block size (Observation 1), falls with hidden size

from rnnaccel.cli import main
from rnnaccel.compress.config import ADMMSettings, CompressConfig, GridConfig, load_compress_config
from rnnaccel.compress.select import full_plan, reduced_search, select_cheapest
from rnnaccel.compress.sweep import Sweep
from rnnaccel.compress.trials import TrialSpec


def _row(trial, per, storage, mults=100, spec=None):
    spec = spec or TrialSpec("lstm", 64).as_dict()
    return {"trial": trial, "per": per, "storage_bytes": storage, "mults_per_frame": mults, "spec": spec}


def test_select_cheapest_within_budget():
    rows = [_row("dense", 0.200, 1000), _row("k4", 0.204, 300), _row("k8", 0.209, 150),
            _row("k16", 0.230, 80), _row("k8-12bit", 0.2095, 60)]
    assert select_cheapest(rows, 0.200, 1.0)["trial"] == "k8-12bit"
    assert select_cheapest(rows, 0.200, 0.5)["trial"] == "k4"
    assert select_cheapest(rows, 0.200, 5.0)["trial"] == "k8-12bit"  # k16 is dearer than the 12-bit k8
    assert select_cheapest(rows, 0.200, 5.0, cost="mults_per_frame")["trial"] == "dense"  # tie -> lower PER
    assert select_cheapest(rows, 0.150, 1.0) is None


def test_select_cheapest_errors():
    with pytest.raises(ValueError, match="max_degradation must be >= 0 PER points, got -1"):
        select_cheapest([], 0.2, -1)
    with pytest.raises(ValueError, match="cost must be 'storage_bytes' or 'mults_per_frame', got 'area'"):
        select_cheapest([], 0.2, 1.0, cost="area")


def test_reduced_strategy_runs_fewer_trials_and_settles_block_size_first():
    grid = GridConfig(cells=["lstm", "gru"], hidden_sizes=[64, 96], block_sizes=[4, 8, 16],
                      quant=["float", "16bit", "12bit"])
    full = FakeRunner()
    full_rows = [full.run(s) for s in full_plan(grid)]
    reduced = FakeRunner()
    rows = reduced_search(grid, reduced.run, 3.0, "storage_bytes", reduced.estimate)
    assert len(full.calls) == 40 == len(full_plan(grid))
    assert len(reduced.calls) == len(set(reduced.calls)) < 15
    # block 16 costs 6 points on the reference, block 8 2.8 points: 16 is tried first, then 8 is kept
    assert reduced.calls[:3] == ["lstm-h64-dense", "lstm-h64-admm-k16", "lstm-h64-admm-k8"]
    assert "gru-h96-admm-k8" in reduced.calls and "gru-h96-admm-k4" not in reduced.calls
    base = full_rows[0]["per"]
    best_full = select_cheapest(full_rows, base, 3.0)
    best_reduced = select_cheapest(rows, base, 3.0)
    assert best_reduced["trial"] == "lstm-h64-admm-k8-12bit"
    assert best_full["storage_bytes"] <= best_reduced["storage_bytes"]


def _config(tmp_path, **over):
    grid = GridConfig(cells=["lstm"], hidden_sizes=[64], block_sizes=[4, 8], quant=["float", "16bit"])
    return CompressConfig(results=str(tmp_path / "res.json"), out_dir=str(tmp_path / "runs"), grid=grid,
                          max_per_degradation=3.0, **over)


def test_sweep_writes_results_and_resumes_from_the_study(tmp_path):
    runner = FakeRunner()
    summary = Sweep(_config(tmp_path), runner=runner).run()
    assert summary["selected"] == "lstm-h64-admm-k8-16bit"
    assert summary["trials_run"] == len(runner.calls) == 3  # dense, k8 (2.8 points: within 3), k8-16bit
    assert summary["full_grid_trials"] == 5
    assert summary["warnings"] == [] and summary["notes"] == []
    saved = json.loads((tmp_path / "res.json").read_text())
    assert [t["trial"] for t in saved["trials"]] == runner.calls
    assert (tmp_path / "runs" / "study.journal").is_file()  # default storage: a file in the run directory
    assert all(t["frames_per_s_per_w"] > 0 for t in saved["trials"])
    again = FakeRunner()
    seen = []
    resumed = Sweep(_config(tmp_path), runner=again, on_trial=lambda row, cached: seen.append(cached)).run()
    assert again.calls == [] and seen == [True, True, True]
    assert resumed["selected"] == summary["selected"]


def test_sweep_reruns_a_trial_made_by_other_settings(tmp_path):
    Sweep(_config(tmp_path), runner=FakeRunner()).run()
    changed = _config(tmp_path).model_copy(update={"admm": ADMMSettings(iterations=9)})
    again = FakeRunner()
    summary = Sweep(changed, runner=again).run()
    assert again.calls == ["lstm-h64-admm-k8", "lstm-h64-admm-k8-16bit"]  # the dense baseline is reused
    assert any("lstm-h64-admm-k8) was made by another config or data" in n for n in summary["notes"])


def test_config_errors_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("max_per_degradation = 1.0\nbudget = 2\n")
    with pytest.raises(ValueError, match="(?s)budget.*Extra inputs are not permitted"):
        load_compress_config(bad)
    bad.write_text("max_per_degradation = -0.5\n")
    with pytest.raises(ValueError, match="(?s)max_per_degradation.*greater than or equal to 0"):
        load_compress_config(bad)
    bad.write_text("[grid]\nquant = ['16bit']\n")
    with pytest.raises(ValueError, match="quant must include 'float'"):
        load_compress_config(bad)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(ValueError, match="config must be .toml, .yaml or .yml"):
        load_compress_config(tmp_path / "x.json")
    with pytest.raises(ValueError, match="cannot read config"):
        load_compress_config(tmp_path / "missing.toml")


def test_default_config_parses_and_cli_plan():
    config = load_compress_config("configs/compress_default.toml")
    assert config.strategy == "reduced" and len(full_plan(config.grid)) == 40
    result = CliRunner().invoke(main, ["compress", "--config", "configs/compress_default.toml", "--plan"])
    assert result.exit_code == 0, result.output
    assert "full grid: 40 trials; reduced strategy: at most 12 trials" in result.output


def test_trial_spec_validation():
    with pytest.raises(ValueError, match="block_size is required for admm/direct"):
        TrialSpec("lstm", 64, "admm")
    with pytest.raises(ValueError, match="unknown method 'svd'"):
        TrialSpec("lstm", 64, "svd")
    assert TrialSpec("gru", 96, "direct", {"input": 4, "recurrent": 8}).trial_id == "gru-h96-direct-ki4.r8"
    assert TrialSpec("gru", 96, "admm", [8, {"recurrent": 16}]).trial_id == "gru-h96-admm-k8_r16"
    grid = GridConfig(block_sizes=[[8, {"input": 4, "recurrent": 16}], 8])
    assert len(full_plan(grid)) == 2 * 2 * (1 + 2 * 3)
    with pytest.raises(ValueError, match=r"block_sizes\[0\]\[1\].input must be an integer >= 1, got 0"):
        GridConfig(block_sizes=[[8, {"input": 0}]])
