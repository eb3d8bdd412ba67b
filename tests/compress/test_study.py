"""The compress sweep on an Optuna study: kill -9 in the middle of a trial (a real process), then
resume; worker processes; samplers; storage choices; errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from study_fakes import FakeRunner

from rnnaccel.compress.config import CompressConfig, GridConfig
from rnnaccel.compress.sweep import Sweep

pytest.importorskip("optuna")

_SCRIPT = """
import sys
sys.path.insert(0, {fakes!r})
from study_fakes import HangingRunner
from rnnaccel.compress.config import CompressConfig
from rnnaccel.compress.sweep import Sweep
config = CompressConfig.model_validate_json(open({cfg!r}).read())
Sweep(config, runner=HangingRunner({hang!r}, {marker!r}), sampler={sampler!r}).run(n_trials=4)
"""


def _config(tmp_path, strategy="full", **grid):
    grid = GridConfig(**{"cells": ["lstm"], "hidden_sizes": [64], "block_sizes": [4, 8],
                         "quant": ["float", "16bit"], **grid})
    return CompressConfig(results=str(tmp_path / "res.json"), out_dir=str(tmp_path / "runs"), grid=grid,
                          max_per_degradation=3.0, strategy=strategy)


def _kill_mid_trial(tmp_path, config, hang, sampler=None):
    cfg, marker = tmp_path / "cfg.json", tmp_path / "hanging"
    cfg.write_text(config.model_dump_json())
    script = _SCRIPT.format(fakes=str(Path(__file__).parent), cfg=str(cfg), hang=hang, marker=str(marker),
                            sampler=sampler)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the sweep did not reach trial {hang} (exit code {proc.poll()})"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return marker.read_text()


def test_kill_9_mid_trial_then_resume_retries_only_the_interrupted_trial(tmp_path):
    config = _config(tmp_path)
    assert _kill_mid_trial(tmp_path, config, hang="lstm-h64-admm-k8") == "lstm-h64-admm-k8"
    again = FakeRunner()
    sweep = Sweep(config, runner=again)  # opening the study marks the dead process's trial FAIL
    states = {t.user_attrs["key"]: t.state.name for t in sweep.study.study.get_trials()}
    assert states == {"lstm-h64-dense": "COMPLETE", "lstm-h64-admm-k4": "COMPLETE",
                      "lstm-h64-admm-k8": "FAIL"}
    summary = sweep.run()
    # finished trials are not rerun; the interrupted one is, and the ones after it run for the first time
    assert again.calls == ["lstm-h64-admm-k8", "lstm-h64-admm-k4-16bit", "lstm-h64-admm-k8-16bit"]
    assert summary["selected"] == "lstm-h64-admm-k8-16bit"
    rows = json.loads((tmp_path / "res.json").read_text())["trials"]
    assert len(rows) == 5
    assert any("(lstm-h64-admm-k8) was interrupted" in n and "retried" in n for n in summary["notes"])


def test_sampled_sweep_retries_the_interrupted_proposal(tmp_path):
    config = _config(tmp_path, cells=["lstm", "gru"], block_sizes=[4, 8, 16])
    hung = _kill_mid_trial(tmp_path, config, hang="*-admm-*", sampler="tpe")
    again = FakeRunner()
    sweep = Sweep(config, runner=again, sampler="tpe")
    summary = sweep.run(n_trials=4)
    assert again.calls[0] == hung  # its params were enqueued again and proposed first
    assert any(f"({hung}) was interrupted" in n for n in summary["notes"])
    retried = [t for t in sweep.study.study.get_trials() if "retry_of" in t.user_attrs]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE"


def test_worker_processes_give_the_same_result(tmp_path):
    serial = Sweep(_config(tmp_path / "a"), runner=FakeRunner()).run()
    parallel = Sweep(_config(tmp_path / "b"), factory=FakeRunner, runner=FakeRunner(), jobs=2).run()
    assert serial["table"] == parallel["table"]
    rows = json.loads((tmp_path / "b" / "res.json").read_text())["trials"]
    assert len({r["pid"] for r in rows}) >= 1 and all(r["pid"] != os.getpid() for r in rows)


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "grid"])
def test_samplers_propose_trials_with_three_objectives(tmp_path, sampler):
    import optuna

    config = _config(tmp_path, cells=["lstm", "gru"], block_sizes=[4, 8, 16])
    sweep = Sweep(config, runner=FakeRunner(), sampler=sampler)
    summary = sweep.run(n_trials=6)
    study = sweep.study.study
    assert [d.name for d in study.directions] == ["MINIMIZE", "MINIMIZE", "MAXIMIZE"]
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) >= 6 and all(len(t.values) == 3 for t in done)
    assert summary["study"]["sampler"] == sampler and summary["selected"] is not None


def test_sqlite_storage_and_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    Sweep(_config(tmp_path), runner=FakeRunner(), storage=url).run()
    again = FakeRunner()
    Sweep(_config(tmp_path), runner=again, storage=url).run()
    assert again.calls == [] and (tmp_path / "sweep.db").is_file()
    with pytest.raises(ValueError, match="jobs must be an integer >= 1, got 0"):
        Sweep(_config(tmp_path), runner=FakeRunner(), jobs=0)
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        Sweep(_config(tmp_path), runner=FakeRunner(), storage="redis://x")
    with pytest.raises(ValueError, match="--address is only for --backend ray"):
        Sweep(_config(tmp_path), runner=FakeRunner(), address="auto")
