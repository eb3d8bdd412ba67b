"""`rnnaccel quant search RUN_DIR`: on a tiny trained run, the JSON result, its table and the errors."""

import shutil

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.io import read_json

TRAIN = """
out_dir = "{out}/run"
[data]
corpus = "{out}/corpus"
cache_dir = "{out}/cache"
eval_splits = ["test"]
[model]
cell = "lstm"
hidden_size = 8
num_layers = 1
bidirectional = true
block_size = 4
[optim]
epochs = 1
batch_size = 4
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.fail("flite is required: apt-get install -y flite")
    from rnnaccel.data.synth import synthesize_corpus
    from rnnaccel.train import load_config, train

    out = tmp_path_factory.mktemp("qsearch")
    synthesize_corpus(out / "corpus", 12, seed=3, per_speaker=3)
    (out / "train.toml").write_text(TRAIN.format(out=out))
    train(load_config(out / "train.toml"))
    return out / "run"


def test_search_writes_a_stamped_json_result(run_dir, tmp_path):
    out = tmp_path / "formats.json"
    res = CliRunner().invoke(main, ["quant", "search", str(run_dir), "--budget", "100", "--min-bits", "10",
                                    "--max-bits", "12", "--calibration", "4", "--eval-split", "test",
                                    "--report-split", "none", "--uniform-only", "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = read_json(out)  # content_sha256 checked
    assert [next(iter(r["widths"].values())) for r in doc["uniform"]] == [12, 11, 10]
    assert doc["best_uniform_bits"] == 10  # a budget of 100 points admits every width
    assert sum(doc["best"]["calibration_overflows"].values()) == 0 and doc["best"]["bit_exact"] is True
    assert doc["best"]["formats"]["ifft"].startswith("ap_fixed<10,")
    assert "smallest uniform width within the budget: 10 bits" in res.output


@pytest.mark.parametrize(("args", "message"), [
    (["--budget", "-1"], "-1.0 is not in the range x>=0.0"),
    (["--budget", "nan"], "is not a finite number"),
    (["--budget", "1", "--min-bits", "12", "--max-bits", "10"], "--min-bits 12 is above --max-bits 10"),
    (["--budget", "1", "--eval-split", "dev"], "eval split 'dev' is not an evaluation split of the run"),
    (["--budget", "1", "--max-bits", "40"], "40 is not in the range 2<=x<=32"),
])
def test_bad_options_are_clear_errors(run_dir, args, message):
    res = CliRunner().invoke(main, ["quant", "search", str(run_dir), *args])
    assert res.exit_code != 0 and message in res.output, res.output


def test_not_a_run_directory(tmp_path):
    res = CliRunner().invoke(main, ["quant", "search", str(tmp_path), "--budget", "1"])
    assert res.exit_code != 0 and "no checkpoint.json" in res.output
