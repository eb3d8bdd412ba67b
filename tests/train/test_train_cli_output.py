"""`rnnaccel train` output: PER in percent (the convention of the README and `rnnaccel compress`) and the
training curves written next to the checkpoints."""

import json
import re
from xml.etree import ElementTree

from click.testing import CliRunner

from rnnaccel.cli import main


def test_train_prints_percent_and_writes_curves(tiny_corpus, tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text(f'out_dir = "{tmp_path / "run"}"\n'
                   f'[data]\ncorpus = "{tiny_corpus}"\neval_splits = ["test"]\n'
                   "[model]\nhidden_size = 8\nnum_layers = 1\nbidirectional = false\n"
                   "[optim]\nepochs = 2\nbatch_size = 4\nlr = 0.01\n")
    result = CliRunner().invoke(main, ["train", "--config", str(cfg), "--no-progress"])
    assert result.exit_code == 0, result.output
    epochs = [line for line in result.output.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 2 and all(re.search(r"PER\[test\]=\d+\.\d\d%", line) for line in epochs)
    summary = json.loads(result.output.strip().splitlines()[-1])
    per = summary["final_per_percent"]["test"]
    assert f"PER[test]={per:.2f}%" in epochs[-1]
    ElementTree.fromstring((tmp_path / "run" / "training_curves.svg").read_text())
    assert summary["curves"] == str(tmp_path / "run" / "training_curves.svg")
