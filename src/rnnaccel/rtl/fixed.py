"""Fixed-point arithmetic and pipeline control shared by the RTL components.

:func:`requantize` is the hardware twin of :func:`rnnaccel.quant.qformat.requantize`: an exact
(wide) Amaranth value at ``src_frac`` fractional bits is shifted to the format's lsb with its
rounding mode, then saturated or wrapped. Amaranth arithmetic widens every ``+ - *`` result, so
the operands reaching it are exact, as the int64 spec's are.
"""

from __future__ import annotations

from amaranth import Const, Module, Mux, Shape, Signal, Value, signed, unsigned
from amaranth.lib import data

from rnnaccel.quant.qformat import Overflow, QFormat, Rounding

__all__ = [
    "Registers",
    "RTL_BLOCK_SIZES",
    "check_block_size",
    "require_formats",
    "complex_layout", "const_mul", "fmt_shape", "pipeline_valid", "requantize", "stream_enable"]


def fmt_shape(fmt: QFormat) -> Shape:
    """The Amaranth shape holding one code of ``fmt``."""
    return signed(fmt.bits) if fmt.signed else unsigned(fmt.bits)


def complex_layout(fmt: QFormat) -> data.StructLayout:
    """A complex code of ``fmt``: fields ``re`` and ``im``."""
    return data.StructLayout({"re": fmt_shape(fmt), "im": fmt_shape(fmt)})


def _shift_round(v: Value, shift: int, mode: Rounding) -> Value:
    """``v / 2**shift`` rounded per ``mode`` (shift > 0), as :func:`qformat._shift_round`."""
    half = 1 << (shift - 1)
    if mode is Rounding.RND:
        return (v + half) >> shift
    q = v >> shift
    if mode is Rounding.TRN:
        return q
    r = v.as_unsigned()[:shift]  # v - (q << shift): the bits floor() dropped
    return q + ((r > half) | ((r == half) & q[0]))


def _overflow(v: Value, fmt: QFormat) -> Value:
    """SAT clamps to [code_min, code_max]; WRAP keeps the low bits. Either way the result fits
    ``fmt.bits``, so its low bits reinterpreted in ``fmt``'s signedness are exact."""
    if fmt.overflow is Overflow.SAT:
        v = Mux(v > fmt.code_max, fmt.code_max, Mux(v < fmt.code_min, fmt.code_min, v))
    return v.as_unsigned()[: fmt.bits]


def requantize(v: Value, src_frac: int, fmt: QFormat) -> Value:
    """Exact ``v`` at ``src_frac`` -> a code of ``fmt`` (rounding, then saturation or wrap)."""
    v = Value.cast(v)
    shift = src_frac - fmt.frac
    if shift > 0:
        v = _shift_round(v, shift, fmt.rounding)
    elif shift < 0:
        v = v << -shift
    out = _overflow(v, fmt)
    return out.as_signed() if fmt.signed else out.as_unsigned()


def const_mul(x: Value, c: int) -> Value:
    """Exact ``x * c`` for a constant code: wired (a shift, a negation or 0) when ``c`` is 0 or
    ±2**n, as the hardware wires the trivial twiddles; a multiplier otherwise."""
    if c == 0:
        return Const(0, signed(2))
    mag = abs(c)
    if mag & (mag - 1) == 0:
        shifted = x << (mag.bit_length() - 1)
        return -shifted if c < 0 else shifted
    return x * c


class Registers:
    """Pipeline registers created while a datapath is described: ``regs(expr, name)`` returns a
    register of ``expr``'s exact shape that loads it whenever ``en`` is high."""

    def __init__(self, m: Module, en: Value) -> None:
        self.m, self.en = m, en

    def __call__(self, expr: Value, name: str) -> Signal:
        expr = Value.cast(expr)
        reg = Signal(expr.shape(), name=name)
        with self.m.If(self.en):
            self.m.d.sync += reg.eq(expr)
        return reg


def stream_enable(m: Module, o_valid: Value, o_ready: Value) -> Signal:
    """The stall-all pipeline enable: the pipeline advances unless its output holds an untaken
    value (``valid & ~ready``); it is also the input stream's ``ready``."""
    en = Signal()
    m.d.comb += en.eq(~o_valid | o_ready)
    return en


def pipeline_valid(m: Module, i_valid: Value, en: Value, depth: int, name: str = "v") -> list[Signal]:
    """A ``depth``-stage chain of valid flags that shifts when ``en``; element s is stage s+1's."""
    chain, prev = [], i_valid
    for s in range(depth):
        v = Signal(name=f"{name}{s + 1}")
        with m.If(en):
            m.d.sync += v.eq(prev)
        chain.append(v)
        prev = v
    return chain


RTL_BLOCK_SIZES = (2, 4, 8, 16, 32)


def check_block_size(k: object) -> int:
    """The block size if the RTL can build it (a power of two 2..32), else ValueError naming it."""
    if isinstance(k, bool) or not isinstance(k, int) or k not in RTL_BLOCK_SIZES:
        raise ValueError(f"block size k={k!r} cannot be built: the RTL FFT needs a power of two in 2..32")
    return k


def require_formats(config: object, points: tuple[str, ...], what: str) -> None:
    """ValueError naming every point of ``points`` that ``config`` (a QuantConfig) leaves float."""
    from rnnaccel.quant.config import QuantConfig

    if not isinstance(config, QuantConfig):
        raise TypeError(f"{what} needs a QuantConfig, got {type(config).__name__}")
    missing = config.missing(points)
    if missing:
        raise ValueError(f"{what} needs a QFormat at quantization point(s) {missing}; the config has none")
