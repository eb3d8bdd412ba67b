"""``rnnaccel explore --sampler grid``: kill -9 of the real process in the middle of a trial, then the same
command again: the interrupted point is retried, the finished ones are not evaluated again (issue 14)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from test_explore_sweep import SMALL

pytest.importorskip("optuna")

# the CLI in a process whose worker blocks on one design point (after writing which) until killed
_HANG = """
import sys, time
from pathlib import Path
from rnnaccel.explore import study
run, marker, calls = study.ExploreWorker.run, Path(sys.argv[1]), []
def hanging(self, spec):
    calls.append(spec)
    if len(calls) == int(sys.argv[2]):
        marker.write_text(study.ExploreTask.key(None, spec))
        time.sleep(300)
    return run(self, spec)
study.ExploreWorker.run = hanging
from rnnaccel.cli import main
main(sys.argv[3:])
"""


def _cli(tmp_path, *extra):
    return ["explore", "--config", str(tmp_path / "cfg.toml"), "--out", str(tmp_path / "out"), "--sampler",
            "grid", "--json", *extra]


def test_kill_9_mid_trial_then_rerun_retries_only_the_interrupted_point(tmp_path):
    (tmp_path / "cfg.toml").write_text(SMALL)
    marker = tmp_path / "hanging"
    proc = subprocess.Popen([sys.executable, "-c", _HANG, str(marker), "5", *_cli(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"explore did not reach its 5th point (exit {proc.poll()})"
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the process we started, by its id
        proc.communicate()
    import optuna

    from rnnaccel.study.storage import storage_for

    journal = tmp_path / "out" / "study.journal"
    before = optuna.load_study(study_name="explore", storage=storage_for(str(journal), tmp_path)).trials
    states = [t.state.name for t in before]  # the grid asks its trials in chunks, then runs them
    assert states[:4] == ["COMPLETE"] * 4 and set(states[4:]) == {"RUNNING"}  # killed inside the 5th
    done = subprocess.run([sys.executable, "-m", "rnnaccel", *_cli(tmp_path)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["points"] == summary["study"]["grid_points"] == summary["study"]["trials"]
    assert any(f"({marker.read_text()}) was interrupted" in n for n in summary["study"]["notes"])
    after = optuna.load_study(study_name="explore", storage=storage_for(str(journal), tmp_path)).trials
    finished = [t for t in after if t.state.name in ("COMPLETE", "PRUNED")]
    keys = [t.user_attrs["key"] for t in finished]
    # one finished trial per point: the 4 finished before the kill (trials 0-3) were not evaluated again
    assert len(keys) == len(set(keys)) == summary["points"]
    assert [t.number for t in finished[:4]] == [0, 1, 2, 3]
    assert marker.read_text() in keys and not [t for t in after if t.state.name == "RUNNING"]
