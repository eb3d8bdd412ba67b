"""Functional mode: float path equals the float model; fixed point is bit-exact with rnnaccel.ref and
the torch fake-quant model, in both MWL orders (dense and block-circulant k = 4/8)."""

import numpy as np
import pytest
import torch

from rnnaccel.hw.epur.functional import run_functional, run_functional_int
from rnnaccel.nn import GRU, LSTM
from rnnaccel.quant import OverflowStats, QuantConfig, quantize
from rnnaccel.ref import export_model, run_int_model

F64 = {"dtype": torch.float64}


def _models():
    torch.manual_seed(0)
    return {
        "lstm-peep-proj": LSTM(6, 8, 2, proj_size=5, peephole=True, bidirectional=True, **F64),
        "lstm-k4": LSTM(8, 8, 1, block_size=4, **F64),
        "lstm-k8-peep-proj": LSTM(16, 16, 2, proj_size=8, peephole=True, bidirectional=True, block_size=8,
                                  **F64),
        "gru": GRU(5, 7, 2, bidirectional=True, **F64),
        "gru-k4": GRU(8, 8, 1, block_size=4, **F64),
        "gru-k8": GRU(16, 16, 2, bidirectional=True, block_size=8, **F64),
    }


NAMES = list(_models())


@pytest.mark.parametrize("name", NAMES)
def test_float_path_equals_the_model(name):
    model = _models()[name].eval()
    x = torch.randn(9, model.input_size, dtype=torch.float64)
    with torch.no_grad():
        ref = model(x)[0].numpy()
    for mwl in (True, False):
        np.testing.assert_allclose(run_functional(model, x, mwl=mwl), ref, rtol=0, atol=1e-12)


def _torch_fake_quant(model, cfg, x_codes):
    """The torch side of the golden chain: output codes (batch, T, out) and overflow counts."""
    stats = OverflowStats()
    with torch.no_grad():
        y, _ = quantize(model, cfg)(torch.from_numpy(x_codes * cfg.input.lsb).unsqueeze(1), stats=stats)
    return y.squeeze(1).numpy(), dict(stats)


@pytest.mark.parametrize("cfg", [QuantConfig.c_lstm(), QuantConfig.twelve_bit()], ids=["q16.8", "q12.8"])
@pytest.mark.parametrize("name", NAMES)
def test_fixed_point_bit_exact_with_ref_and_fake_quant(name, cfg):
    model = _models()[name]
    x = torch.randn(7, model.input_size, dtype=torch.float64)
    x_codes = np.rint(x.numpy() * 2.0**cfg.input.frac).astype(np.int64)  # on the grid: no rounding
    ref = run_int_model(export_model(model, cfg), x_codes[None])
    y_torch, stats = _torch_fake_quant(model, cfg, x_codes)
    assert np.array_equal(y_torch * 2.0**ref.output_format.frac, ref.output[0])
    for mwl in (True, False):
        out = run_functional(model, x_codes * cfg.input.lsb, mwl=mwl, config=cfg)
        assert np.array_equal(out, ref.values[0])  # values are exact: code * lsb
        res = run_functional_int(model, x_codes[None], cfg, mwl=mwl)
        assert np.array_equal(res.output, ref.output) and np.array_equal(res.h_n, ref.h_n)
        assert res.overflows == ref.overflows == stats


def test_fixed_point_saturation_counts_match_in_both_orders():
    torch.manual_seed(1)
    model = LSTM(16, 16, 1, proj_size=8, peephole=True, block_size=8, **F64)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(6.0)
    cfg = QuantConfig.uniform(bits=10, frac=5, rounding="rnd_conv", overflow="wrap",
                              pwl_segments=16, pwl_range=(-8.0, 8.0))
    x_codes = np.random.default_rng(0).integers(-3000, 3000, (3, 6, 16))  # beyond the input range too
    on, off = (run_functional_int(model, x_codes, cfg, mwl=m) for m in (True, False))
    assert np.array_equal(on.output, off.output) and on.overflows == off.overflows
    assert min(on.overflows[p] for p in ("input", "fft", "freq_acc", "ifft")) > 0
    stats = OverflowStats()
    with torch.no_grad():
        y, _ = quantize(model, cfg)(torch.from_numpy(x_codes * cfg.input.lsb).transpose(0, 1), stats=stats)
    assert np.array_equal(y.transpose(0, 1).numpy() * 2.0**on.output_format.frac, on.output)
    assert dict(stats) == on.overflows


def test_fixed_point_rounds_the_input_like_fake_quant():
    model = _models()["gru-k4"]
    cfg = QuantConfig.c_lstm()
    x = torch.randn(5, 8, dtype=torch.float64) * 3  # off the grid
    with torch.no_grad():
        y, _ = quantize(model, cfg)(x.unsqueeze(1))
    assert np.array_equal(run_functional(model, x, mwl=False, config=cfg), y.squeeze(1).numpy())


def test_functional_errors():
    with pytest.raises(TypeError, match="needs an rnnaccel.nn.LSTM or GRU, got LSTM"):
        run_functional(torch.nn.LSTM(3, 4), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"one sequence \(T, in\)"):
        run_functional(LSTM(3, 4), torch.zeros(2, 1, 3))
    with pytest.raises(ValueError, match=r"missing: \['cell'\]"):
        run_functional(LSTM(3, 4), torch.zeros(2, 3), config=QuantConfig.c_lstm().with_formats(cell=None))
    with pytest.raises(ValueError, match="a QuantConfig is needed"):
        run_functional_int(LSTM(3, 4), np.zeros((1, 2, 3), np.int64))
