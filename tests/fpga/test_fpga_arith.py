"""Primitive counts of the FFT PE, devices and power against hand calculations."""

import math

import pytest

from rnnaccel.hw.fpga.arith import (
    VALID_BLOCKS,
    block_product_adders,
    block_product_mults,
    bram18_for,
    fft_butterflies,
    fft_nontrivial_twiddles,
    fft_ops,
    freq_bins,
    stored_values,
)
from rnnaccel.hw.fpga.power import load_power_model
from rnnaccel.hw.spec import BramSpec, fpga_device


@pytest.mark.parametrize(
    ("k", "bfly", "twiddles"), [(1, 0, 0), (2, 1, 0), (4, 4, 0), (8, 12, 2), (16, 32, 10), (32, 80, 34)]
)
def test_fft_counts_by_hand(k, bfly, twiddles):
    # radix-2: (k/2) log2 k butterflies; nontrivial twiddles = W_N^m with 4m % N != 0
    assert fft_butterflies(k) == bfly
    assert fft_nontrivial_twiddles(k) == twiddles
    assert fft_ops(k) == 4 * bfly + 6 * twiddles


def test_bins_and_products():
    assert freq_bins(1) == (1, 0)
    assert freq_bins(8) == (2, 3)  # DC, Nyquist real; 3 complex bins
    assert block_product_mults(8, 4) == 2 + 3 * 4
    assert block_product_mults(8, 3) == 2 + 3 * 3
    assert block_product_mults(16, 4) == 2 + 7 * 4
    assert block_product_adders(8, 4) == 2 + 3 * (2 + 2)
    assert block_product_adders(8, 3) == 2 + 3 * (5 + 2)
    assert stored_values(8) == 8  # DC, Nyquist real parts + 3 complex bins, as the RTL word
    assert stored_values(1) == 1


def test_bad_block_size_is_rejected():
    with pytest.raises(ValueError, match=r"block size = 6: the FPGA model .* needs a power of two in 1..64"):
        freq_bins(6)
    with pytest.raises(ValueError, match="block size = 128"):
        freq_bins(128)
    assert VALID_BLOCKS == (1, 2, 4, 8, 16, 32, 64)


@pytest.mark.parametrize(
    ("width", "depth", "expected"),
    [
        (16, 1024, 1),
        (16, 2048, 2),
        (160, 100, 5),
        (36, 512, 1),
        (1, 16384, 1),
        (1, 16385, 2),
        (160, 352, 5),
        (9, 4096, 2),
    ],
)
def test_bram18_packing_by_hand(width, depth, expected):
    assert bram18_for(width, depth, BramSpec()) == expected


def test_bram18_rejects_empty_memory():
    with pytest.raises(ValueError, match="width and depth >= 1"):
        bram18_for(0, 10, BramSpec())


def test_dsp_per_mult():
    ku, v7 = fpga_device("ku060"), fpga_device("vx690t")
    assert ku.dsp_per_mult(16, 16) == 1  # one 27x18 slice
    assert ku.dsp_per_mult(8, 8) == 0.5  # two 8-bit multiplies share a slice
    assert ku.dsp_per_mult(27, 18) == 1
    assert ku.dsp_per_mult(28, 16) == 2
    assert v7.dsp_per_mult(26, 16) == 2  # DSP48E1 is 25x18
    assert v7.dsp_per_mult(18, 18) == 1
    with pytest.raises(ValueError, match="widths must be >= 1"):
        ku.dsp_per_mult(0, 8)


def test_devices():
    ku = fpga_device("KU060")
    assert (ku.dsp_slices, ku.bram18_blocks, ku.luts, ku.ffs) == (2760, 2160, 331_680, 663_360)
    v7 = fpga_device("vx690t")
    assert (v7.dsp_slices, v7.bram36_blocks, v7.luts, v7.ffs) == (3600, 1470, 433_200, 866_400)
    assert not ku.counts_confirmed and "DS890" in ku.source
    with pytest.raises(ValueError, match="unknown FPGA device 'xc7z020'"):
        fpga_device("xc7z020")


def test_power_by_hand():
    pm = load_power_model()
    # static (1.5 + 5) + (100/200) * (0.0025*100 + 0.003*10 + 0.02*10 + 0.004*20) = 6.5 + 0.28
    assert math.isclose(pm.total_w("ku060", 100, 10, 10_000, 20_000, 100.0), 6.5 + 0.5 * 0.56)
    assert math.isclose(pm.ddr_w(4.0, True), 3.0 + 0.25 * 4.0)
    assert pm.ddr_w(4.0, False) == 0
    cal = pm.calibrated(10.0, 6.5, 41.0, "test")
    assert math.isclose(cal.dynamic_scale, 3.45) and cal.calibrated_to == "test"
    with pytest.raises(ValueError, match="cannot calibrate"):
        pm.calibrated(10.0, 50.0, 41.0, "x")
    with pytest.raises(ValueError, match="no static power for device 'zu9'"):
        pm.static_w("zu9")
