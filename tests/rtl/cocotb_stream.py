"""cocotb testbench for any valid/ready stream component emitted by rnnaccel.rtl (Amaranth port
names ``i__payload``, ``i__valid``, ``i__ready``, ``o__*``, ``clk``, ``rst``).

It reads the vectors file named by ``RNNACCEL_VECTORS`` (JSON: raw input payloads, the spec's raw
output payloads, the stated latency, input transfers per output and the width of one output code),
offers the inputs back to back with the sink always ready, and fails with the first differing
output frame, code index and value; then checks the measured latency and throughput.
"""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly


def _first_difference(got: int, want: int, bits: int, count: int) -> str:
    mask = (1 << bits) - 1
    for n in range(count):
        a, b = (got >> (n * bits)) & mask, (want >> (n * bits)) & mask
        if a != b:
            signed = [v - (1 << bits) if v >> (bits - 1) else v for v in (a, b)]
            return f"code {n}: rtl {signed[0]} != spec {signed[1]}"
    return "no differing code (payload widths differ?)"


def _high(sig) -> bool:
    return str(sig.value) == "1"


async def _reset(dut) -> None:
    dut.rst.value = 1
    dut.i__valid.value = 0
    dut.o__ready.value = 1
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def stream_matches_spec(dut):
    spec = json.loads(Path(os.environ["RNNACCEL_VECTORS"]).read_text())
    inputs, want = [int(v) for v in spec["inputs"]], [int(v) for v in spec["expected"]]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    await _reset(dut)
    in_cycles, out_cycles, got, cycle = [], [], [], 0
    while len(got) < len(want):
        assert cycle < 20 * (len(inputs) + spec["latency"]) + 100, f"timeout: {len(got)}/{len(want)} outputs"
        await FallingEdge(dut.clk)
        offering = len(in_cycles) < len(inputs)
        dut.i__valid.value = int(offering)
        if offering:
            dut.i__payload.value = inputs[len(in_cycles)]
        await ReadOnly()
        if _high(dut.o__valid):
            out = dut.o__payload.value.to_unsigned()
            frame = len(got)
            assert out == want[frame], f"frame {frame}: " + _first_difference(
                out, want[frame], spec["code_bits"], spec["codes_per_output"])
            got.append(out)
            out_cycles.append(cycle)
        if offering and _high(dut.i__ready):
            in_cycles.append(cycle)
        cycle += 1
    per = spec["inputs_per_output"]
    assert in_cycles == list(range(len(inputs))), f"inputs not accepted one per clock: {in_cycles}"
    latencies = [o - in_cycles[(f + 1) * per - 1] for f, o in enumerate(out_cycles)]
    assert latencies == [spec["latency"]] * len(out_cycles), f"latency {latencies} != {spec['latency']}"
    dut._log.info("%d outputs bit-exact, latency %d, %d inputs in %d cycles", len(got), spec["latency"],
                  len(inputs), in_cycles[-1] + 1)
