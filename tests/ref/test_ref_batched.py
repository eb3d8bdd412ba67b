"""The batched engine's shortcuts change no bit: fast rounding, the input-part window, exact matmuls,
fused FFT stages (checked against the stage-by-stage path and numpy's FFT)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import OverflowStats, QFormat, QuantConfig
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import requantize
from rnnaccel.ref import export_model, run_int_model
from rnnaccel.ref.engine import _exact_matmul
from rnnaccel.ref.fft import _stage, irfft_stacked, rfft_stacked
from rnnaccel.ref.rounding import requantize_fast

formats = st.builds(
    QFormat,
    bits=st.integers(4, 20),
    frac=st.integers(-2, 12),
    signed=st.booleans(),
    rounding=st.sampled_from(["trn", "rnd", "rnd_conv"]),
    overflow=st.sampled_from(["sat", "wrap"]),
)


@given(fmt=formats, src_frac=st.integers(-4, 20), seed=st.integers(0, 2**16), amp=st.integers(0, 30))
def test_fast_rounding_equals_requantize(fmt, src_frac, seed, amp):
    v = np.random.default_rng(seed).integers(-(2**amp), 2**amp + 1, (3, 5))
    codes, n = requantize_fast(v, src_frac, fmt)
    ref_codes, ref_n = requantize(v, src_frac, fmt)
    assert np.array_equal(codes, ref_codes) and n == ref_n


def test_fast_rounding_keeps_the_2_53_error():
    with pytest.raises(ValueError, match="reaches 2\\*\\*53"):
        requantize_fast(np.array([2**53, 0]), 0, QFormat(bits=16, frac=8))


def _stagewise(x, frac, plan, fmt, stats):
    """Reference: bit reversal then every stage rounded, one at a time (no fusion)."""
    z = np.zeros((plan.k, 2, *x.shape[1:]), np.int64)
    z[:, 0] = x[plan.bit_reverse]
    for s in range(1, plan.n_stages + 1):
        z, gained = _stage(z, s, plan)
        z, n = requantize(z, frac + gained, fmt)
        stats.add("fft", n)
        frac = fmt.frac
    return z[: plan.k // 2 + 1], frac


@given(k=st.sampled_from([1, 2, 4, 8, 16]), fmt=formats, in_frac=st.integers(0, 10), seed=st.integers(0, 999))
def test_fused_fft_equals_stage_by_stage(k, fmt, in_frac, seed):
    plan = FFTPlan(k, QFormat(bits=16, frac=14))
    amp = 2 ** min(fmt.bits + 1, 20)
    x = np.random.default_rng(seed).integers(-amp, amp, (k, 3, 2))
    s_fused, s_ref = OverflowStats(), OverflowStats()
    got, got_frac = rfft_stacked(x, in_frac, plan, fmt, s_fused)
    want, want_frac = _stagewise(x, in_frac, plan, fmt, s_ref)
    assert np.array_equal(got, want) and got_frac == want_frac and dict(s_fused) == dict(s_ref)


def test_fixed_fft_pair_tracks_numpy():
    plan, fmt = FFTPlan(8, QFormat(bits=18, frac=14)), QFormat(bits=24, frac=12)
    x = np.random.default_rng(0).integers(-2000, 2000, (8, 40))
    bins, frac = rfft_stacked(x, 8, plan, fmt, OverflowStats())
    want = np.fft.rfft(x * 2.0**-8, axis=0)
    assert np.abs(bins[:, 0] * 2.0**-frac - want.real).max() < 2e-3
    y, yf = irfft_stacked(bins, frac, plan, fmt, OverflowStats())
    assert np.abs(y * 2.0**-yf - x * 2.0**-8).max() < 2e-3


def test_exact_matmul_paths_agree():
    rng = np.random.default_rng(0)
    a, b = rng.integers(-(2**20), 2**20, (7, 9)), rng.integers(-(2**20), 2**20, (9, 4))
    assert np.array_equal(_exact_matmul(a, b.astype(np.float64), 0), a @ b)  # float64 BLAS
    assert np.array_equal(_exact_matmul(a, b.astype(np.float64), 2**60), a @ b)  # int64 fallback


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_input_part_window_changes_no_bit(kind):
    torch.manual_seed(0)
    kw = {"batch_first": True, "bidirectional": True, "block_size": {"input": 8, "recurrent": 4}}
    if kind == "lstm":
        model = LSTM(12, 8, 2, proj_size=4, peephole=True, **kw)
    else:
        model = GRU(12, 8, 2, **kw)
    im = export_model(model, QuantConfig.c_lstm())
    x = np.random.default_rng(0).integers(-600, 600, (3, 7, 12))
    base = run_int_model(im, x)
    for window in (1, 3, 100):
        res = run_int_model(im, x, window=window)
        assert np.array_equal(res.output, base.output) and np.array_equal(res.h_n, base.h_n)
        assert res.overflows == base.overflows
    with pytest.raises(ValueError, match="window must be a positive int or None, got 0"):
        run_int_model(im, x, window=0)
