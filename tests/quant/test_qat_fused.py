"""The fused QAT path (rnnaccel.quant.fused) against the reference loop of rnnaccel.quant.model:
forward bit-exact, straight-through gradients equal to float64 rounding; and against rnnaccel.ref."""

import numpy as np
import pytest
import torch

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import OverflowStats, QFormat, QuantConfig, quantize
from rnnaccel.quant.fused import fused_reason
from rnnaccel.ref import ref_gru, ref_lstm

C16, C12 = QuantConfig.c_lstm(), QuantConfig.twelve_bit()
NARROW = QuantConfig.uniform(bits=8, frac=4)  # saturates often: the STE masks matter
CONFIGS = {
    "16bit": C16,
    "12bit": C12,
    "8bit-sat": NARROW,
    "trn-wrap": QuantConfig.uniform(bits=10, frac=5, rounding="trn", overflow="wrap"),
    "conv-sat": QuantConfig.uniform(bits=9, frac=5, rounding="rnd_conv").with_formats(
        twiddle=QFormat(bits=16, frac=14)),
    "18bit": QuantConfig.uniform(bits=18, frac=10),  # wider than the activation tables: computed PWL
}


def _model(cell, k, hidden=16, n_in=13, peephole=False, seed=0, scale=3.0):
    torch.manual_seed(seed)
    kw = {"peephole": peephole} if cell == "lstm" else {}
    m = (LSTM if cell == "lstm" else GRU)(n_in, hidden, 2, bidirectional=True, block_size=k, **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(scale)
    return m


def _run(model, cfg, x, fused):
    """Output, final states and every parameter's gradient of a random linear loss on all outputs."""
    model.zero_grad()
    y, finals = quantize(model, cfg, fused=fused)(x)
    finals = finals if isinstance(finals, tuple) else (finals,)
    gen = torch.Generator().manual_seed(1)
    loss = (y * torch.randn(y.shape, generator=gen, dtype=y.dtype)).sum()
    loss = loss + sum((f * torch.randn(f.shape, generator=gen, dtype=f.dtype)).sum() for f in finals)
    loss.backward()
    return y.detach(), [f.detach() for f in finals], {n: p.grad.clone() for n, p in model.named_parameters()}


def _assert_same(model, cfg, x):
    y0, f0, g0 = _run(model, cfg, x, fused=False)
    y1, f1, g1 = _run(model, cfg, x, fused=True)
    assert torch.equal(y0, y1)
    assert all(torch.equal(a, b) for a, b in zip(f0, f1, strict=True))
    for name, g in g0.items():
        assert torch.allclose(g1[name], g, rtol=1e-10, atol=1e-12 * float(g.abs().max())), name


def _input(cfg, steps=6, batch=3, n_in=13, seed=2):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, batch, n_in, dtype=torch.float64, generator=gen) * 2
    return torch.round(x / cfg.input.lsb) * cfg.input.lsb


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("cell,peephole", [("lstm", False), ("lstm", True), ("gru", False)])
def test_fused_equals_reference(name, cell, peephole):
    cfg = CONFIGS[name]
    model = _model(cell, 4, peephole=peephole)
    assert all(fused_reason(d, cfg) is None for layer in model.layers for d in layer)
    _assert_same(model, cfg, _input(cfg))


@pytest.mark.parametrize("k,hidden", [(1, 8), (2, 10), (8, 20), (8, 24)])
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fused_block_sizes_and_padding(k, hidden, cell):
    """Widths that are not multiples of k (padded inputs, cropped outputs) and k = 1, 2, 8."""
    _assert_same(_model(cell, k, hidden=hidden, peephole=cell == "lstm"), NARROW, _input(NARROW))


def test_narrow_config_saturates():
    """The masked-gradient case is exercised: the 8-bit config clamps at several points."""
    stats = OverflowStats()
    with torch.no_grad():
        quantize(_model("lstm", 4), NARROW)(_input(NARROW), stats=stats)
    assert sum(1 for v in stats.values() if v > 0) >= 3


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_fused_bit_exact_with_integer_engine(cell):
    """The fused path is a link of the chain itself: its output codes equal rnnaccel.ref's."""
    model = _model(cell, 4, peephole=cell == "lstm").eval()
    x_codes = np.random.default_rng(3).integers(-600, 600, size=(3, 7, 13))
    assert fused_reason(model.layers[0][0], C16) is None
    with torch.no_grad():
        y, _ = quantize(model, C16)(torch.from_numpy(x_codes * C16.input.lsb).transpose(0, 1))
    ref = (ref_lstm if cell == "lstm" else ref_gru)(model, C16, x_codes)
    assert np.array_equal(y.transpose(0, 1).numpy() * 2.0**ref.output_format.frac, ref.output)


def test_fused_reason_falls_back():
    lstm, gru = _model("lstm", 4), _model("gru", 4)
    d = lstm.layers[0][0]
    assert fused_reason(d, C16) is None and fused_reason(gru.layers[0][0], C16) is None
    assert "statistics" in fused_reason(d, C16, OverflowStats())
    assert "points without a format" in fused_reason(d, C16.with_formats(fft=None))
    assert "PWL" in fused_reason(d, QuantConfig(**{n: C16[n] for n in ("input", "weight", "bias", "twiddle",
                                                                     "fft", "freq_acc", "ifft", "gate_acc",
                                                                     "sigmoid", "tanh", "cell", "hidden")}))
    proj = LSTM(13, 16, 1, proj_size=8, block_size=4)
    assert fused_reason(proj.layers[0][0], C16) == "LSTM projection"
    assert fused_reason(LSTM(13, 16, 1).layers[0][0], C16) == "ih role is dense"
    assert quantize(lstm, C16, fused=False).path_reason(d) == "fused=False"
