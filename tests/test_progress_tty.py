"""Progress bars only on a terminal: with stderr redirected to a file (a log) no tqdm redraws appear; on a
(pseudo-)terminal the bars are drawn. The flow's integer-engine stage: a bar on a terminal, log lines
always."""

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


INT_ENGINE = """
from types import SimpleNamespace

import torch
from rnnaccel.flow import FlowConfig, _ref_check
from rnnaccel.quant import QuantRecognizer, quant_preset
from rnnaccel.shape import RnnShape
from rnnaccel.train import build_model

torch.manual_seed(0)
model = build_model(RnnShape("gru", 4, 8, block_sizes=4)).eval()
wrapped = QuantRecognizer(model, quant_preset("16bit"))
feats = [torch.randn(3 + i % 5, 4) for i in range(70)]  # 3 batches of 32
class Split(SimpleNamespace):
    def __len__(self):
        return len(self.feats)
test_set = Split(feats=feats, phones=[torch.tensor([1, 2])] * len(feats))
rep = _ref_check(FlowConfig(check_utterances=2), wrapped, test_set, print, batch_size=32, progress=True)
print("bit_exact", rep["bit_exact"], rep["utterances"])
"""


def test_integer_engine_stage_logs_plain_lines_off_a_terminal(tmp_path):
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.run([sys.executable, "-c", INT_ENGINE], stderr=err, stdout=subprocess.PIPE,
                              text=True, timeout=300)
    assert proc.returncode == 0, log.read_text()[-2000:]
    assert "bit_exact True 70" in proc.stdout and "integer engine: 70/70 utterances" in proc.stdout
    assert "integer engine: 32/70 utterances" in proc.stdout  # a line per batch here (fewer when long)
    assert "\r" not in log.read_text() and "batch/s" not in log.read_text()


def _on_a_terminal(code: str) -> tuple[int, str, str]:
    """Run ``code`` with stderr on a pseudo-terminal (100 columns): (rc, stdout, what the terminal got)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new pty is 0x0
    chunks = []
    try:
        proc = subprocess.run([sys.executable, "-c", code], stderr=follower, stdout=subprocess.PIPE,
                              text=True, timeout=300)
        os.close(follower)
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child side is closed
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    return proc.returncode, proc.stdout, b"".join(chunks).decode(errors="replace")


def test_bars_on_a_terminal():
    rc, _, bar = _on_a_terminal(SCRIPT)
    assert rc == 0 and bar.count("100%") == 3 and "\r" in bar, bar[-500:]


def test_integer_engine_stage_draws_a_bar_on_a_terminal():
    rc, out, bar = _on_a_terminal(INT_ENGINE)
    assert rc == 0 and "bit_exact True 70" in out
    assert "integer engine: 100%" in bar and "3/3" in bar and "\r" in bar, bar[-500:]
