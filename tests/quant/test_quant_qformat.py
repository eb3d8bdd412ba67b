"""QFormat, integer requantization and the torch fake-quant mirror (issue 4 item 6 properties)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.quant import (
    POINT_NAMES,
    OverflowStats,
    QFormat,
    QPoint,
    QuantConfig,
    fake_quant,
    quantize_float,
    requantize,
)

formats = st.builds(
    QFormat,
    bits=st.integers(8, 18),
    frac=st.integers(0, 14),
    signed=st.booleans(),
    rounding=st.sampled_from(["trn", "rnd", "rnd_conv"]),
    overflow=st.sampled_from(["sat", "wrap"]),
)


def test_ap_fixed_16_8_properties():
    f = QFormat.ap_fixed(16, 8)
    assert (f.bits, f.frac, f.int_bits) == (16, 8, 8)
    assert f.lsb == 1 / 256 and f.min == -128.0 and f.max == 128.0 - 1 / 256
    assert str(f) == "ap_fixed<16,8,rnd,sat>"
    u = QFormat(bits=8, frac=8, signed=False)
    assert (u.min, u.max, u.code_max) == (0.0, 255 / 256, 255)


def test_qformat_and_ap_fixed_cannot_be_confused():
    """QFormat is keyword-only (bits, frac); only ap_fixed / the string take (W, I) positionally."""
    with pytest.raises(TypeError):
        QFormat(12, 4)  # type: ignore[misc]
    with pytest.raises(TypeError):
        QuantConfig.uniform(12, 4)  # type: ignore[misc]
    assert QFormat.ap_fixed(12, 4) == QFormat.parse("ap_fixed<12,4>") == QFormat(bits=12, frac=8)


def test_qformat_is_frozen_and_validated():
    f = QFormat(bits=16, frac=8)
    with pytest.raises(AttributeError):
        f.bits = 12
    with pytest.raises(ValueError, match="bits=40 out of range"):
        QFormat(bits=40, frac=8)
    with pytest.raises(TypeError, match="frac must be an int"):
        QFormat(bits=16, frac=8.0)
    with pytest.raises(ValueError, match="unknown rounding 'nearest'"):
        QFormat(bits=16, frac=8, rounding="nearest")


@pytest.mark.parametrize(
    ("mode", "inputs", "expected"),
    [
        ("trn", [0.5, -0.25, 1.75, -1.5], [0, -1, 1, -2]),
        ("rnd", [0.5, -0.5, 1.5, -1.5, 0.25], [1, 0, 2, -1, 0]),
        ("rnd_conv", [0.5, -0.5, 1.5, -1.5, 2.5, 0.75], [0, 0, 2, -2, 2, 1]),
    ],
)
def test_rounding_modes_on_ties(mode, inputs, expected):
    fmt = QFormat(bits=8, frac=0, rounding=mode)
    codes, _ = quantize_float(np.array(inputs), fmt)
    assert codes.tolist() == expected
    ints = np.array(inputs) * 4  # the same values as exact codes with 2 fractional bits
    assert requantize(ints.astype(np.int64), 2, fmt)[0].tolist() == expected


@given(fmt=formats, seed=st.integers(0, 2**31 - 1))
def test_quantize_idempotent_and_error_within_half_lsb(fmt, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(fmt.min, fmt.max, 500)
    codes, n = quantize_float(x, fmt)
    inside = (x >= fmt.min) & (x <= fmt.max - fmt.lsb)  # rounding up from here cannot leave the range
    err = codes * fmt.lsb - x
    if fmt.rounding.value == "trn":
        assert np.all((err[inside] <= 0) & (err[inside] > -fmt.lsb))
    else:
        assert np.all(np.abs(err[inside]) <= fmt.lsb / 2)
    again, n2 = quantize_float(codes * fmt.lsb, fmt)
    assert np.array_equal(again, codes) and n2 == 0


@given(fmt=formats, seed=st.integers(0, 2**31 - 1))
def test_saturate_and_wrap_outside_the_range(fmt, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(-(2 ** (fmt.bits + 2)), 2 ** (fmt.bits + 2), 400)
    codes, n = requantize(raw, fmt.frac, fmt)
    outside = (raw < fmt.code_min) | (raw > fmt.code_max)
    assert n == int(outside.sum())
    if fmt.overflow.value == "sat":
        assert np.array_equal(codes, np.clip(raw, fmt.code_min, fmt.code_max))
    else:
        assert np.all((codes - raw) % (1 << fmt.bits) == 0)
        assert codes.min() >= fmt.code_min and codes.max() <= fmt.code_max


@given(fmt=formats, shift=st.integers(1, 12), seed=st.integers(0, 2**31 - 1))
def test_requantize_equals_quantize_of_the_exact_value(fmt, shift, seed):
    raw = np.random.default_rng(seed).integers(-(2**30), 2**30, 300)
    src = fmt.frac + shift
    assert np.array_equal(requantize(raw, src, fmt)[0], quantize_float(raw * 2.0**-src, fmt)[0])


@given(fmt=formats, seed=st.integers(0, 2**31 - 1))
def test_torch_fake_quant_is_bit_exact_with_numpy(fmt, seed):
    x = np.random.default_rng(seed).normal(0, 2.0 ** (fmt.int_bits + 1), 300)
    stats = OverflowStats()
    y = fake_quant(torch.from_numpy(x), fmt, stats, "cell")
    codes, n = quantize_float(x, fmt)
    assert np.array_equal(y.numpy() * 2.0**fmt.frac, codes)
    assert stats["cell"] == n


def test_straight_through_gradient():
    sat = QFormat(bits=8, frac=4)  # range [-8, 8)
    x = torch.tensor([0.3, 5.0, 9.0, -20.0], dtype=torch.float64, requires_grad=True)
    fake_quant(x, sat).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]
    x.grad = None
    fake_quant(x, QFormat(bits=8, frac=4, overflow="wrap")).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0, 1.0]
    with pytest.raises(TypeError, match="needs float64"):
        fake_quant(x.float(), sat)
    assert fake_quant(x, None) is x


def test_quant_config_names_and_validation():
    assert POINT_NAMES == (
        "input",
        "weight",
        "bias",
        "twiddle",
        "fft",
        "freq_acc",
        "ifft",
        "gate_acc",
        "sigmoid",
        "tanh",
        "cell",
        "hidden",
        "proj",
    )
    cfg = QuantConfig.c_lstm()
    assert all(cfg[p] == QFormat(bits=16, frac=8) for p in QPoint) and not cfg.is_float
    assert QuantConfig().is_float
    assert cfg.sigmoid_pwl.segments == 20 and cfg.sigmoid_pwl.width == 0.5
    assert QuantConfig.twelve_bit().weight == QFormat.ap_fixed(12, 4)
    with pytest.raises(ValueError, match=r"unknown quantization point\(s\) \['gates'\]"):
        QuantConfig.from_mapping({"gates": QFormat(bits=16, frac=8)})
    cfg2 = QuantConfig.from_mapping({"cell": {"bits": 18, "frac": 12}}, base=cfg)
    assert cfg2.cell == QFormat(bits=18, frac=12) and cfg2.hidden == QFormat(bits=16, frac=8)
    assert QuantConfig().with_formats(cell=QFormat(bits=16, frac=8)).missing(["cell", "hidden"]) == ["hidden"]
    with pytest.raises(TypeError, match="QuantConfig.cell must be a QFormat"):
        QuantConfig(cell="16.8")
    with pytest.raises(ValueError, match="sigmoid_pwl must be a PWLActivation with fn='sigmoid'"):
        QuantConfig(sigmoid_pwl=cfg.tanh_pwl)
