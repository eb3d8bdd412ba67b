"""kill -9 of a real ``rnnaccel data synth`` process in the middle of synthesis (issue 16, items 2 and 6).

A ``flite`` shim placed first on PATH runs the real flite for the first calls and then blocks, so the
kill lands deterministically inside synthesis (after ``at - 1`` utterances were rendered), never before
it starts or after it finished. The rerun must leave a complete corpus equal to an uninterrupted run's,
no partial or ``tmp*`` directory, and nothing a reader could mistake for a corpus in between.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rnnaccel.data.synth import corpus_status, verify_corpus

N, SEED = 6, 3
ARGS = ["-n", str(N), "--seed", str(SEED), "--voices", "kal16,rms", "--heldout", "rms", "-j", "1",
        "--no-progress"]

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="flite is not installed")


def _synth(out: Path, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rnnaccel", "data", "synth", str(out), *ARGS],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _shim_env(shim: Path, at: int) -> dict:
    shim.mkdir()
    script = shim / "flite"
    script.write_text("#!/bin/sh\n"
                      f'echo call >> "{shim}/calls"\n'
                      f'if [ "$(wc -l < "{shim}/calls")" -ge {at} ]; then\n'
                      f'  echo $$ > "{shim}/hold.tmp"; mv "{shim}/hold.tmp" "{shim}/hold.pid"\n'
                      "  exec sleep 300\n"
                      "fi\n"
                      f'exec {shutil.which("flite")} "$@"\n')
    script.chmod(0o755)
    return {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}


def _wait_for(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 180
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"synth exited (rc {proc.returncode}) before reaching the kill point: "
                        f"{proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("synth did not reach the kill point in 180 s")
        time.sleep(0.02)


def _kill_mid_synthesis(root: Path, shim: Path, at: int) -> None:
    proc = _synth(root, _shim_env(shim, at))
    _wait_for(shim / "hold.pid", proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate()
    os.kill(int((shim / "hold.pid").read_text()), signal.SIGKILL)  # the shim's sleep, started by us


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("at", [1, N])  # blocked on the first / the last of the N flite calls
def test_kill_9_mid_synthesis_then_rerun_gives_the_complete_corpus(tmp_path, at):
    work = tmp_path / "work"
    work.mkdir()
    root = work / "c"
    _kill_mid_synthesis(root, tmp_path / "shim", at)
    partials = list(work.glob(".c.partial-*"))
    assert len(partials) == 1 and not root.exists(), "the kill left a corpus (or nothing) behind"
    assert list(partials[0].glob("tmp*")), "the kill point was not inside rendering"
    assert corpus_status(root, N, SEED) == "absent"  # what flow checks: no 'corpus (present)'
    rerun = _synth(root)
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert "Traceback" not in err
    assert f"removed the partial corpus of an interrupted run: {partials[0]}" in err
    assert sorted(p.name for p in work.iterdir()) == ["c"]  # no partial, old or tmp* directory
    assert not [p for p in root.rglob("*") if p.name.startswith(("tmp", ".c."))]
    assert corpus_status(root, N, SEED) == "synthetic" and verify_corpus(root)["utterances"] == N
    assert len(list(root.rglob("*.PHN"))) == len(list(root.rglob("*.WAV"))) == N
    clean = _synth(tmp_path / "uninterrupted")
    assert clean.communicate(timeout=300) and clean.returncode == 0
    assert _tree(root) == _tree(tmp_path / "uninterrupted")  # the rerun is exactly a run never killed
