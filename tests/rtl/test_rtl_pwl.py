# amaranth: UnusedElaboratable=no
"""rnnaccel.rtl.pwl (PWL sigmoid/tanh unit) bit-exact with rnnaccel.ref.cell.pwl_codes, cycle by cycle;
its Verilog through Icarus (cocotb) on the same vectors.

Also holds the stream harness the elementwise-unit tests share (``run_stream``)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnaccel.quant import QuantConfig
from rnnaccel.ref.cell import pwl_codes

amaranth = pytest.importorskip("amaranth")
from amaranth.hdl import Shape  # noqa: E402
from amaranth.sim import Simulator  # noqa: E402

from rnnaccel.rtl.pwl import PWLUnit  # noqa: E402
from rnnaccel.rtl.synth import to_verilog, write_atomic  # noqa: E402

PRESETS = {"16bit": QuantConfig.c_lstm(), "12bit": QuantConfig.twelve_bit()}  # ap_fixed<16,8>, <12,4>


def run_stream(dut, inputs, *, fields=None, valid=None, ready=None, flush=32):
    """Drive ``inputs`` (payload values: ints or dicts) into ``dut.i``; record ``dut.o``.

    ``valid`` / ``ready`` are 0/1 sequences per cycle (default: always 1). Returns (accepted
    cycles, [(cycle, payload)] of outputs, [i.ready per cycle]); a struct payload comes back as a
    dict of ``fields``."""
    n_cycles = len(inputs) * (1 if valid is None else 4) + flush
    valid = np.ones(n_cycles, int) if valid is None else valid
    ready = np.ones(n_cycles, int) if ready is None else ready
    accepted, outputs, readies = [], [], []

    async def tb(ctx):
        k = 0
        for cycle in range(n_cycles):
            offer = k < len(inputs) and bool(valid[cycle])
            ctx.set(dut.i.valid, offer)
            if offer:
                ctx.set(dut.i.payload, inputs[k])
            ctx.set(dut.o.ready, int(ready[cycle]))
            readies.append(ctx.get(dut.i.ready))
            if offer and readies[-1]:
                accepted.append(cycle)
                k += 1
            if ctx.get(dut.o.valid) and ready[cycle]:
                p = ctx.get(dut.o.payload)
                outputs.append((cycle, p if fields is None else {f: getattr(p, f) for f in fields}))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(tb)
    sim.run()
    return accepted, outputs, readies


def assert_stream_exact(accepted, outputs, readies, expected, latency, names=None):
    """Every input accepted back to back, output j exactly ``latency`` clocks after input j, equal
    to ``expected[j]``; the first mismatch is named."""
    n = len(expected)
    assert accepted == list(range(n)), f"inputs not accepted one per clock: {accepted[:8]}..."
    assert all(readies[:n]), "i.ready dropped while o.ready was high"
    assert len(outputs) == n, f"{len(outputs)} outputs for {n} inputs"
    for j, ((cycle, got), want) in enumerate(zip(outputs, expected, strict=True)):
        assert cycle == j + latency, f"element {j}: output at cycle {cycle}, expected {j + latency}"
        assert got == want, f"element {j} ({names[j] if names else ''}): got {got}, expected {want}"


def pwl_vectors(cfg: QuantConfig, fn: str, source: str, n_random=256, seed=0) -> np.ndarray:
    """Every breakpoint and its neighbours on the input grid, both code ends (beyond the saturating
    ends of the PWL), and random codes."""
    fmt, t = cfg[source], getattr(cfg, f"{fn}_pwl").table
    b = np.floor(t.breaks * 2.0 ** (fmt.frac - t.frac)).astype(np.int64)
    ends = [fmt.code_min, fmt.code_min + 1, 0, fmt.code_max - 1, fmt.code_max]
    edges = np.concatenate([b - 1, b, b + 1, ends])
    rand = np.random.default_rng(seed).integers(fmt.code_min, fmt.code_max + 1, n_random)
    return np.clip(np.concatenate([edges, rand]), fmt.code_min, fmt.code_max)


CASES = [(p, fn, src) for p in sorted(PRESETS) for fn in ("sigmoid", "tanh") for src in ("gate_acc", "cell")]


@pytest.mark.parametrize(("preset", "fn", "source"), CASES)
def test_pwl_unit_exact_every_cycle(preset, fn, source):
    cfg = PRESETS[preset]
    x = pwl_vectors(cfg, fn, source)
    want = pwl_codes(cfg, fn, x, source)
    lo, hi = (getattr(cfg, f"{fn}_pwl").table.bases[[0, -1]])
    assert {int(lo), int(hi)} <= set(want.tolist())  # both saturating ends are reached
    dut = PWLUnit(cfg, fn, source)
    assert dut.latency == 3
    got = run_stream(dut, [int(v) for v in x])
    assert_stream_exact(*got, [int(v) for v in want], dut.latency, names=[f"x={v}" for v in x])


def test_pwl_unit_every_12bit_code():
    """ap_fixed<12,4> tanh on every one of the 4096 gate_acc codes, back to back."""
    cfg = PRESETS["12bit"]
    x = np.arange(cfg.gate_acc.code_min, cfg.gate_acc.code_max + 1)
    dut = PWLUnit(cfg, "tanh")
    got = run_stream(dut, [int(v) for v in x])
    assert_stream_exact(*got, pwl_codes(cfg, "tanh", x, "gate_acc").tolist(), dut.latency)


def test_pwl_unit_under_backpressure():
    """Random gaps on both sides: the same codes come out, in order, none lost or repeated."""
    cfg, rng = PRESETS["12bit"], np.random.default_rng(3)
    x = pwl_vectors(cfg, "tanh", "gate_acc", n_random=64)
    n_cycles = 4 * len(x) + 32
    accepted, outputs, _ = run_stream(PWLUnit(cfg, "tanh"), [int(v) for v in x],
                                      valid=rng.random(n_cycles) < 0.7, ready=rng.random(n_cycles) < 0.6)
    assert len(accepted) == len(x)
    assert [v for _, v in outputs] == pwl_codes(cfg, "tanh", x, "gate_acc").tolist()


def test_pwl_unit_errors_name_the_value():
    cfg = PRESETS["16bit"]
    with pytest.raises(ValueError, match="'relu'"):
        PWLUnit(cfg, "relu")
    with pytest.raises(ValueError, match="tanh_pwl is None"):
        PWLUnit(cfg.with_formats(tanh_pwl=None), "tanh")
    with pytest.raises(ValueError, match=r"needs a QFormat at quantization point\(s\) \['cell'\]"):
        PWLUnit(cfg.with_formats(cell=None), "tanh", "cell")


def test_pwl_unit_verilog_keeps_names():
    text = to_verilog(PWLUnit(PRESETS["16bit"], "sigmoid"), "pwl_sigmoid")
    assert "module pwl_sigmoid(" in text and "module \\pwl_sigmoid.sigmoid" in text
    names = ("i__payload", "o__payload", "valid_s1", "region", "x_s1", "slope_x_s2", "intercept_s2", "y_s3")
    for name in names:
        assert name in text, f"{name} missing from the Verilog"
    # The coefficient tables are memories of N+2 = 22 words read at the region index.
    for rom in ("slopes", "intercepts"):
        assert f"{rom} [21:0];" in text and f"<= {rom}[region];" in text, f"ROM {rom} missing"


def run_in_icarus(dut, top: str, inputs, outputs, code_bits: int, work: Path) -> None:
    """Emit ``dut`` as Verilog module ``top``, run it in Icarus through cocotb 2 (the shared
    testbench tests/rtl/cocotb_stream.py): output words equal ``outputs``, at the stated latency,
    one input per clock."""
    from rnnaccel.rtl.icarus import build_icarus, run_cocotb, write_vectors

    write_atomic(work / f"{top}.v", to_verilog(dut, top))
    runner = build_icarus(work / f"{top}.v", top, work / "build")
    per = Shape.cast(dut.o.payload.shape()).width // code_bits
    vectors = write_vectors(work / "vectors.json", inputs, outputs, latency=dut.latency, inputs_per_output=1,
                            code_bits=code_bits, codes_per_output=per)
    run = run_cocotb(runner, top, vectors, Path(__file__).parent, work / "build")
    assert (run.tests, run.failed) == (1, 0), f"cocotb: {run.failed} of {run.tests} failed; log in {work}"


def unsigned_word(code: int, bits: int) -> int:
    """A signed code as the non-negative bit pattern of a ``bits``-wide port."""
    return int(code) & ((1 << bits) - 1)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get install -y iverilog)")
def test_pwl_verilog_in_icarus(tmp_path):
    """ap_fixed<16,8> sigmoid in Icarus (the 12-bit format runs in Icarus in test_rtl_cell)."""
    cfg, fn = PRESETS["16bit"], "sigmoid"
    dut = PWLUnit(cfg, fn)
    x = pwl_vectors(cfg, fn, "gate_acc", n_random=128)
    y = pwl_codes(cfg, fn, x, "gate_acc")
    words_in = [unsigned_word(v, cfg.gate_acc.bits) for v in x]
    words_out = [unsigned_word(v, cfg[fn].bits) for v in y]
    run_in_icarus(dut, f"pwl_{fn}", words_in, words_out, cfg[fn].bits, tmp_path)
