"""Pipelined real FFT-k and inverse FFT-k: the radix-2 DIT stages of :mod:`rnnaccel.ref.fft` in
hardware, one block per clock.

Structure (the spec's, stage for stage): the input gather (bit reversal; for the inverse the conj
of the Hermitian spectrum) is wiring; every stage s computes its butterflies ``A + W B``,
``A - W B`` exactly and rounds every output to the stage format (``fft`` or ``ifft`` point) with
:func:`rnnaccel.rtl.fixed.requantize`. Twiddles are the constant codes of
:class:`rnnaccel.quant.fft.FFTPlan` at the ``twiddle`` point's format; the trivial ones (1, -j, and
any ±2**n code) are wired, the others are constant multipliers.

Pipeline: a stage whose twiddles are all trivial (s = 1, 2) is one register stage; a stage with
multipliers is two (products registered, then add/subtract and rounding), so that a multiplier
never shares a clock cycle with the adders behind it. Latency = log2 k + (log2 k - 2)^+ cycles;
throughput one block per clock while the output is ready (stall-all valid/ready control).
"""

from __future__ import annotations

from typing import NamedTuple

from amaranth import Const, Module, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import QFormat
from rnnaccel.rtl.fixed import (
    Registers,
    check_block_size,
    complex_layout,
    const_mul,
    fmt_shape,
    pipeline_valid,
    requantize,
    require_formats,
    stream_enable,
)

__all__ = ["FFT", "IFFT", "fft_latency"]


class _Cx(NamedTuple):
    re: Value
    im: Value


def _reg_cx(regs: Registers, re: Value, im: Value, name: str) -> _Cx:
    return _Cx(regs(re, f"{name}_re"), regs(im, f"{name}_im"))


def fft_latency(k: int) -> int:
    """Cycles from an accepted input block to its output: 1 per wired stage, 2 per multiplied one."""
    stages = check_block_size(k).bit_length() - 1
    return stages + max(0, stages - 2)


def _wired_stage(z: list[_Cx], half: int) -> list[_Cx]:
    """Stage with twiddles 1 (j = 0) and -j (j = 1): (-j)(a + jb) = b - ja, adds only."""
    out = list(z)
    for g in range(0, len(z), 2 * half):
        for j in range(half):
            a, b = z[g + j], z[g + j + half]
            t = _Cx(b.re, b.im) if j == 0 else _Cx(b.im, -b.re)
            out[g + j] = _Cx(a.re + t.re, a.im + t.im)
            out[g + j + half] = _Cx(a.re - t.re, a.im - t.im)
    return out


def _twiddle_products(z: list[_Cx], half: int, plan: FFTPlan, s: int, regs: Registers) -> list[_Cx]:
    """First half of a multiplied stage: registered ``A << frac`` (tops) and exact ``W B`` (bottoms)."""
    wr, wi = plan.int_twiddles[s - 1]
    out = list(z)
    for g in range(0, len(z), 2 * half):
        for j in range(half):
            a, b, c, d = z[g + j], z[g + j + half], int(wr[j]), int(wi[j])
            tr = const_mul(b.re, c) - const_mul(b.im, d)
            ti = const_mul(b.im, c) + const_mul(b.re, d)
            out[g + j] = _reg_cx(regs, a.re << plan.frac, a.im << plan.frac, f"s{s}_a{g + j}")
            out[g + j + half] = _reg_cx(regs, tr, ti, f"s{s}_wb{g + j + half}")
    return out


def _add_sub(z: list[_Cx], half: int) -> list[_Cx]:
    out = list(z)
    for g in range(0, len(z), 2 * half):
        for j in range(half):
            a, t = z[g + j], z[g + j + half]
            out[g + j] = _Cx(a.re + t.re, a.im + t.im)
            out[g + j + half] = _Cx(a.re - t.re, a.im - t.im)
    return out


def _stages(z: list[_Cx], frac: int, plan: FFTPlan, fmt: QFormat, regs: Registers) -> list[_Cx]:
    """All DIT stages on the gathered input ``z`` at ``frac``; each output rounded to ``fmt`` and
    registered. Returns the registered outputs of the last stage (natural order)."""
    for s in range(1, plan.n_stages + 1):
        half = 1 << (s - 1)
        if half <= 2:
            z, gained = _wired_stage(z, half), 0
        else:
            z, gained = _add_sub(_twiddle_products(z, half, plan, s, regs), half), plan.frac
        src = frac + gained
        z = [
            _reg_cx(regs, requantize(c.re, src, fmt), requantize(c.im, src, fmt), f"s{s}_{n}")
            for n, c in enumerate(z)
        ]
        frac = fmt.frac
    return z


class _Transform(wiring.Component):
    """Shared control of FFT and IFFT: stall-all pipeline of :func:`fft_latency` register stages."""

    def __init__(self, k: int, config: QuantConfig, in_layout: data.Layout, out_layout: data.Layout) -> None:
        self.k, self.config = k, config
        self.plan = FFTPlan(self.k, config.twiddle)
        super().__init__({"i": In(stream.Signature(in_layout)), "o": Out(stream.Signature(out_layout))})

    @staticmethod
    def _check(k: int, config: QuantConfig, points: tuple[str, ...], what: str) -> int:
        require_formats(config, ("twiddle", *points), what)
        return check_block_size(k)

    @property
    def latency(self) -> int:
        """Cycles from accepting a block to presenting its result (with ``o.ready`` held high)."""
        return fft_latency(self.k)

    @property
    def throughput(self) -> float:
        """Blocks per clock in steady state (``o.ready`` high)."""
        return 1.0

    def _gather(self) -> tuple[list[_Cx], int]:
        raise NotImplementedError

    def _outputs(self, z: list[_Cx]) -> list:
        raise NotImplementedError

    def elaborate(self, platform) -> Module:
        m = Module()
        en = stream_enable(m, self.o.valid, self.o.ready)
        m.d.comb += self.i.ready.eq(en)
        z, frac = self._gather()
        z = _stages(z, frac, self.plan, self.stage_format, Registers(m, en))
        m.d.comb += self._outputs(z)
        m.d.comb += self.o.valid.eq(pipeline_valid(m, self.i.valid, en, self.latency)[-1])
        return m


class FFT(_Transform):
    """Real FFT-k of one block per clock: ``i.payload`` k real codes of ``in_fmt`` (natural order),
    ``o.payload`` bins 0..k/2 as complex codes of the ``fft`` point (``re``, ``im``) at its frac.

    Spec: :func:`rnnaccel.ref.fft.rfft_int` (wrapped per block by :func:`rnnaccel.ref.pe.fft_block`).
    """

    def __init__(self, k: int, in_fmt: QFormat, config: QuantConfig) -> None:
        if not isinstance(in_fmt, QFormat):
            raise TypeError(f"FFT in_fmt must be a QFormat, got {in_fmt!r}")
        k, self.in_fmt = self._check(k, config, ("fft",), "FFT"), in_fmt
        in_layout = data.ArrayLayout(fmt_shape(in_fmt), k)
        super().__init__(k, config, in_layout, data.ArrayLayout(complex_layout(config.fft), k // 2 + 1))

    @property
    def stage_format(self) -> QFormat:
        return self.config.fft

    @property
    def out_frac(self) -> int:
        return self.config.fft.frac

    def _gather(self) -> tuple[list[_Cx], int]:
        zero = Const(0, 1)
        return [_Cx(self.i.payload[int(r)], zero) for r in self.plan.bit_reverse], self.in_fmt.frac

    def _outputs(self, z: list[_Cx]) -> list:
        o = self.o.payload
        return [o[f].re.eq(z[f].re) for f in range(self.k // 2 + 1)] + [
            o[f].im.eq(z[f].im) for f in range(self.k // 2 + 1)
        ]


class IFFT(_Transform):
    """Inverse real FFT-k of one block per clock: ``i.payload`` bins 0..k/2 as complex codes of the
    ``freq_acc`` point, ``o.payload`` k real codes of the ``ifft`` point at frac ``ifft.frac +
    log2 k`` (the /k of the inverse is a move of the binary point, as in the spec).

    Conj-FFT-conj: the input is gathered as conj of the Hermitian spectrum; only the real part of
    the last stage leaves (Yosys removes the unused imaginary logic).
    Spec: :func:`rnnaccel.ref.fft.irfft_int` (per block: :func:`rnnaccel.ref.pe.ifft_block`).
    """

    def __init__(self, k: int, config: QuantConfig) -> None:
        k = self._check(k, config, ("freq_acc", "ifft"), "IFFT")
        in_layout = data.ArrayLayout(complex_layout(config.freq_acc), k // 2 + 1)
        super().__init__(k, config, in_layout, data.ArrayLayout(fmt_shape(config.ifft), k))

    @property
    def stage_format(self) -> QFormat:
        return self.config.ifft

    @property
    def out_frac(self) -> int:
        return self.config.ifft.frac + self.plan.n_stages

    def _gather(self) -> tuple[list[_Cx], int]:
        y, k = self.i.payload, self.k
        full = [_Cx(y[m].re, -y[m].im) for m in range(k // 2 + 1)]
        full += [_Cx(y[k - m].re, y[k - m].im) for m in range(k // 2 + 1, k)]
        return [full[int(r)] for r in self.plan.bit_reverse], self.config.freq_acc.frac

    def _outputs(self, z: list[_Cx]) -> list:
        return [self.o.payload[n].eq(z[n].re) for n in range(self.k)]
