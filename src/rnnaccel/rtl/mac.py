"""Frequency-domain MAC bank: ``P`` output blocks in parallel, weight bins in block RAM.

Spec: the engine's ``_freq_mac`` (the complex MAC sum_j W_ij X_j over input blocks, exact) followed
by one rounding to the ``freq_acc`` point (:func:`rnnaccel.ref.pe.mac_block`). The accumulator
keeps the exact sum, as the spec's int64 does: ``fft.bits + weight.bits + 1 + ceil(log2 q)`` bits.

Weights: one memory per lane (``ram_style = "block"``, which Yosys maps to RAMB18/RAMB36 or ECP5
DP16KD), one word per (output block, input block) pair holding the ``k/2+1`` bins of that pair:
DC and Nyquist as their real parts (their imaginary parts are zero by symmetry: the bank checks the
exported model for it) and bins 1..k/2-1 as (re, im), ``k`` codes of the ``weight`` point in all.
Lane ``l`` in pass ``g`` computes output block ``g*P + l``; word ``g*q + j`` is its pair with
input block ``j``. DC and Nyquist of the input are real too (every FFT-k output has zero imaginary
parts there), so they cost one multiply each: ``2 + 4 (k/2 - 1)`` multipliers per lane, as
:func:`rnnaccel.hw.fpga.arith.block_product_mults` counts with schoolbook complex products.

Stream: ``i`` carries the bins of input blocks j = 0..q-1, once per pass (ceil(p / P) passes per
input vector); ``o`` carries, after the last block of a pass, the P accumulated output blocks.
Pipeline: weight read (1 cycle), products (1), accumulate + round (1): latency 3 cycles from the
last input block of a pass to its output; one input block per clock.
"""

from __future__ import annotations

import math

import numpy as np
from amaranth import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.ref.export import IntCirculant
from rnnaccel.rtl.fixed import (
    Registers,
    check_block_size,
    complex_layout,
    pipeline_valid,
    requantize,
    require_formats,
    stream_enable,
)

__all__ = ["MACBank", "MAC_LATENCY", "check_role", "weight_words"]

MAC_LATENCY = 3


def check_role(role: IntCirculant, config: QuantConfig, lanes: int) -> None:
    """ValueError/TypeError naming what a MAC bank cannot be built from."""
    if not isinstance(role, IntCirculant):
        raise TypeError(f"MACBank needs an IntCirculant role (rnnaccel.ref.export), got {type(role)!r}")
    require_formats(config, ("fft", "weight", "freq_acc"), "MACBank")
    k = check_block_size(role.block_size)
    if isinstance(lanes, bool) or not isinstance(lanes, int) or not 1 <= lanes <= role.p:
        raise ValueError(f"lanes={lanes!r} must be an int in 1..p={role.p} (output blocks in parallel)")
    edge = role.w_im[..., [0, k // 2]]
    if np.any(edge != 0):
        raise ValueError("the DC and Nyquist bins of every weight block must be real (w_im[..., 0] and "
                         f"w_im[..., k/2] zero); this model has {int(np.count_nonzero(edge))} nonzero")
    fmt = config.weight
    for name, w in (("w_re", role.w_re), ("w_im", role.w_im)):
        if w.size and (w.min() < fmt.code_min or w.max() > fmt.code_max):
            raise ValueError(f"role {name} holds codes outside the weight format {fmt}")


def _word_codes(role: IntCirculant, i: int, j: int) -> list[int]:
    """The k codes stored for pair (i, j): re(0), re(1), im(1), ..., re(k/2-1), im(k/2-1), re(k/2)."""
    k, wr, wi = role.block_size, role.w_re[i, j], role.w_im[i, j]
    mid = [int(v) for f in range(1, k // 2) for v in (wr[f], wi[f])]
    return [int(wr[0]), *mid, int(wr[k // 2])]


def weight_words(role: IntCirculant, lanes: int, bits: int) -> list[list[int]]:
    """Initial contents of each lane's memory: raw words (codes packed LSB first, ``bits`` each)."""
    passes, mask = math.ceil(role.p / lanes), (1 << bits) - 1
    out = []
    for lane in range(lanes):
        words = []
        for g in range(passes):
            i = g * lanes + lane
            for j in range(role.q):
                codes = _word_codes(role, i, j) if i < role.p else [0] * role.block_size
                words.append(sum((c & mask) << (n * bits) for n, c in enumerate(codes)))
        out.append(words)
    return out


class MACBank(wiring.Component):
    """``lanes`` complex MAC lanes over the q input blocks of a circulant role (see module doc).

    Ports: ``i`` bins (k/2+1 complex codes of the ``fft`` point) of one input block per transfer;
    ``o`` ``lanes`` blocks of k/2+1 complex ``freq_acc`` codes at ``freq_acc.frac`` per pass.
    """

    def __init__(self, role: IntCirculant, config: QuantConfig, lanes: int = 1) -> None:
        check_role(role, config, lanes)
        self.role, self.config, self.lanes = role, config, lanes
        self.k, self.nb = role.block_size, role.block_size // 2 + 1
        self.passes = math.ceil(role.p / lanes)
        out_block = data.ArrayLayout(complex_layout(config.freq_acc), self.nb)
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(complex_layout(config.fft), self.nb))),
            "o": Out(stream.Signature(data.ArrayLayout(out_block, lanes))),
        })

    @property
    def latency(self) -> int:
        """Cycles from the last input block of a pass to the pass's output."""
        return MAC_LATENCY

    @property
    def inputs_per_output(self) -> int:
        """Input blocks consumed per output transfer (one per clock): q."""
        return self.role.q

    @property
    def acc_shape(self) -> signed:
        """The exact accumulator: product + complex sum + q-term sum."""
        bits = self.config.fft.bits + self.config.weight.bits + 1 + (self.role.q - 1).bit_length()
        return signed(bits)

    def _counters(self, m: Module, take: Signal) -> tuple[Signal, Signal, Signal]:
        """Input block j, pass g and the weight address g*q + j of the transfer now offered."""
        q, depth = self.role.q, self.passes * self.role.q
        j, g = Signal(range(q), name="blk"), Signal(range(self.passes), name="pass_")
        addr = Signal(range(depth), name="addr")
        m.d.comb += addr.eq(g * q + j)
        with m.If(take):
            m.d.sync += j.eq(Mux(j == q - 1, 0, j + 1))
            with m.If(j == q - 1):
                m.d.sync += g.eq(Mux(g == self.passes - 1, 0, g + 1))
        return j, g, addr

    def _weights(self, m: Module, addr: Signal, en: Signal) -> list[list[object]]:
        """Per lane the k weight codes read (registered) at ``addr``."""
        bits = self.config.weight.bits
        out = []
        for lane, init in enumerate(weight_words(self.role, self.lanes, bits)):
            mem = memory.Memory(shape=unsigned(self.k * bits), depth=len(init), init=init,
                                attrs={"ram_style": "block"})
            m.submodules[f"weights{lane}"] = mem
            rd = mem.read_port()
            m.d.comb += [rd.addr.eq(addr), rd.en.eq(en)]
            out.append([rd.data[n * bits : (n + 1) * bits].as_signed() for n in range(self.k)])
        return out

    def _products(self, w: list[object], x, regs: Registers, lane: int) -> list[tuple[object, object]]:
        """Exact complex W*X per bin, registered; DC and Nyquist real (one multiply)."""
        k, out = self.k, []
        for f in range(self.nb):
            if f in (0, k // 2):
                c = w[0] if f == 0 else w[k - 1]
                out.append((regs(x[f].re * c, f"p{lane}_{f}_re"), None))
                continue
            c, d = w[2 * f - 1], w[2 * f]
            re = regs(x[f].re * c - x[f].im * d, f"p{lane}_{f}_re")
            out.append((re, regs(x[f].re * d + x[f].im * c, f"p{lane}_{f}_im")))
        return out

    def _accumulate(self, m: Module, en: Signal, prods, first: Signal, last: Signal, fire: Signal) -> None:
        frac, fmt = self.config.fft.frac + self.config.weight.frac, self.config.freq_acc
        for lane, lane_prods in enumerate(prods):
            for f, parts in enumerate(lane_prods):
                for part, prod in zip(("re", "im"), parts, strict=True):
                    port = getattr(self.o.payload[lane][f], part)
                    if prod is None:
                        m.d.comb += port.eq(0)
                        continue
                    acc = Signal(self.acc_shape, name=f"acc{lane}_{f}_{part}")
                    total = Mux(first, 0, acc) + prod
                    with m.If(en & fire):
                        m.d.sync += acc.eq(total)
                        with m.If(last):
                            m.d.sync += port.eq(requantize(total, frac, fmt))

    def elaborate(self, platform) -> Module:
        m = Module()
        en = stream_enable(m, self.o.valid, self.o.ready)
        m.d.comb += self.i.ready.eq(en)
        j, _, addr = self._counters(m, self.i.valid & en)
        regs = Registers(m, en)
        x1 = self.i.payload.shape()(regs(self.i.payload.as_value(), "x1"))
        first1, last1 = regs(j == 0, "first1"), regs(j == self.role.q - 1, "last1")
        weights = self._weights(m, addr, en)
        prods = [self._products(w, x1, regs, lane) for lane, w in enumerate(weights)]
        first2, last2 = regs(first1, "first2"), regs(last1, "last2")
        v1, v2 = pipeline_valid(m, self.i.valid, en, 2)
        self._accumulate(m, en, prods, first2, last2, v2)
        with m.If(en):
            m.d.sync += self.o.valid.eq(v2 & last2)
        return m
