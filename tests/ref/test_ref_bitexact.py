"""rnnaccel.ref (integer engine) bit-exact against the fake-quant torch model; quantization off = float."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import OverflowStats, QFormat, QuantConfig, quantize
from rnnaccel.ref import IntCirculant, IntDense, export_model, ref_gru, ref_lstm

ROLE_K = st.sampled_from([None, 1, 2, 4, 8])


def _config(bits, frac, rounding, overflow):
    seg, lo, hi = {3: (16, -2.0, 2.0), 4: (16, -4.0, 4.0)}.get(bits - frac, (20, -5.0, 5.0))
    cfg = QuantConfig.uniform(bits=bits, frac=frac, rounding=rounding, overflow=overflow,
                              pwl_segments=seg, pwl_range=(lo, hi))
    return cfg.with_formats(twiddle=QFormat(bits=16, frac=14))


configs = st.integers(8, 18).flatmap(
    lambda b: st.builds(
        _config,
        st.just(b),
        st.integers(max(2, b - 8), b - 3),
        st.sampled_from(["trn", "rnd", "rnd_conv"]),
        st.sampled_from(["sat", "wrap"]),
    )
)


def _model(kind, n_in, hidden, k_in, k_rec, proj, layers, bi, scale, seed):
    torch.manual_seed(seed)
    sizes = {"input": k_in, "recurrent": k_rec}
    if kind == "lstm":
        kw = {"proj_size": proj if proj < hidden else 0, "peephole": proj % 2 == 0}
        if kw["proj_size"]:
            sizes["projection"] = k_in
        m = LSTM(n_in, hidden, layers, batch_first=True, bidirectional=bi, block_size=sizes, **kw)
    else:
        m = GRU(n_in, hidden, layers, batch_first=True, bidirectional=bi, block_size=sizes)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(scale)
    return m


def _check(model, cfg, x_codes):
    """Run both sides; assert bit-exact outputs and identical overflow counts; return the counts."""
    stats = OverflowStats()
    x = torch.from_numpy(x_codes * cfg.input.lsb)
    with torch.no_grad():
        y, _ = quantize(model, cfg)(x, stats=stats)
    ref = (ref_lstm if isinstance(model, LSTM) else ref_gru)(model, cfg, x_codes)
    assert np.array_equal(y.numpy() * 2.0**ref.output_format.frac, ref.output)
    assert dict(stats) == ref.overflows
    return ref


@given(
    kind=st.sampled_from(["lstm", "gru"]),
    n_in=st.integers(1, 12),
    hidden=st.integers(1, 10),
    k_in=ROLE_K,
    k_rec=ROLE_K,
    proj=st.integers(1, 8),
    bi=st.booleans(),
    cfg=configs,
    batch=st.integers(1, 3),
    steps=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_ref_bit_exact_random_shapes_and_formats(
    kind, n_in, hidden, k_in, k_rec, proj, bi, cfg, batch, steps, seed
):
    model = _model(kind, n_in, hidden, k_in, k_rec, proj, 1 + seed % 2, bi, 1.0, seed)
    amp = 2 ** (cfg.input.bits - 2)
    x = np.random.default_rng(seed).integers(-amp, amp, (batch, steps, n_in))
    _check(model, cfg, x)


@pytest.mark.parametrize("overflow", ["sat", "wrap"])
@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_ref_bit_exact_at_saturation(kind, overflow):
    cfg = QuantConfig.uniform(bits=10, frac=5, rounding="rnd_conv", overflow=overflow,
                              pwl_segments=16, pwl_range=(-8.0, 8.0))
    model = _model(kind, 13, 11, None, 8, 6, 2, True, 8.0, 3)  # dense ih, circulant hh
    x = np.random.default_rng(1).integers(-4000, 4000, (3, 5, 13))  # beyond the input range too
    ref = _check(model, cfg, x)
    assert ref.overflows["input"] > 0 and ref.overflows["gate_acc"] > 0
    assert ref.overflows["fft"] + ref.overflows["freq_acc"] + ref.overflows["ifft"] > 0


def test_pruned_dense_layers_and_float_sanity():
    model = _model("lstm", 9, 8, None, None, 5, 1, False, 1.0, 7)
    with torch.no_grad():
        for d in model.layers[0]:
            for role in (d.ih, d.hh):
                role.weight.mul_((torch.rand_like(role.weight) < 0.2).to(role.weight.dtype))
    cfg = QuantConfig.c_lstm()
    x = np.random.default_rng(0).integers(-512, 512, (4, 6, 9))
    ref = _check(model, cfg, x)
    im = export_model(model, cfg)
    role = im.layers[0][0].ih
    pruned = model.layers[0][0].ih.weight.detach().numpy() == 0
    assert isinstance(role, IntDense) and not role.weight[pruned].any()
    assert 0 < role.nonzeros <= int((~pruned).sum())
    with torch.no_grad():
        y_float, _ = model(torch.from_numpy(x / 256.0).float())
    assert np.abs(ref.values - y_float.numpy()).max() < 0.05


def test_export_stores_frequency_bins_and_validates():
    model = _model("gru", 10, 6, 4, 4, 1, 1, False, 1.0, 0)
    cfg = QuantConfig.c_lstm()
    role = export_model(model, cfg).layers[0][0].ih
    assert isinstance(role, IntCirculant) and role.w_re.shape == (5, 3, 3)
    assert not role.w_im[..., 0].any() and not role.w_im[..., -1].any()
    expect = torch.fft.rfft(model.layers[0][0].ih.weight.double(), dim=-1).real * 256
    assert np.abs(role.w_re - expect.detach().numpy()).max() <= 0.5
    with pytest.raises(ValueError, match=r"missing: \['cell'"):
        export_model(_model("lstm", 4, 4, None, None, 9, 1, False, 1.0, 0), cfg.with_formats(cell=None))
    with pytest.raises(ValueError, match="power-of-two block size k, got k=3"):
        export_model(_model("gru", 6, 6, 3, None, 1, 1, False, 1.0, 0), cfg)
    with pytest.raises(TypeError, match="integer codes"):
        ref_gru(model, cfg, np.zeros((1, 2, 10)))
    with pytest.raises(ValueError, match="expected a lstm model"):
        ref_lstm(export_model(model, cfg), None, np.zeros((1, 2, 10), np.int64))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("block", [None, 4, {"input": 8, "recurrent": None}])
def test_quantization_off_equals_float_model_exactly(kind, block):
    torch.manual_seed(0)
    if kind == "lstm":
        m = LSTM(
            7,
            9,
            2,
            batch_first=True,
            bidirectional=True,
            block_size=block,
            proj_size=5,
            peephole=True,
            dtype=torch.float64,
        )
    else:
        m = GRU(7, 9, 2, batch_first=True, bidirectional=True, block_size=block, dtype=torch.float64)
    x = torch.randn(3, 5, 7, dtype=torch.float64)
    q = quantize(m, QuantConfig())
    assert torch.equal(q(x)[0], m(x)[0])
    assert torch.equal(q.forward_quant(x)[0], m(x)[0])  # the quantized dataflow with every point off
    m.eval()
    with torch.no_grad():
        assert torch.equal(q(x)[0], m(x)[0])  # eval + no grad: the fused inference path


def test_quantization_aware_training_gradients():
    m = _model("lstm", 6, 8, 4, 4, 5, 1, False, 1.0, 0)
    q = quantize(m, QuantConfig.c_lstm())
    y, _ = q(torch.randn(2, 4, 6))
    y.pow(2).sum().backward()
    grads = [p.grad for p in m.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    with pytest.raises(ValueError, match="zero initial state"):
        q(torch.randn(2, 4, 6), (torch.zeros(1, 2, 5), torch.zeros(1, 2, 8)))
