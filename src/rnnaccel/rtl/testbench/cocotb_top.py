"""cocotb testbench of a generated layer top (rnnaccel.rtl.build): offers the frames of the vectors
file (``RNNACCEL_VECTORS``) with valid/ready, takes every output frame with the sink always ready,
and fails at the first differing frame with its point (feature index) and both values. Writes the
cycle and raw payload of every output handshake beside the vectors file (``vectors.cycles.json``)."""

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


def _mismatch(frame: int, got: int, want: int, bits: int, count: int) -> str:
    a, b = _codes(got, bits, count), _codes(want, bits, count)
    point = next(n for n in range(count) if a[n] != b[n])
    return f"frame {frame}, point {point}: rtl {a[point]} != ref {b[point]}"


@cocotb.test()
async def top_matches_ref(dut):
    spec = json.loads(Path(os.environ["RNNACCEL_VECTORS"]).read_text())
    inputs, want = [int(v) for v in spec["inputs"]], [int(v) for v in spec["expected"]]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value, dut.i__valid.value, dut.o__ready.value, dut.i__payload.value = 1, 0, 1, 0
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    sent, out_cycles, outputs, cycle = 0, [], [], 0
    while len(out_cycles) < len(want):
        assert cycle < spec["max_cycles"], f"timeout: {len(out_cycles)}/{len(want)} frames"
        await FallingEdge(dut.clk)
        dut.i__valid.value = int(sent < len(inputs))
        if sent < len(inputs):
            dut.i__payload.value = inputs[sent]
        await ReadOnly()
        if str(dut.o__valid.value) == "1":
            got, frame = dut.o__payload.value.to_unsigned(), len(out_cycles)
            if got != want[frame]:
                raise AssertionError(_mismatch(frame, got, want[frame], spec["code_bits"], spec["codes"]))
            out_cycles.append(cycle)
            outputs.append(str(got))
        if sent < len(inputs) and str(dut.i__ready.value) == "1":
            sent += 1
        cycle += 1
    cycles = Path(os.environ["RNNACCEL_VECTORS"]).with_suffix(".cycles.json")
    cycles.write_text(json.dumps({"out_cycles": out_cycles, "outputs": outputs}))
