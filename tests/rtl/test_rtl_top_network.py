"""rnnaccel.rtl.network: whole small random-weight networks (two bidirectional LSTM layers, with
and without projection, P 1 and 2; a unidirectional GRU) through one generated layer top per
layer-direction in Icarus, each top fed the RTL outputs of the layer below, equal to rnnaccel.ref's
whole-model output; unbuildable models fail before any file is written."""

import json
import shutil

import numpy as np
import pytest
import torch

from rnnaccel.nn import GRU, LSTM
from rnnaccel.quant.config import QuantConfig
from rnnaccel.ref import export_model, run_int_model
from rnnaccel.rtl.network import rtl_outputs, run_network

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get)")


def _model(kind, bidirectional, layers, **kw):
    torch.manual_seed(2)
    cls = LSTM if kind == "lstm" else GRU
    extra = {"peephole": True} if kind == "lstm" else {}
    net = cls(8, 8, layers, batch_first=True, bidirectional=bidirectional, block_size=4, **extra, **kw)
    return export_model(net, QuantConfig.c_lstm())


def _codes(frames=6):
    return np.random.default_rng(3).integers(-256, 256, (frames, 8))


@needs_icarus
@pytest.mark.parametrize(("kind", "bidirectional", "layers", "proj", "lanes"),
                         [("lstm", True, 2, 0, 1), ("gru", False, 1, 0, 1), ("lstm", True, 2, 4, 2)])
def test_network_bit_exact_against_whole_model(tmp_path, kind, bidirectional, layers, proj, lanes):
    model = _model(kind, bidirectional, layers, **({"proj_size": proj} if proj else {}))
    doc = run_network(model, _codes(), tmp_path, frames=3, lanes=lanes)
    assert doc["bit_exact"], doc["failure"]
    assert len(doc["stages"]) == layers * (2 if bidirectional else 1)
    assert all(s["cycles_per_frame"] == s["model_cycles_per_frame"] for s in doc["stages"])
    want = run_int_model(model, _codes()[:3][None]).output[0]
    last = [rtl_outputs(tmp_path / f"layer{layers - 1}-dir{d}") for d in range(len(model.layers[-1]))]
    got = np.concatenate([last[0]] + [y[::-1] for y in last[1:]], -1)
    np.testing.assert_array_equal(got, want)  # the RTL's own outputs, read back, are the model's
    assert json.loads((tmp_path / "network.json").read_text())["network_cycles"] == doc["network_cycles"]
    per_layer = [max(3 * s["cycles_per_frame"] for s in doc["stages"] if s["layer"] == li)
                 for li in range(layers)]
    # sequential tops: every frame, the first too, takes one frame time
    assert doc["network_cycles"] == sum(per_layer) == 3 * doc["model_network_cycles_per_frame"]


@needs_icarus
def test_changed_rtl_output_is_named(tmp_path, monkeypatch):
    import rnnaccel.rtl.network as net

    real = net.rtl_outputs
    monkeypatch.setattr(net, "rtl_outputs", lambda d: real(d) + (d.name == "layer0-dir0"))
    doc = run_network(_model("gru", False, 1), _codes(), tmp_path, frames=2)
    assert not doc["bit_exact"] and doc["failure"].startswith("frame 0, point 0: rtl ")


def test_unbuildable_network_writes_nothing(tmp_path):
    out = tmp_path / "out"
    dense = export_model(GRU(8, 8, 2, batch_first=True), QuantConfig.c_lstm())
    with pytest.raises(ValueError, match="layer 0 direction 0: .*circulant roles only; role ih is IntDense"):
        run_network(dense, _codes(), out)
    with pytest.raises(ValueError, match="--frames must be >= 1, got 0"):
        run_network(_model("gru", False, 1), _codes(), out, frames=0)
    assert not out.exists()


def test_cli_bad_model_directories_write_nothing(tmp_path):
    from click.testing import CliRunner

    from rnnaccel.cli.rtl import rtl
    from rnnaccel.export import write_int_model

    out = tmp_path / "out"

    def fails(model, text):
        res = CliRunner().invoke(rtl, ["network", str(model), "--out", str(out)])
        assert res.exit_code != 0 and text in res.output, res.output
        assert not out.exists()

    fails(tmp_path / "nope", "does not exist")
    (tmp_path / "empty").mkdir()
    fails(tmp_path / "empty", "no checkpoint.json")
    exp = tmp_path / "exp"
    write_int_model(_model("gru", True, 1), exp, {"run_dir": str(tmp_path / "run")})
    mem = sorted((exp / "mem").iterdir())[0]
    mem.write_text(mem.read_text().replace("0", "1", 1))
    fails(exp, "SHA-256 differs")
