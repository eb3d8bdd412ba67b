"""Fixed-point number formats: a frozen ``QFormat`` value type modelled on Vivado HLS ``ap_fixed``.

A value with format ``QFormat(bits=W, frac=F)`` (keyword-only) is an integer code ``c`` standing
for ``c * 2**-F``.
``ap_fixed<W, I>`` (I integer bits including the sign) is ``QFormat(bits=W, frac=W - I)``; see ``ap_fixed``.

Rounding modes (applied when a value has more fractional bits than the format; [V] Xilinx UG902):
``TRN`` (AP_TRN) floor toward -inf; ``RND`` (AP_RND) round half up toward +inf;
``RND_CONV`` (AP_RND_CONV) round half to even. Overflow modes: ``SAT`` (AP_SAT) clamps to
[min, max]; ``WRAP`` (AP_WRAP) keeps the low ``bits`` bits (two's complement).

The integer kernels here (``requantize``) are the single definition of the arithmetic; the torch
mirror in :mod:`rnnaccel.quant.fakequant` reproduces them bit for bit in float64.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Rounding",
    "Overflow",
    "QFormat",
    "round_scaled",
    "requantize",
    "quantize_float",
    "apply_overflow",
    "parse_format",
]

# float64 holds integers exactly up to 2**53: every exact intermediate must stay below this.
EXACT_LIMIT = 2**53


class Rounding(enum.StrEnum):
    """Rounding of the bits below the lsb (ap_fixed quantization modes)."""

    TRN = "trn"
    RND = "rnd"
    RND_CONV = "rnd_conv"


class Overflow(enum.StrEnum):
    """What happens to a value outside [min, max] (ap_fixed overflow modes)."""

    SAT = "sat"
    WRAP = "wrap"


@dataclass(frozen=True, kw_only=True)
class QFormat:
    """A fixed-point format: ``bits`` total, ``frac`` fractional bits (value = code * 2**-frac).

    Keyword-only (``QFormat(bits=16, frac=8)``), so it cannot be confused with ``ap_fixed<W, I>``
    (``QFormat.ap_fixed(16, 8)`` or ``QFormat.parse('ap_fixed<16,8>')``, whose second number is I).

    Defaults are round-half-up and saturate (ap_fixed's own defaults are AP_TRN, AP_WRAP; pass
    them explicitly to model an unannotated ``ap_fixed``).
    """

    bits: int
    frac: int
    signed: bool = True
    rounding: Rounding = Rounding.RND
    overflow: Overflow = Overflow.SAT

    def __post_init__(self) -> None:
        _check_int("bits", self.bits, 1 + int(self.signed), 32)
        _check_int("frac", self.frac, -32, 64)
        object.__setattr__(self, "rounding", _coerce(Rounding, self.rounding, "rounding"))
        object.__setattr__(self, "overflow", _coerce(Overflow, self.overflow, "overflow"))

    @classmethod
    def ap_fixed(cls, width: int, int_bits: int, **kw: object) -> QFormat:
        """``ap_fixed<width, int_bits>``: int_bits counts the sign bit, frac = width - int_bits."""
        return cls(bits=width, frac=width - int_bits, signed=True, **kw)

    @classmethod
    def parse(cls, text: str) -> QFormat:
        """``'ap_fixed<W,I>'`` / ``'ap_ufixed<W,I>'``, optionally ``<W,I,rounding,overflow>`` (the form
        ``str(QFormat)`` prints; modes as ``rnd``/``AP_RND`` etc.); ValueError naming the string."""
        return parse_format(text)

    @property
    def int_bits(self) -> int:
        """Integer bits including the sign bit (the ``I`` of ``ap_fixed<W, I>``)."""
        return self.bits - self.frac

    @property
    def lsb(self) -> float:
        """Weight of one code step."""
        return 2.0**-self.frac

    @property
    def code_min(self) -> int:
        return -(2 ** (self.bits - 1)) if self.signed else 0

    @property
    def code_max(self) -> int:
        return 2 ** (self.bits - 1) - 1 if self.signed else 2**self.bits - 1

    @property
    def min(self) -> float:
        return self.code_min * self.lsb

    @property
    def max(self) -> float:
        return self.code_max * self.lsb

    def __str__(self) -> str:
        kind = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{kind}<{self.bits},{self.int_bits},{self.rounding.value},{self.overflow.value}>"


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"QFormat {name} must be an int, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"QFormat {name}={value} out of range, expected {lo}..{hi}")


def _coerce(enum_type: type[enum.Enum], value: object, name: str) -> enum.Enum:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        raise ValueError(f"unknown {name} {value!r}, expected one of: {allowed}") from None


def round_scaled(v: np.ndarray, mode: Rounding) -> np.ndarray:
    """Round float64 values ``v`` (already scaled to lsb units) to integers, exactly.

    floor plus a remainder test avoids ``floor(v + 0.5)``, which itself rounds for large |v|.
    """
    q = np.floor(v)
    if mode is Rounding.TRN:
        return q
    r = v - q
    if mode is Rounding.RND:
        return q + (r >= 0.5)
    return q + ((r > 0.5) | ((r == 0.5) & (np.mod(q, 2) == 1)))


def _shift_round(v: np.ndarray, shift: int, mode: Rounding) -> np.ndarray:
    """Integer ``v / 2**shift`` rounded per ``mode`` (shift > 0); arithmetic shifts are floors."""
    half = 1 << (shift - 1)
    if mode is Rounding.RND:
        return (v + half) >> shift  # floor(v / 2**shift + 1/2)
    q = v >> shift
    if mode is Rounding.TRN:
        return q
    r = v - (q << shift)
    return q + ((r > half) | ((r == half) & ((q & 1) == 1)))


def apply_overflow(codes: np.ndarray, fmt: QFormat) -> tuple[np.ndarray, int]:
    """Apply ``fmt``'s overflow mode to integer codes; returns (codes, number of overflowed codes)."""
    lo, hi = fmt.code_min, fmt.code_max
    bad = (codes < lo) | (codes > hi)
    n_bad = int(np.count_nonzero(bad))
    if n_bad == 0:
        return codes, 0
    if fmt.overflow is Overflow.SAT:
        return np.clip(codes, lo, hi), n_bad
    return (codes - lo) % (1 << fmt.bits) + lo, n_bad


def requantize(v: np.ndarray, src_frac: int, fmt: QFormat) -> tuple[np.ndarray, int]:
    """Exact integer ``v`` at ``src_frac`` fractional bits -> codes of ``fmt``, and overflow count.

    This is the one rounding step of the datapath: an exact (wide) value is shifted to the
    format's lsb with its rounding mode, then saturated or wrapped.
    """
    v = np.asarray(v, dtype=np.int64)
    if v.size and int(np.abs(v).max()) >= EXACT_LIMIT:
        raise ValueError(f"exact intermediate reaches 2**53 before rounding to {fmt}: formats too wide")
    shift = src_frac - fmt.frac
    if shift > 0:
        v = _shift_round(v, shift, fmt.rounding)
    elif shift < 0:
        v = v << (-shift)
    return apply_overflow(v, fmt)


def quantize_float(x: np.ndarray, fmt: QFormat) -> tuple[np.ndarray, int]:
    """Float values -> int64 codes of ``fmt`` (rounding + overflow), and the overflow count."""
    scaled = np.asarray(x, dtype=np.float64) * 2.0**fmt.frac
    if np.isnan(scaled).any():
        raise ValueError(f"cannot quantize NaN to {fmt}")
    if fmt.overflow is Overflow.SAT:  # ±inf and huge values saturate (and count as overflows)
        scaled = np.clip(scaled, fmt.code_min - 1, fmt.code_max + 1)
    codes = round_scaled(scaled, fmt.rounding)
    if codes.size and float(np.abs(codes).max()) >= EXACT_LIMIT:
        raise ValueError(f"value too large to quantize to {fmt}")
    return apply_overflow(codes.astype(np.int64), fmt)


_AP_RE = re.compile(r"^\s*(ap_u?fixed)\s*<\s*(-?\d+)\s*,\s*(-?\d+)\s*((?:,\s*\w+\s*){0,2})>\s*$")


def _parse_mode(enum_type: type[enum.Enum], word: str, text: str) -> enum.Enum:
    name = word.strip().lower().removeprefix("ap_")
    try:
        return enum_type(name)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        msg = f"format {text!r}: unknown mode {word.strip()!r}, expected one of: {allowed}"
        raise ValueError(msg) from None


def parse_format(text: str) -> QFormat:
    """Parse ``'ap_fixed<W,I>'`` (signed, I integer bits including the sign), ``'ap_ufixed<W,I>'``,
    optionally followed by a rounding and an overflow mode: ``'ap_fixed<16,8,rnd,sat>'`` (the
    :class:`QFormat` defaults RND/SAT otherwise). Raises ValueError naming ``text``."""
    if not isinstance(text, str):
        raise TypeError(f"a format string like 'ap_fixed<16,8>' is expected, got {text!r}")
    m = _AP_RE.match(text)
    if m is None:
        raise ValueError(f"cannot parse format {text!r}: expected 'ap_fixed<W,I>' or 'ap_ufixed<W,I>' "
                         "(optionally '<W,I,rounding,overflow>')")
    kind, width, int_bits = m.group(1), int(m.group(2)), int(m.group(3))
    modes = [w for w in m.group(4).split(",") if w.strip()]
    kw: dict[str, object] = {}
    if modes:
        kw["rounding"] = _parse_mode(Rounding, modes[0], text)
    if len(modes) > 1:
        kw["overflow"] = _parse_mode(Overflow, modes[1], text)
    try:
        return QFormat(bits=width, frac=width - int_bits, signed=kind == "ap_fixed", **kw)
    except (TypeError, ValueError) as e:
        raise ValueError(f"format {text!r} is not buildable: {e}") from None
