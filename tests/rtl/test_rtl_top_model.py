"""`rnnaccel rtl build --model`: layer-directions of small random-weight models (LSTM and GRU,
unidirectional and bidirectional, a second layer fed the first's outputs) are bit-exact in Icarus
and their measured cycles per frame equal rnnaccel.hw.fpga's; bad model directories fail, naming
the value, before any file is written."""

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from rnnaccel.cli.rtl import rtl
from rnnaccel.export import write_int_model
from rnnaccel.nn import GRU, LSTM
from rnnaccel.quant.config import QuantConfig
from rnnaccel.ref import export_model
from rnnaccel.rtl.build import run_sim
from rnnaccel.rtl.model_build import write_layer_design

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get)")


def _model(kind, bidirectional, layers=1, **kw):
    torch.manual_seed(1)
    cls = GRU if kind == "gru" else LSTM
    extra = {"peephole": True} if kind != "gru" else {}
    kw |= {"proj_size": 4} if kind == "lstmp" else {}
    net = cls(8, 8, layers, batch_first=True, bidirectional=bidirectional, block_size=4, **extra, **kw)
    return export_model(net, QuantConfig.c_lstm())


_CASES = [("lstm", False, 0, 0), ("gru", False, 0, 0), ("lstm", True, 1, 1), ("gru", True, 0, 1),
          ("lstmp", True, 1, 0)]  # lstmp: LSTM with projection 4


@needs_icarus
@pytest.mark.parametrize(("kind", "bidirectional", "layer", "direction"), _CASES)
def test_layer_direction_bit_exact(tmp_path, kind, bidirectional, layer, direction):
    model = _model(kind, bidirectional, layers=1 + layer)
    codes = np.random.default_rng(0).integers(-256, 256, (9, 8))
    design = write_layer_design(model, codes, tmp_path, layer=layer, direction=direction, frames=4)
    assert design["input_size"] == (8 if not (layer and bidirectional) else 8 if kind == "lstmp" else 16)
    doc = run_sim(tmp_path)
    assert doc["bit_exact"] and doc["frames"] == 4, doc["failure"]
    assert doc["cycles_between_frames"] == [doc["model_cycles_per_frame"]] * 3


def test_bad_model_directories_write_nothing(tmp_path):
    cli, out = CliRunner(), tmp_path / "out"

    def fails(args, text):
        res = cli.invoke(rtl, ["build", *args, "--out", str(out)])
        assert res.exit_code != 0 and text in res.output, res.output
        assert not out.exists()

    fails(["--model", str(tmp_path / "nope")], "does not exist")
    fails(["--shape", "lstm:8:8", "--model", str(tmp_path)], "exactly one of")
    (tmp_path / "empty").mkdir()
    fails(["--model", str(tmp_path / "empty")], "no checkpoint.json")
    exp = tmp_path / "exp"
    write_int_model(_model("gru", True), exp, {"run_dir": str(tmp_path / "run")})
    mem = sorted((exp / "mem").iterdir())[0]
    mem.write_text(mem.read_text().replace("0", "1", 1))
    fails(["--model", str(exp)], "SHA-256 differs")
    with pytest.raises(ValueError, match="--layer 3 out of range"):
        write_layer_design(_model("lstm", False, proj_size=4), np.zeros((3, 8), np.int64), out, layer=3)
    with pytest.raises(ValueError, match="--direction 1 out of range"):
        write_layer_design(_model("gru", False), np.zeros((3, 8), np.int64), out, direction=1)
    assert not out.exists()


def test_export_dir_names_its_run(tmp_path):
    exp = tmp_path / "exp"
    write_int_model(_model("gru", False), exp)
    res = CliRunner().invoke(rtl, ["build", "--model", str(exp), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "no source.run_dir" in res.output
    assert json.loads((exp / "model.json").read_text())["source"] == {}


def test_outputs_are_swapped_in_whole(tmp_path, monkeypatch):
    """A rebuild replaces an earlier build directory at once; a failing one leaves it as it was; a
    directory that is not a build is refused; no staging directories are left behind."""
    import rnnaccel.rtl.build as build

    model, codes, out = _model("gru", False), np.zeros((3, 8), np.int64), tmp_path / "d"
    write_layer_design(model, codes, out, frames=2)
    (out / "sim.json").write_text("{}")  # a result of the earlier build
    write_layer_design(model, codes, out, frames=3)
    assert json.loads((out / "design.json").read_text())["frames"] == 3 and not (out / "sim.json").exists()
    monkeypatch.setattr(build, "_synth_script", lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        write_layer_design(model, codes, out, frames=2)
    assert json.loads((out / "design.json").read_text())["frames"] == 3
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not an 'rnnaccel rtl build' directory"):
        write_layer_design(model, codes, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "other"]


@needs_icarus
def test_bidirectional_layer_as_two_streams(tmp_path):
    """streams=2: layer 1 of a 2-layer BiGRU, both directions interleaved in one pipelined top, fed
    rnnaccel.ref's outputs of layer 0: bit-exact, cycles per frame = hw.fpga's slowest stage."""
    model = _model("gru", True, layers=2)
    codes = np.random.default_rng(2).integers(-256, 256, (6, 8))
    design = write_layer_design(model, codes, tmp_path / "l1", layer=1, frames=4, streams=2)
    assert design["streams"] == 2 and design["input_size"] == 16 and design["source"]["direction"] == "both"
    doc = run_sim(tmp_path / "l1")
    assert doc["bit_exact"] and doc["frames"] == 8, doc["failure"]
    assert doc["cycles_per_frame"] == doc["model_cycles_per_frame"] == max(design["model_stage_cycles"])
    with pytest.raises(ValueError, match="--streams 2"):
        write_layer_design(_model("lstm", False), codes, tmp_path / "uni", streams=2)
    assert not (tmp_path / "uni").exists()
