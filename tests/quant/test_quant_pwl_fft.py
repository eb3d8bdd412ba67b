"""PWL activations (monotone, within the stated max error, int == float) and the fixed-point FFT."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.quant import (
    FFTPlan,
    OverflowStats,
    PWLActivation,
    QFormat,
    fake_quant,
    fft_error_bound,
    irfft_q,
    quantize_float,
    rfft_q,
)
from rnnaccel.ref import irfft_int, rfft_int

_SEGMENTS = [(20, -5.0, 5.0), (40, -5.0, 5.0), (16, -8.0, 8.0), (32, -8.0, 8.0), (64, -8.0, 8.0)]
pwls = st.builds(
    lambda fn, seg, fmt: PWLActivation(fn, seg[0], seg[1], seg[2], fmt),
    st.sampled_from(["sigmoid", "tanh"]),
    st.sampled_from(_SEGMENTS),
    st.integers(12, 18).flatmap(lambda b: st.builds(QFormat, bits=st.just(b), frac=st.integers(6, b - 5))),
)
_F2 = {"sigmoid": 0.0962, "tanh": 0.7699}  # max |f''|


def _true(fn, x):
    return 1 / (1 + np.exp(-x)) if fn == "sigmoid" else np.tanh(x)


@given(pwl=pwls)
def test_pwl_is_monotone_in_float_and_integer(pwl):
    x = np.linspace(-12, 12, 20001)
    assert np.all(np.diff(pwl.eval_float(x)) >= 0)
    out = QFormat(bits=16, frac=12)
    codes = np.arange(-12 * 256, 12 * 256)
    y, _ = pwl.eval_int(codes, 8, out)
    assert np.all(np.diff(y) >= 0)


@given(pwl=pwls, seed=st.integers(0, 2**31 - 1))
def test_pwl_within_stated_and_analytic_error(pwl, seed):
    x = np.random.default_rng(seed).uniform(-12, 12, 4000)
    assert np.abs(pwl.eval_float(x) - _true(pwl.fn, x)).max() <= pwl.max_abs_error + 1e-12
    lsb, w = pwl.coef_format.lsb, pwl.width
    tail = 1 - _true(pwl.fn, pwl.x_max)
    bound = max(w * w / 8 * _F2[pwl.fn] + lsb / 2 + lsb * w, tail + lsb / 2)
    assert pwl.max_abs_error <= bound


out_formats = st.builds(
    QFormat,
    bits=st.integers(8, 18),
    frac=st.integers(4, 14),
    rounding=st.sampled_from(["trn", "rnd", "rnd_conv"]),
)


@given(pwl=pwls, fmt=out_formats, in_frac=st.integers(4, 12))
def test_pwl_integer_equals_float_then_fake_quant(pwl, fmt, in_frac):
    codes = np.random.default_rng(in_frac).integers(-(12 << in_frac), 12 << in_frac, 3000)
    got, n = pwl.eval_int(codes, in_frac, fmt)
    stats = OverflowStats()
    ref = fake_quant(pwl(torch.from_numpy(codes * 2.0**-in_frac)), fmt, stats, "sigmoid")
    assert np.array_equal(ref.numpy() * 2.0**fmt.frac, got) and stats["sigmoid"] == n


def test_pwl_saturates_and_validates():
    sig = PWLActivation("sigmoid", 20, -5.0, 5.0, QFormat(bits=16, frac=8))
    assert sig.eval_float(np.array([-100.0, -5.0001, 5.0, 100.0])).tolist() == [0.0, 0.0, 1.0, 1.0]
    tanh = PWLActivation("tanh", 32, -8.0, 8.0, QFormat(bits=16, frac=8))
    assert tanh.eval_float(np.array([-9.0, 9.0])).tolist() == [-1.0, 1.0]
    with pytest.raises(ValueError, match="width=0.4 is not on the grid"):
        PWLActivation("tanh", 20, -4.0, 4.0, QFormat(bits=8, frac=4))
    with pytest.raises(ValueError, match="must hold the breakpoints"):
        PWLActivation("tanh", 16, -8.0, 8.0, QFormat(bits=12, frac=10))
    with pytest.raises(ValueError, match="unknown PWL function 'relu'"):
        PWLActivation("relu")
    x = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    sig(x).backward()
    assert x.grad.item() == pytest.approx(float(sig.table.slopes[11]) / 256)


fft_formats = st.builds(
    QFormat,
    bits=st.integers(12, 20),
    frac=st.integers(6, 12),
    rounding=st.sampled_from(["trn", "rnd", "rnd_conv"]),
)


@given(
    k=st.sampled_from([1, 2, 4, 8, 16]), fmt=fft_formats, tw=st.integers(6, 15), seed=st.integers(0, 2**30)
)
def test_fixed_fft_int_equals_torch_and_stays_within_bound(k, fmt, tw, seed):
    plan = FFTPlan(k, QFormat(bits=tw + 2, frac=tw))
    in_frac = fmt.frac - 1
    amp = 2.0 ** (fmt.int_bits - 1) / (2 * k)  # no stage can overflow
    x = np.random.default_rng(seed).integers(-int(amp * 2**in_frac), int(amp * 2**in_frac) + 1, (50, k))
    stats = OverflowStats()
    re, im, ff = rfft_int(x.T, in_frac, plan, fmt, stats)
    tre, tim = rfft_q(torch.from_numpy(x * 2.0**-in_frac), plan, fmt)
    assert np.array_equal(tre.numpy().T * 2.0**ff, re) and np.array_equal(tim.numpy().T * 2.0**ff, im)
    exact = np.fft.rfft(x * 2.0**-in_frac, axis=-1).T
    err = max(np.abs(re * 2.0**-ff - exact.real).max(), np.abs(im * 2.0**-ff - exact.imag).max())
    assert stats["fft"] == 0 if k > 1 else True
    assert err <= fft_error_bound(plan, in_frac, amp, fmt) + 1e-12


@given(k=st.sampled_from([2, 4, 8, 16]), fmt=fft_formats, seed=st.integers(0, 2**31 - 1))
def test_fixed_ifft_int_equals_torch_and_stays_within_bound(k, fmt, seed):
    plan = FFTPlan(k, QFormat(bits=16, frac=14))
    rng = np.random.default_rng(seed)
    amp = 2.0 ** (fmt.int_bits - 1) / (2 * k)
    spec = np.fft.rfft(rng.uniform(-amp / k, amp / k, (40, k)), axis=-1)  # |bins| <= amp
    re, _ = quantize_float(spec.real, fmt)
    im, _ = quantize_float(spec.imag, fmt)
    im[:, 0] = 0
    im[:, -1] = 0
    y, yf = irfft_int(re.T, im.T, fmt.frac, plan, fmt, OverflowStats())
    ty = irfft_q(torch.from_numpy(re * fmt.lsb), torch.from_numpy(im * fmt.lsb), plan, fmt)
    assert np.array_equal(ty.numpy().T * 2.0**yf, y)
    exact = np.fft.irfft((re + 1j * im) * fmt.lsb, n=k, axis=-1).T
    bound = fft_error_bound(plan, fmt.frac, amp * math.sqrt(2), fmt) / k
    assert np.abs(y * 2.0**-yf - exact).max() <= bound + 1e-12


def test_fft_bound_values_and_size_check():
    f = QFormat(bits=16, frac=8)
    plan = FFTPlan(8, f)
    # FFT-8, ap_fixed<16,8> everywhere, |x| <= 4: stages 1-2 exact, stage 3 rounds once.
    bound_lsb = fft_error_bound(plan, 8, 4.0, f) / f.lsb
    assert 0.7 < bound_lsb < 2.0
    with pytest.raises(ValueError, match="power-of-two block size k, got k=3"):
        FFTPlan(3, f)
    float_plan = FFTPlan(16, None)
    x = torch.randn(5, 16, dtype=torch.float64)
    re, im = rfft_q(x, float_plan, None)
    ref = torch.fft.rfft(x)
    assert torch.allclose(re, ref.real, atol=1e-12) and torch.allclose(im, ref.imag, atol=1e-12)
