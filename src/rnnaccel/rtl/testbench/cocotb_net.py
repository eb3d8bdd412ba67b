"""cocotb testbench of a generated network top (rnnaccel.rtl.netbuild): offers the utterances of the
vectors file (``RNNACCEL_VECTORS``) back to back with valid/ready (``last`` on each utterance's final
frame), takes every output frame with the sink always ready, and fails at the first differing
utterance, frame and point with both values (or a missing/misplaced ``last``). Writes the cycle and
raw payload of every handshake beside the vectors file (``vectors.cycles.json``)."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly


def _codes(raw: int, bits: int, count: int) -> list[int]:
    mask = (1 << bits) - 1
    vals = [(raw >> (n * bits)) & mask for n in range(count)]
    return [v - (1 << bits) if v >> (bits - 1) else v for v in vals]


def _check(spec: dict, utt: int, frame: int, raw: int) -> None:
    bits, count = spec["code_bits"], spec["codes"]
    got, want = raw & ((1 << bits * count) - 1), int(spec["expected"][utt][frame])
    if got != want:
        a, b = _codes(got, bits, count), _codes(want, bits, count)
        point = next(n for n in range(count) if a[n] != b[n])
        raise AssertionError(f"utterance {utt}, frame {frame}, point {point}: "
                             f"rtl {a[point]} != ref {b[point]}")
    last = raw >> (bits * count)
    if last != int(frame == len(spec["expected"][utt]) - 1):
        raise AssertionError(f"utterance {utt}, frame {frame}: last = {last}")


def _position(spec: dict, n: int) -> tuple[int, int]:
    """(utterance, frame) of the n-th output frame overall."""
    for u, frames in enumerate(spec["expected"]):
        if n < len(frames):
            return u, n
        n -= len(frames)
    raise AssertionError(f"output frame {n} beyond the expected ones")


@cocotb.test()
async def network_matches_ref(dut):
    spec = json.loads(Path(os.environ["RNNACCEL_VECTORS"]).read_text())
    inputs = [int(v) for utt in spec["inputs"] for v in utt]
    total = sum(len(u) for u in spec["expected"])
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value, dut.i__valid.value, dut.o__ready.value, dut.i__payload.value = 1, 0, 1, 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    rec = {"in_cycles": [], "out_cycles": [], "outputs": []}
    cycle = 0
    while len(rec["out_cycles"]) < total:
        assert cycle < spec["max_cycles"], f"timeout: {len(rec['out_cycles'])}/{total} output frames"
        await FallingEdge(dut.clk)
        sent = len(rec["in_cycles"])
        dut.i__valid.value = int(sent < len(inputs))
        if sent < len(inputs):
            dut.i__payload.value = inputs[sent]
        await ReadOnly()
        if str(dut.o__valid.value) == "1":
            raw = dut.o__payload.value.to_unsigned()
            _check(spec, *_position(spec, len(rec["out_cycles"])), raw)
            rec["out_cycles"].append(cycle)
            rec["outputs"].append(str(raw))
        if sent < len(inputs) and str(dut.i__ready.value) == "1":
            rec["in_cycles"].append(cycle)
        cycle += 1
    Path(os.environ["RNNACCEL_VECTORS"]).with_suffix(".cycles.json").write_text(json.dumps(rec))
