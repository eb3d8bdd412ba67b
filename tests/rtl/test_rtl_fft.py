"""FFT-k and IFFT-k in Amaranth's simulator, bit-exact against rnnaccel.ref.fft (via ref.pe)."""

import numpy as np
import pytest
from rtl_cases import CONFIGS, MODES

from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.ref.pe import fft_block, ifft_block
from rnnaccel.rtl.fft import FFT, IFFT, fft_latency
from rnnaccel.rtl.sim import run_stream
from rnnaccel.rtl.vectors import decode_bins, decode_blocks, encode_bins, encode_blocks, random_codes


def _fft_inputs(cfg, k, rng):
    """Two random rows scaled by 1/k (no stage overflows), two rows of extreme codes (every stage
    saturates)."""
    small = random_codes(cfg.input, (2, k), rng) // k
    sat = random_codes(cfg.input, (2, k), rng, saturating=True)
    return np.concatenate([small, sat])


def _check_timing(run, latency, n):
    assert run.in_cycles == tuple(range(n)), "one input block per clock"
    assert [o - i for i, o in zip(run.in_cycles, run.out_cycles, strict=True)] == [latency] * n


def _first_mismatch(got, want):
    bad = np.argwhere(got != want)
    if bad.size:
        f = tuple(bad[0])
        return f"first mismatch at (frame, point) {f}: rtl {got[f]} != ref {want[f]}"
    return None


# k in {4, 8, 16} for both formats of the issue; the other rounding/overflow modes at k = 8.
CASES = [(k, name) for name in CONFIGS for k in (4, 8, 16)] + [(8, name) for name in MODES]
ALL = {**CONFIGS, **MODES}
UNUSED = pytest.mark.filterwarnings("ignore:.*created but never used")


@pytest.mark.parametrize(("k", "name"), CASES)
def test_fft_matches_ref(k, name):
    cfg = ALL[name]
    rng = np.random.default_rng(k)
    x = _fft_inputs(cfg, k, rng)
    stats = OverflowStats()
    want_re, want_im = fft_block(x, cfg.input.frac, cfg, stats)
    assert stats["fft"] > 0, "the saturating rows must overflow the fft point"
    dut = FFT(k, cfg.input, cfg)
    run = run_stream(dut, encode_blocks(dut.i.payload.shape(), x), len(x))
    got_re, got_im = decode_bins(dut.o.payload.shape(), run.outputs)
    assert _first_mismatch(got_re, want_re) is None, _first_mismatch(got_re, want_re)
    assert _first_mismatch(got_im, want_im) is None, _first_mismatch(got_im, want_im)
    _check_timing(run, dut.latency, len(x))


@pytest.mark.parametrize(("k", "name"), CASES)
def test_ifft_matches_ref(k, name):
    cfg = ALL[name]
    rng = np.random.default_rng(100 + k)
    nb, fmt = k // 2 + 1, cfg.freq_acc
    re = np.concatenate([random_codes(fmt, (2, nb), rng) // k, random_codes(fmt, (2, nb), rng, True)])
    im = np.concatenate([random_codes(fmt, (2, nb), rng) // k, random_codes(fmt, (2, nb), rng, True)])
    stats = OverflowStats()
    want = ifft_block(re, im, cfg, stats)
    assert stats["ifft"] > 0
    dut = IFFT(k, cfg)
    run = run_stream(dut, encode_bins(dut.i.payload.shape(), re, im), len(re))
    got = decode_blocks(dut.o.payload.shape(), run.outputs)
    assert _first_mismatch(got, want) is None, _first_mismatch(got, want)
    assert dut.out_frac == cfg.ifft.frac + k.bit_length() - 1
    _check_timing(run, dut.latency, len(re))


def test_fft_under_backpressure_keeps_every_block_and_order():
    cfg = CONFIGS["ap_fixed<16,8>"]
    rng = np.random.default_rng(5)
    x = _fft_inputs(cfg, 8, rng)
    want_re, want_im = fft_block(x, cfg.input.frac, cfg)
    dut = FFT(8, cfg.input, cfg)
    run = run_stream(dut, encode_blocks(dut.i.payload.shape(), x), len(x), ready=[True, False, False, True])
    got_re, got_im = decode_bins(dut.o.payload.shape(), run.outputs)
    assert (got_re == want_re).all() and (got_im == want_im).all()
    assert run.out_cycles[-1] > len(x) + dut.latency  # the stalls did cost cycles


def test_latency_is_one_cycle_per_wired_stage_two_per_multiplied():
    assert [fft_latency(k) for k in (2, 4, 8, 16, 32)] == [1, 2, 4, 6, 8]


@UNUSED
@pytest.mark.parametrize("k", [0, 1, 3, 64, 8.0, True])
def test_unbuildable_block_size_is_named(k):
    cfg = CONFIGS["ap_fixed<16,8>"]
    with pytest.raises(ValueError, match=rf"block size k={k!r} cannot be built.*power of two in 2\.\.32"):
        FFT(k, cfg.input, cfg)
    with pytest.raises(ValueError, match=rf"k={k!r}"):
        IFFT(k, cfg)


@UNUSED
def test_missing_formats_are_named():
    cfg = CONFIGS["ap_fixed<16,8>"]
    with pytest.raises(ValueError, match=r"FFT needs a QFormat at quantization point\(s\) \['twiddle'\]"):
        FFT(8, cfg.input, cfg.with_formats(twiddle=None))
    with pytest.raises(ValueError, match=r"\['freq_acc', 'ifft'\]"):
        IFFT(8, cfg.with_formats(freq_acc=None, ifft=None))
    with pytest.raises(TypeError, match="in_fmt must be a QFormat"):
        FFT(8, "ap_fixed<16,8>", cfg)
