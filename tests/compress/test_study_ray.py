"""``rnnaccel compress --backend ray``: the same trials as Ray actors on a local Ray (``num_cpus=2``), the
same table as the local run, the same study reused afterwards."""

import json
import os
from pathlib import Path

import pytest
from study_fakes import FakeRunner
from test_study import _config

from rnnaccel.compress.sweep import Sweep


def test_ray_backend_runs_the_same_trials_as_local(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    pytest.importorskip("optuna")
    # the actors unpickle FakeRunner by module name: make tests/compress importable in Ray's workers
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    local = Sweep(_config(tmp_path / "local"), runner=FakeRunner()).run()
    config = _config(tmp_path / "ray")
    try:
        summary = Sweep(config, factory=FakeRunner, runner=FakeRunner(), backend="ray", jobs=2).run()
    except ValueError as exc:  # Ray waits 30 s (hard-coded) for its raylet: an overloaded machine
        if "timed out during startup" in str(exc):
            pytest.skip(f"local Ray did not start on this (overloaded) machine: {exc}")
        raise
    assert not ray.is_initialized()  # started with num_cpus=jobs and shut down by the backend
    assert summary["table"] == local["table"] and summary["selected"] == local["selected"]
    rows = json.loads(Path(config.results).read_text())["trials"]
    assert len(rows) == len(local["table"]) and all(r["pid"] != os.getpid() for r in rows)  # ran in actors
    again = FakeRunner()
    Sweep(config, runner=again).run()
    assert again.calls == []  # the Ray run's finished trials are in the study: nothing is rerun
