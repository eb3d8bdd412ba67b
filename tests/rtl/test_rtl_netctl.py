"""rnnaccel.rtl.netctl: the one network top (hardware controller over layers and directions, frame
buffers between layers) is bit-exact with rnnaccel.ref.run_int_model on small random-weight 2-layer
networks (LSTM with peepholes, with projection, GRU; uni- and bidirectional), in Amaranth's
simulator and in Icarus, utterances back to back (state reset between them), a stalling sink and the
t_max bound; measured cycles per utterance equal network_cycles and the layers' frame times equal
rnnaccel.hw.fpga's; bad parameters fail naming the value, before any file is written."""

import json
import shutil

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from rnnaccel.nn import GRU, LSTM
from rnnaccel.quant.config import QuantConfig
from rnnaccel.ref import export_model, run_int_model
from rnnaccel.rtl.netctl import NetworkTop, network_cycles
from rnnaccel.rtl.sim import pack, run_stream, unpack

needs_icarus = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get)")


def _model(kind, bidirectional, layers=2, **kw):
    torch.manual_seed(2)
    cls = LSTM if kind == "lstm" else GRU
    extra = {"peephole": True} if kind == "lstm" else {}
    net = cls(8, 8, layers, batch_first=True, bidirectional=bidirectional, block_size=4, **extra, **kw)
    return export_model(net, QuantConfig.c_lstm())


def _utterances(*lengths):
    rng = np.random.default_rng(3)
    return [rng.integers(-256, 256, (n, 8)) for n in lengths]


def _payloads(top, utts):
    return [pack(top.i.payload.shape(), {"frame": [int(v) for v in row], "last": int(t == len(u) - 1)})
            for u in utts for t, row in enumerate(u)]


def _check_run(model, top, utts, run):
    """Every utterance's output codes and last flags equal run_int_model's; returns its cycles."""
    outs, pos, cycles = [unpack(top.o.payload.shape(), v) for v in run.outputs], 0, []
    for u in utts:
        got = outs[pos:pos + len(u)]
        want = run_int_model(model, u[None]).output[0]
        np.testing.assert_array_equal(np.array([o["frame"] for o in got]), want)
        assert [o["last"] for o in got] == [0] * (len(u) - 1) + [1]
        cycles.append(run.out_cycles[pos + len(u) - 1] - run.in_cycles[pos] + 1)
        pos += len(u)
    return cycles


@pytest.mark.parametrize(("kind", "bidirectional", "proj", "lanes", "streams"),
                         [("lstm", True, 0, 1, 1), ("gru", False, 0, 2, 1), ("lstm", True, 4, 2, 1),
                          ("lstm", True, 0, 1, 2), ("gru", True, 0, 2, 2)])
def test_network_top_bit_exact_in_amaranth(kind, bidirectional, proj, lanes, streams):
    """streams 2: each bidirectional layer through one 2-stream PipelinedTop."""
    model = _model(kind, bidirectional, **({"proj_size": proj} if proj else {}))
    top = NetworkTop(model, lanes=lanes, t_max=4, streams=streams)
    utts = _utterances(3, 2)  # back to back: the second starts from zero state again
    run = run_stream(top, _payloads(top, utts), 5, max_cycles=5000)
    assert _check_run(model, top, utts, run) == [network_cycles(top, 3), network_cycles(top, 2)]


def test_stalling_sink_and_t_max_bound():
    model = _model("gru", True, layers=1)
    top = NetworkTop(model, lanes=1, t_max=2)
    x = _utterances(3)[0]
    # no 'last' on frame 1: the t_max-th frame ends the utterance; frame 2 is an utterance of its own
    raws = [pack(top.i.payload.shape(), {"frame": [int(v) for v in r], "last": int(t == 2)})
            for t, r in enumerate(x)]
    run = run_stream(top, raws, 3, ready=[1, 0, 0], max_cycles=5000)
    _check_run(model, top, [x[:2], x[2:]], run)
    with pytest.raises(ValueError, match="frames=3 must lie in 1..t_max=2"):
        network_cycles(top, 3)


def test_bad_parameters():
    with pytest.raises(ValueError, match="t_max .* must be an int >= 1, got 0"):
        NetworkTop(_model("gru", False, 1), t_max=0)
    dense = export_model(GRU(8, 8, 2, batch_first=True), QuantConfig.c_lstm())
    with pytest.raises(ValueError, match="layer 0 direction 0: .*circulant roles only"):
        NetworkTop(dense)
    with pytest.raises(TypeError, match="needs an IntModel"):
        NetworkTop("lstm")
    with pytest.raises(ValueError, match="streams=2: .* the model has 1 direction"):
        NetworkTop(_model("gru", False, 1), streams=2)


@needs_icarus
@pytest.mark.parametrize(("kind", "bidirectional"), [("lstm", True), ("gru", False)])
def test_network_top_in_icarus(tmp_path, kind, bidirectional):
    from rnnaccel.rtl.netbuild import run_network_sim, write_network_design

    model = _model(kind, bidirectional)
    design = write_network_design(tmp_path, model, _utterances(3, 2), lanes=1)
    assert design["t_max"] == 4 and design["layer_cycles_per_frame"] == design["model_layer_cycles_per_frame"]
    assert "initial $readmemh(\"mem/l1d0.pe_ih.mac.weights0.mem\"" in (tmp_path / "top.v").read_text()
    doc = run_network_sim(tmp_path)
    assert doc["bit_exact"], doc["failure"]
    assert doc["cycles"] == doc["schedule_cycles"] and doc["cycles_match_schedule"]
    t, frame = 3, sum(design["model_layer_cycles_per_frame"])
    layers, dirs = 2, 2 if bidirectional else 1
    assert doc["cycles"][0] == t * frame + 2 * t + layers * (dirs + 1) + 1  # docs/rtl.md's expression


@needs_icarus
def test_two_stream_network_top_in_icarus(tmp_path):
    """A 2-layer BiLSTM with projection, each layer one 2-stream PipelinedTop (module top.l<L>)."""
    from rnnaccel.rtl.netbuild import run_network_sim, write_network_design

    design = write_network_design(tmp_path, _model("lstm", True, proj_size=4), _utterances(3), streams=2)
    assert design["streams"] == 2
    assert design["layer_cycles_per_frame"] == design["model_layer_cycles_per_frame"]
    assert "initial $readmemh(\"mem/l1.pe_proj.mac.weights0.mem\"" in (tmp_path / "top.v").read_text()
    doc = run_network_sim(tmp_path)
    assert doc["bit_exact"] and doc["cycles"] == doc["schedule_cycles"], doc["failure"]


@needs_icarus
def test_icarus_names_a_wrong_expectation_and_an_edited_mem(tmp_path):
    from rnnaccel.rtl.netbuild import run_network_sim, write_network_design

    write_network_design(tmp_path, _model("gru", False, 1), _utterances(2, 2))
    vec = json.loads((tmp_path / "vectors.json").read_text())
    vec["expected"][1][0] = str(int(vec["expected"][1][0]) ^ 1)
    (tmp_path / "vectors.json").write_text(json.dumps(vec))
    doc = run_network_sim(tmp_path)
    assert not doc["bit_exact"] and "utterance 1, frame 0, point 0: rtl " in doc["failure"]
    mem = sorted((tmp_path / "mem").iterdir())[0]
    mem.write_text(mem.read_text().replace("0", "1", 1))
    with pytest.raises(ValueError, match="SHA-256 differs"):
        run_network_sim(tmp_path)


def test_too_long_utterance_writes_nothing(tmp_path):
    from rnnaccel.rtl.netbuild import write_network_design

    out = tmp_path / "out"
    with pytest.raises(ValueError, match="an utterance of 5 frames exceeds t_max=4"):
        write_network_design(out, _model("gru", False, 1), _utterances(5), t_max=4)
    assert not out.exists()


@needs_icarus
def test_cli_hardware_network_of_a_run_directory(tmp_path, monkeypatch):
    """`rnnaccel rtl network RUN --hardware` on a saved block-circulant run (features of its corpus
    replaced by seeded random ones: no corpus in CI)."""
    import rnnaccel.export as export
    from rnnaccel.cli.rtl import rtl
    from rnnaccel.compress.roles import to_block_circulant
    from rnnaccel.train.checkpoint import save_checkpoint
    from rnnaccel.train.config import ModelConfig
    from rnnaccel.train.model import build_model

    cfg = ModelConfig(cell="gru", hidden_size=8, num_layers=2, bidirectional=True)
    torch.manual_seed(0)
    model = to_block_circulant(build_model(cfg, 6), 4)
    norm = {"mean": torch.zeros(6), "std": torch.ones(6)}
    save_checkpoint(tmp_path / "run", 1, model, torch.optim.Adam(model.parameters()), norm,
                    {"config": {"model": cfg.model_dump()}, "history": []})
    feats = np.random.default_rng(0).normal(0, 0.5, (7, 6)).astype(np.float32)
    monkeypatch.setattr(export, "run_features", lambda run, utt: (feats, "test"))
    out = tmp_path / "net"
    res = CliRunner().invoke(rtl, ["network", str(tmp_path / "run"), "--out", str(out), "--hardware",
                                   "--frames", "3", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "network.json").read_text())
    assert doc["bit_exact"] and doc["cycles_match_schedule"] and doc["cycles_match_model"]
    assert doc["frames"] == 3 and doc["t_max"] == 4 and doc["sequencing"].startswith("hardware")
    assert doc["cycles_beyond_model"] == 2 * 3 + 2 * 3 + 1  # frames in and out, controller
    res = CliRunner().invoke(rtl, ["sim", str(out)])  # rerun the build's testbench
    assert res.exit_code == 0 and "bit_exact True  frames [3]" in res.output, res.output
    res = CliRunner().invoke(rtl, ["network", str(tmp_path / "run"), "--out", str(out), "--t-max", "8"])
    assert res.exit_code != 0 and "--t-max and --streams are for --hardware" in res.output
