"""rnnaccel export: the integer model on disk reloads to identical rnnaccel.ref outputs; .mem layout;
every bad input is a clear error before any file is written; the CLI on a real run directory."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.export import BUILDABLE_BLOCK_SIZES, load_int_model, load_run, mem_words, write_int_model
from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import QFormat, QuantConfig
from rnnaccel.ref import export_model, run_fast, run_int_model


def _lstm(block=None):
    torch.manual_seed(0)
    block = block or {"input": 8, "recurrent": 4, "projection": 8}
    return LSTM(13, 16, 2, proj_size=8, peephole=True, batch_first=True, bidirectional=True, block_size=block)


def _gru():
    torch.manual_seed(1)
    return GRU(13, 16, 1, batch_first=True, block_size={"input": None, "recurrent": 8})


@pytest.mark.parametrize("make", [_lstm, _gru])
def test_reloaded_model_gives_identical_outputs(make, tmp_path):
    im = export_model(make(), QuantConfig.c_lstm())
    write_int_model(im, tmp_path)
    back = load_int_model(tmp_path)
    x = np.random.default_rng(0).integers(-900, 900, (4, 9, 13))
    a, b = run_int_model(im, x), run_int_model(back, x)
    assert np.array_equal(a.output, b.output) and np.array_equal(a.h_n, b.h_n) and a.overflows == b.overflows
    assert np.array_equal(run_fast(back, x).output, a.output)
    assert back.config == im.config


def test_mem_layout(tmp_path):
    """Dense: (out, in) row-major; circulant: per pair (i, j) re(0), re(1), im(1), ..., re(k/2); each word
    the code as two's complement at the point's width (16 bits: 4 hex digits)."""
    im = export_model(_lstm(), QuantConfig.c_lstm())
    write_int_model(im, tmp_path)
    role = im.layers[0][0].ih  # circulant k = 8
    want = []
    for i in range(role.p):
        for j in range(role.q):
            want.append(role.w_re[i, j, 0])
            for f in range(1, 4):
                want += [role.w_re[i, j, f], role.w_im[i, j, f]]
            want.append(role.w_re[i, j, 4])
    assert np.array_equal(mem_words(role), want)
    lines = (tmp_path / "mem" / "layers.0.0.ih.weight.mem").read_text().splitlines()
    assert len(lines) == role.p * role.q * 8 and all(len(w) == 4 for w in lines)
    assert [int(w, 16) - (int(w, 16) >> 15) * 65536 for w in lines] == [int(c) for c in want]
    meta = json.loads((tmp_path / "model.json").read_text())
    entry = meta["mem"]["layers.0.0.ih.weight.mem"]
    assert entry["bits"] == 16 and entry["words"] == len(lines) and meta["points"]["weight"]["frac"] == 8
    assert meta["layers"][0][0]["ih"] == {"in_features": 13, "out_features": 64, "bias": "layers.0.0.ih.bias",
                                          "kind": "circulant", "block_size": 8, "p": 8, "q": 2}


def test_unbuildable_models_write_nothing(tmp_path):
    out = tmp_path / "out"
    im = export_model(_lstm({"input": 1}), QuantConfig.c_lstm())
    with pytest.raises(ValueError, match=r"layers.0.0.ih: block size k=1 cannot be built: the RTL FFT "
                                         r"needs one of \[2, 4, 8, 16, 32\]"):
        write_int_model(im, out)
    cfg = QuantConfig.c_lstm().with_formats(gate_acc=QFormat(bits=16, frac=8, signed=False))
    with pytest.raises(ValueError, match="point 'gate_acc' has the unsigned format ap_ufixed<16,8"):
        write_int_model(export_model(_gru(), cfg), out)
    assert not out.exists()


def _tamper(root, name, edit):
    path = root / "mem" / name
    lines = path.read_text().splitlines()
    lines[3] = edit(lines[3])
    path.write_text("\n".join(lines) + "\n")
    return path


def _reseal(root, name):
    """Make model.json agree with an edited .mem file (hash and content hash), as a careless tool might."""
    import hashlib

    meta = json.loads((root / "model.json").read_text())
    meta["mem"][name]["sha256"] = hashlib.sha256((root / "mem" / name).read_bytes()).hexdigest()
    body = {k: v for k, v in meta.items() if k != "content_sha256"}
    meta["content_sha256"] = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
                                            ).hexdigest()
    (root / "model.json").write_text(json.dumps(meta))


def test_mem_that_does_not_match_its_json_is_named(tmp_path):
    write_int_model(export_model(_gru(), QuantConfig.c_lstm()), tmp_path)
    name = "layers.0.0.hh.weight.mem"
    path = _tamper(tmp_path, name, lambda w: f"{(int(w, 16) + 1) % 65536:04x}")
    with pytest.raises(ValueError, match=f"{path}: SHA-256 differs"):
        load_int_model(tmp_path)
    _reseal(tmp_path, name)
    with pytest.raises(ValueError, match=r"layers.0.0.hh.weight.mem: word 3 is '[0-9a-f]{4}', expected"):
        load_int_model(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["input_size"] = 14
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="content_sha256 does not match"):
        load_int_model(tmp_path)


def _run_dir(tmp_path, block):
    from rnnaccel.compress.roles import to_block_circulant
    from rnnaccel.train.checkpoint import save_checkpoint
    from rnnaccel.train.config import ModelConfig
    from rnnaccel.train.model import build_model

    cfg = ModelConfig(cell="lstm", hidden_size=16, proj_size=8, peepholes=True, num_layers=2)
    torch.manual_seed(0)
    model = to_block_circulant(build_model(cfg, 13), block)  # as Phase I does: the config stays dense
    norm = {"mean": torch.zeros(13), "std": torch.ones(13)}
    run = tmp_path / "run"
    save_checkpoint(run, 3, model, torch.optim.Adam(model.parameters()), norm,
                    {"config": {"model": cfg.model_dump()}, "history": []})
    return run, model


def test_cli_export_of_a_run_directory(tmp_path):
    run, model = _run_dir(tmp_path, 8)
    loaded = load_run(run)
    assert loaded.input_size == 13 and loaded.epoch == 3
    assert loaded.model.rnn.layers[1][0].hh.block_size == 8
    res = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "exp")])
    assert res.exit_code == 0, res.output
    assert "reloaded: identical outputs" in res.output
    im = export_model(model.rnn, QuantConfig.c_lstm())
    x = np.random.default_rng(3).integers(-900, 900, (2, 6, 13))
    back = load_int_model(tmp_path / "exp")
    assert np.array_equal(run_int_model(back, x).output, run_int_model(im, x).output)


def test_cli_bad_run_directories(tmp_path):
    cli = CliRunner()
    res = cli.invoke(main, ["export", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "does not exist" in res.output
    run, _ = _run_dir(tmp_path, 8)
    res = cli.invoke(main, ["export", str(tmp_path), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and "no checkpoint.json" in res.output and str(run) in res.output
    (run / "checkpoint.json").write_text("{not json")
    res = cli.invoke(main, ["export", str(run), "--out", str(tmp_path / "o")])
    assert res.exit_code != 0 and ("damaged" in res.output or "corrupt checkpoint" in res.output)
    assert not (tmp_path / "o").exists()
    res = cli.invoke(main, ["export", str(run)])
    assert res.exit_code != 0 and "give --out DIR and/or --onnx FILE" in res.output


def test_block_sizes_match_the_rtl():
    pytest.importorskip("amaranth")
    from rnnaccel.rtl.fixed import RTL_BLOCK_SIZES

    assert BUILDABLE_BLOCK_SIZES == RTL_BLOCK_SIZES
