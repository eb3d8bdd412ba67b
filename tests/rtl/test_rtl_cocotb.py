"""The emitted Verilog of FFT-k, IFFT-k and the MAC bank in Icarus Verilog through cocotb 2.x: the
output codes equal the spec's exactly, latency and throughput equal the stated ones.

The testbench is ``cocotb_stream.py`` beside this file; vectors are the simulator tests' kind
(random and saturating rows), fewer of them. Each component is built once (module-scoped)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from rtl_cases import CONFIGS

from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.ref.pe import fft_block, ifft_block, mac_block
from rnnaccel.rtl.fft import FFT, IFFT
from rnnaccel.rtl.icarus import build_icarus, run_cocotb, write_vectors
from rnnaccel.rtl.mac import MACBank
from rnnaccel.rtl.synth import to_verilog, write_atomic
from rnnaccel.rtl.vectors import encode_bins, encode_blocks, random_codes, random_role

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get)")
HERE = Path(__file__).parent


def _fft_case(rng):
    cfg, k = CONFIGS["ap_fixed<16,8>"], 8
    x = np.concatenate([random_codes(cfg.input, (3, k), rng) // k, random_codes(cfg.input, (3, k), rng, 1)])
    stats = OverflowStats()
    re, im = fft_block(x, cfg.input.frac, cfg, stats)
    dut = FFT(k, cfg.input, cfg)
    return dut, encode_blocks(dut.i.payload.shape(), x), encode_bins(dut.o.payload.shape(), re, im), 1, stats


def _ifft_case(rng):
    cfg, k = CONFIGS["ap_fixed<12,4>"], 16
    nb, fmt = k // 2 + 1, cfg.freq_acc
    re = np.concatenate([random_codes(fmt, (3, nb), rng) // k, random_codes(fmt, (3, nb), rng, True)])
    im = np.concatenate([random_codes(fmt, (3, nb), rng) // k, random_codes(fmt, (3, nb), rng, True)])
    stats = OverflowStats()
    y = ifft_block(re, im, cfg, stats)
    dut = IFFT(k, cfg)
    return dut, encode_bins(dut.i.payload.shape(), re, im), encode_blocks(dut.o.payload.shape(), y), 1, stats


def _mac_case(rng):
    cfg, k, q = CONFIGS["ap_fixed<16,8>"], 8, 3
    role = random_role(k, 2, q, cfg, rng, saturating=True)
    shape = (4, q, k // 2 + 1)
    re, im = random_codes(cfg.fft, shape, rng), random_codes(cfg.fft, shape, rng)
    re[2:], im[2:] = cfg.fft.code_max, cfg.fft.code_min
    im[..., [0, k // 2]] = 0
    stats = OverflowStats()
    out_re, out_im = mac_block(role, re, im, cfg, stats)
    dut = MACBank(role, cfg, lanes=2)
    ins = encode_bins(dut.i.payload.shape(), re.reshape(-1, k // 2 + 1), im.reshape(-1, k // 2 + 1))
    lane = dut.o.payload.shape().elem_shape
    outs = [sum(r << (n * lane.size) for n, r in enumerate(encode_bins(lane, a, b)))
            for a, b in zip(out_re, out_im, strict=True)]
    return dut, ins, outs, q, stats


CASES = {"fft8_16bit": _fft_case, "ifft16_12bit": _ifft_case, "mac8_16bit": _mac_case}


@pytest.fixture(scope="module", params=list(CASES))
def built(request, tmp_path_factory):
    """Emit and compile one component once; the vectors and spec outputs that go with it."""
    name = request.param
    dut, ins, outs, per, stats = CASES[name](np.random.default_rng(len(name)))
    assert sum(stats.values()) > 0, "the saturating vectors must overflow a point"
    work = tmp_path_factory.mktemp(name)
    write_atomic(work / f"{name}.v", to_verilog(dut, name))
    runner = build_icarus(work / f"{name}.v", name, work / "build")
    return name, dut, ins, outs, per, runner, work


def test_emitted_verilog_is_bit_exact_in_icarus(built):
    name, dut, ins, outs, per, runner, work = built
    el = dut.o.payload.shape()
    while hasattr(el, "elem_shape"):  # innermost element: one code (or a {re, im} struct)
        el = el.elem_shape
    bits = next(f.width for _, f in el) if hasattr(el, "members") else el.width
    vectors = write_vectors(work / "vectors.json", ins, outs, latency=dut.latency, inputs_per_output=per,
                            code_bits=bits, codes_per_output=dut.o.payload.shape().size // bits)
    run = run_cocotb(runner, name, vectors, HERE, work / "build")
    assert (run.tests, run.failed) == (1, 0), f"cocotb: {run.failed} of {run.tests} failed; log in {work}"


def test_hierarchy_is_kept(built):
    name, _, _, _, _, _, work = built
    text = (work / f"{name}.v").read_text()
    assert text.count("\nmodule ") >= 1 and f"module {name}(" in text
    if name.startswith("mac"):
        assert "ram_style" in text  # the weight memories carry the block-RAM hint
