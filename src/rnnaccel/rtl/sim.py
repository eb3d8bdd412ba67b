"""Driving RTL components in Amaranth's simulator: payload packing and a valid/ready stream driver
that records the cycle of every handshake (for latency and throughput checks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from amaranth import Shape
from amaranth.lib import data

__all__ = ["StreamRun", "pack", "run_stream", "unpack"]


def _size(shape: object) -> int:
    return shape.size if isinstance(shape, data.Layout) else Shape.cast(shape).width


def pack(layout: object, value: object) -> int:
    """Nested lists (ArrayLayout), dicts (StructLayout) and ints (shapes) -> the raw payload bits."""
    if isinstance(layout, data.ArrayLayout):
        if len(value) != layout.length:
            raise ValueError(f"payload needs {layout.length} elements, got {len(value)}")
        size = _size(layout.elem_shape)
        return sum(pack(layout.elem_shape, v) << (i * size) for i, v in enumerate(value))
    if isinstance(layout, data.StructLayout):
        return sum(pack(f.shape, value[name]) << f.offset for name, f in layout)
    width = Shape.cast(layout).width
    return int(value) & ((1 << width) - 1)


def unpack(layout: object, raw: int) -> object:
    """Inverse of :func:`pack`: raw bits -> nested lists / dicts / ints (signed where the shape is)."""
    if isinstance(layout, data.ArrayLayout):
        el, size = layout.elem_shape, _size(layout.elem_shape)
        return [unpack(el, (raw >> (i * size)) & ((1 << size) - 1)) for i in range(layout.length)]
    if isinstance(layout, data.StructLayout):
        return {name: unpack(f.shape, (raw >> f.offset) & ((1 << f.width) - 1)) for name, f in layout}
    shape = Shape.cast(layout)
    raw &= (1 << shape.width) - 1
    return raw - (1 << shape.width) if shape.signed and raw >> (shape.width - 1) else raw


@dataclass(frozen=True)
class StreamRun:
    """Cycles of accepted inputs, cycles and raw payloads of taken outputs."""

    in_cycles: tuple[int, ...]
    out_cycles: tuple[int, ...]
    outputs: tuple[int, ...]


def run_stream(
    dut: object,
    inputs: Sequence[int],
    n_outputs: int,
    *,
    ready: Sequence[bool] | None = None,
    max_cycles: int = 10_000,
) -> StreamRun:
    """Offer ``inputs`` (raw payloads) on ``dut.i`` back to back and collect ``n_outputs`` from
    ``dut.o``; ``ready`` (cycled) is the sink's ready pattern (always ready by default)."""
    from amaranth.sim import Simulator

    record: dict[str, list[int]] = {"in": [], "out": [], "payload": []}

    async def bench(ctx) -> None:
        pos, cycle = 0, 0
        while len(record["out"]) < n_outputs:
            if cycle >= max_cycles:
                raise RuntimeError(f"{type(dut).__name__}: {len(record['out'])}/{n_outputs} outputs "
                                   f"after {max_cycles} cycles")
            _drive(ctx, dut, inputs, pos, True if ready is None else bool(ready[cycle % len(ready)]))
            pos += _sample(ctx, dut, pos < len(inputs), cycle, record)
            await ctx.tick()
            cycle += 1

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    return StreamRun(tuple(record["in"]), tuple(record["out"]), tuple(record["payload"]))


def _drive(ctx, dut, inputs: Sequence[int], pos: int, ready: bool) -> None:
    ctx.set(dut.i.valid, pos < len(inputs))
    if pos < len(inputs):
        ctx.set(dut.i.payload.as_value(), inputs[pos])
    ctx.set(dut.o.ready, ready)


def _sample(ctx, dut, offering: bool, cycle: int, record: dict[str, list[int]]) -> int:
    """Record this cycle's handshakes; returns 1 when the offered input was accepted."""
    if ctx.get(dut.o.valid) and ctx.get(dut.o.ready):
        record["out"].append(cycle)
        record["payload"].append(ctx.get(dut.o.payload.as_value()))
    if offering and ctx.get(dut.i.ready):
        record["in"].append(cycle)
        return 1
    return 0
