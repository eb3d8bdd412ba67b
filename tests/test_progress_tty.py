"""Progress bars only on a terminal: with stderr redirected to a file (a log) no tqdm redraws appear."""

import subprocess
import sys

SCRIPT = """
from rnnaccel.compress.pipeline import _admm_bar
from rnnaccel.data.synth import _bar as synth_bar
from rnnaccel.train.loop import _bar as epoch_bar
for bar in (epoch_bar(True, 5, 1, 2), synth_bar(True, 5), _admm_bar(True, 5)):
    for _ in range(5):
        bar.update(1)
    bar.close()
"""


def test_no_bars_when_stderr_is_not_a_terminal(tmp_path):
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], stderr=err, timeout=120)
    assert proc.returncode == 0, log.read_text()[-2000:]
    text = log.read_text()
    assert "\r" not in text and "it/s" not in text and "utt/s" not in text, text[-500:]
