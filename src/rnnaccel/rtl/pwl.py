"""The PWL activation unit (sigmoid, tanh) in Amaranth.

The unit evaluates :meth:`rnnaccel.quant.pwl.PWLActivation.eval_int` exactly: the region index is
the number of breakpoints <= x (a bank of N+1 constant comparators feeding a priority chain); two
ROMs of N+2 words (saturation regions 0 and N+1 included) hold the region's slope code and its
intercept ``(base << f) - slope * start`` (folded at elaboration, exact), so that
``y = q_out(intercept + slope * x)`` with f = max(in_frac, coef_frac): one multiplier fed straight
from registers (no subtraction in front of it), one rounding step. Its bit-exact model is
:func:`rnnaccel.ref.cell.pwl_codes`.

Pipeline (register stages): x and the ROM words (synchronous read) | the product slope * x and the
intercept | the rounded output code. Latency 3 clocks, one element per clock.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal, Value, signed
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import QFormat
from rnnaccel.rtl.fixed import (
    Registers,
    fmt_shape,
    pipeline_valid,
    requantize,
    require_formats,
    stream_enable,
)

__all__ = ["PWL_LATENCY", "PWLPipeline", "PWLUnit", "pwl_parameters", "stream_pipeline"]

PWL_LATENCY = 3  # register stages of the PWL datapath


def pwl_parameters(config: QuantConfig, fn: str, source: str) -> tuple[PWLActivation, QFormat, QFormat]:
    """(PWL table, input format, output format) of a PWL unit; ValueError naming what is missing."""
    if fn not in ("sigmoid", "tanh"):
        raise ValueError(f"unknown PWL function {fn!r}, expected 'sigmoid' or 'tanh'")
    pwl = getattr(config, f"{fn}_pwl")
    if pwl is None:
        raise ValueError(f"QuantConfig.{fn}_pwl is None: the hardware needs a PWL {fn}")
    require_formats(config, (source, fn), f"the PWL {fn} unit")
    return pwl, config[source], config[fn]


def stream_pipeline(m: Module, i: wiring.PureInterface, o: wiring.PureInterface, latency: int) -> Value:
    """Valid/ready control of a ``latency``-stage stall-all pipeline from stream ``i`` to ``o``;
    returns its advance enable (:func:`rnnaccel.rtl.fixed.stream_enable`).

    The pipeline advances when its last stage is empty or being taken (``~o.valid | o.ready``), so
    with ``o.ready`` high it accepts one element per clock; ``i.ready`` follows ``o.ready``
    combinationally (no skid buffer: a consumer that deasserts ready stalls every stage).
    """
    en = stream_enable(m, o.valid, o.ready)
    m.d.comb += [o.valid.eq(pipeline_valid(m, i.valid, en, latency, "valid_s")[-1]), i.ready.eq(en)]
    return en


def _rom(values) -> Memory:
    """A constant table: a Memory with one synchronous read port (Yosys: LUT ROM or block RAM)."""
    width = max(int(v).bit_length() for v in values) + 1  # signed, room for the largest |code|
    return Memory(shape=signed(width), depth=len(values), init=[int(v) for v in values])


class PWLPipeline(wiring.Component):
    """The PWL datapath with a stall enable: ``y`` is ``fn(x)`` of the input LATENCY advancing
    clocks earlier (registers hold while ``en`` is low); LATENCY = 3.

    Ports: ``en`` In(1) advance; ``x`` In codes of the ``source`` point (gate_acc or cell);
    ``y`` Out codes of the ``fn`` point (sigmoid or tanh). Parameters: ``config`` (the QuantConfig:
    ``<fn>_pwl`` table, the ``source`` and ``fn`` formats), ``fn``, ``source``.
    """

    latency = PWL_LATENCY

    def __init__(self, config: QuantConfig, fn: str, source: str = "gate_acc") -> None:
        self.fn, (self.pwl, self.in_fmt, self.out_fmt) = fn, pwl_parameters(config, fn, source)
        ports = {"x": In(fmt_shape(self.in_fmt)), "y": Out(fmt_shape(self.out_fmt))}
        super().__init__({"en": In(1), **ports})

    def _region(self, m: Module, x: Value, shift: int) -> Signal:
        """Number of breakpoints <= x: N+1 comparators, the last true one wins (breaks ascend)."""
        breaks = self.pwl.table.breaks
        region = Signal(range(len(breaks) + 1), name="region")
        for j, b in enumerate(breaks):
            with m.If(x >= (int(b) << shift)):
                m.d.comb += region.eq(j + 1)
        return region

    def intercepts(self) -> list[int]:
        """Per region, the value of its line at x = 0, exact at frac ``coef_frac + f``:
        ``(base << f) - slope * (start << (f - coef_frac))``, so that ``eval_int``'s
        ``(base << f) + slope * (x - start)`` is ``intercept + slope * x`` (an integer identity)."""
        t = self.pwl.table
        f = max(self.in_fmt.frac, t.frac)
        return ((t.bases << f) - t.slopes * (t.starts << (f - t.frac))).tolist()

    def elaborate(self, platform) -> Module:
        m, t = Module(), self.pwl.table
        reg, f = Registers(m, self.en), max(self.in_fmt.frac, t.frac)
        region = self._region(m, self.x << (f - self.in_fmt.frac), f - t.frac)
        words = {}
        for name, values in (("slopes", t.slopes), ("intercepts", self.intercepts())):
            rom = m.submodules[name] = _rom(values)
            port = rom.read_port(domain="sync")
            m.d.comb += [port.addr.eq(region), port.en.eq(self.en)]
            words[name] = port.data
        x1 = reg(self.x, "x_s1")  # beside the ROM words (their read register is stage 1)
        prod = reg(words["slopes"] * x1, "slope_x_s2")  # multiplier fed by registers only
        intercept = reg(words["intercepts"], "intercept_s2")
        exact = intercept + (prod << (f - self.in_fmt.frac))
        m.d.comb += self.y.eq(reg(requantize(exact, t.frac + f, self.out_fmt), "y_s3"))
        return m


class PWLUnit(wiring.Component):
    """Streaming PWL activation: ``fn`` of each element of the input stream, one per clock.

    Ports: ``i`` In(stream of ``source``-point codes), ``o`` Out(stream of ``fn``-point codes);
    valid/ready per :func:`stream_pipeline`. Latency :attr:`latency` (3) clocks from an accepted
    input to its output being valid (with ``o.ready`` held high); throughput one element per clock.
    """

    latency = PWL_LATENCY

    def __init__(self, config: QuantConfig, fn: str, source: str = "gate_acc") -> None:
        pwl_parameters(config, fn, source)  # validate before any elaboratable exists
        self.core = PWLPipeline(config, fn, source)
        super().__init__({
            "i": In(stream.Signature(fmt_shape(self.core.in_fmt))),
            "o": Out(stream.Signature(fmt_shape(self.core.out_fmt))),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules[self.core.fn] = core = self.core
        advance = stream_pipeline(m, self.i, self.o, self.latency)
        m.d.comb += [core.en.eq(advance), core.x.eq(self.i.payload), self.o.payload.eq(core.y)]
        return m
