"""Named quantization points and the frozen ``QuantConfig`` that gives each one a QFormat.

The names in :class:`QPoint` are the single definition shared by the torch fake-quant model, the
integer reference (:mod:`rnnaccel.ref`), the simulators and the generated Verilog.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace

from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import Overflow, QFormat, Rounding

__all__ = ["QPoint", "QuantConfig", "POINT_NAMES"]


class QPoint(enum.StrEnum):
    """Where a value is rounded in an LSTM/GRU cell (see docs/fixedpoint.md for the dataflow)."""

    INPUT = "input"  # the model input x_t
    WEIGHT = "weight"  # dense weights; circulant: the stored k/2+1 frequency bins; peepholes
    BIAS = "bias"  # each role's bias vector
    TWIDDLE = "twiddle"  # FFT twiddle factors (trivial ones, 1 and -j, stay exact)
    FFT = "fft"  # output of every radix-2 stage of an input-block FFT
    FREQ_ACC = "freq_acc"  # frequency-domain accumulator sum_j FFT(w_ij) * FFT(x_j)
    IFFT = "ifft"  # output of every stage of the per-output-block IFFT
    GATE_ACC = "gate_acc"  # gate pre-activation: mat-vecs + biases (+ peepholes)
    SIGMOID = "sigmoid"  # sigmoid outputs
    TANH = "tanh"  # tanh outputs (candidate g/n and tanh(c))
    CELL = "cell"  # LSTM cell state c_t
    HIDDEN = "hidden"  # LSTM m_t = o * tanh(c_t), GRU h_t
    PROJ = "proj"  # LSTM projection output y_t = W_proj m_t


POINT_NAMES: tuple[str, ...] = tuple(p.value for p in QPoint)


@dataclass(frozen=True)
class QuantConfig:
    """One QFormat (or ``None`` = float, no rounding) per quantization point, plus the activations.

    ``sigmoid_pwl`` / ``tanh_pwl`` = ``None`` means the exact function. ``QuantConfig()`` is the
    float model.
    """

    input: QFormat | None = None
    weight: QFormat | None = None
    bias: QFormat | None = None
    twiddle: QFormat | None = None
    fft: QFormat | None = None
    freq_acc: QFormat | None = None
    ifft: QFormat | None = None
    gate_acc: QFormat | None = None
    sigmoid: QFormat | None = None
    tanh: QFormat | None = None
    cell: QFormat | None = None
    hidden: QFormat | None = None
    proj: QFormat | None = None
    sigmoid_pwl: PWLActivation | None = None
    tanh_pwl: PWLActivation | None = None

    def __post_init__(self) -> None:
        for name in POINT_NAMES:
            v = getattr(self, name)
            if v is not None and not isinstance(v, QFormat):
                raise TypeError(f"QuantConfig.{name} must be a QFormat or None, got {v!r}")
        for name, fn in (("sigmoid_pwl", "sigmoid"), ("tanh_pwl", "tanh")):
            pwl = getattr(self, name)
            if pwl is not None and (not isinstance(pwl, PWLActivation) or pwl.fn != fn):
                raise ValueError(f"QuantConfig.{name} must be a PWLActivation with fn={fn!r}, got {pwl!r}")

    def __getitem__(self, point: str | QPoint) -> QFormat | None:
        return getattr(self, QPoint(point).value)

    @property
    def is_float(self) -> bool:
        """True when nothing is rounded: the model equals the float model exactly."""
        no_pwl = self.sigmoid_pwl is None and self.tanh_pwl is None
        return no_pwl and all(getattr(self, n) is None for n in POINT_NAMES)

    def missing(self, points: Iterable[str | QPoint]) -> list[str]:
        """Names among ``points`` that have no format (the integer engine needs them all)."""
        return [QPoint(p).value for p in points if self[p] is None]

    def with_formats(self, **formats: QFormat | None) -> QuantConfig:
        """A copy with some points changed; unknown names raise ValueError."""
        return QuantConfig.from_mapping(formats, base=self)

    @classmethod
    def from_mapping(cls, formats: Mapping[str, object], base: QuantConfig | None = None) -> QuantConfig:
        """Build from ``{point name: QFormat | 'ap_fixed<W,I>' | dict of QFormat fields | None}``; validates
        the names."""
        allowed = set(POINT_NAMES) | {"sigmoid_pwl", "tanh_pwl"}
        unknown = sorted(set(formats) - allowed)
        if unknown:
            raise ValueError(
                f"unknown quantization point(s) {unknown}, expected names from {list(POINT_NAMES)}"
            )
        parsed = {k: _parse_format(v) if k in POINT_NAMES else v for k, v in formats.items()}
        return replace(base or cls(), **parsed)

    @classmethod
    def uniform(
        cls,
        *,
        bits: int,
        frac: int,
        rounding: Rounding | str = Rounding.RND,
        overflow: Overflow | str = Overflow.SAT,
        pwl_segments: int = 20,
        pwl_range: tuple[float, float] = (-5.0, 5.0),
    ) -> QuantConfig:
        """Every point in ``QFormat(bits=bits, frac=frac)`` (keyword-only, like QFormat); PWL
        activations with coefficients in it too."""
        fmt = QFormat(bits=bits, frac=frac, rounding=rounding, overflow=overflow)
        sig = PWLActivation("sigmoid", pwl_segments, pwl_range[0], pwl_range[1], fmt)
        tanh = PWLActivation("tanh", pwl_segments, pwl_range[0], pwl_range[1], fmt)
        return cls(**{n: fmt for n in POINT_NAMES}, sigmoid_pwl=sig, tanh_pwl=tanh)

    @classmethod
    def c_lstm(cls) -> QuantConfig:
        """[V, C-LSTM kernel] ap_fixed<16,8> everywhere, PWL 20 segments of width 0.5 over [-5, 5)."""
        return cls.uniform(bits=16, frac=8)

    @classmethod
    def twelve_bit(cls) -> QuantConfig:
        """A 12-bit datapath (ESE's weight width [V]): ap_fixed<12,4>, PWL 32 segments over [-8, 8)."""
        return cls.uniform(bits=12, frac=8, pwl_segments=32, pwl_range=(-8.0, 8.0))

    def as_dict(self) -> dict[str, str | None]:
        """Point name -> str(QFormat) or None (for reports and JSON)."""
        return {
            f.name: None if getattr(self, f.name) is None else str(getattr(self, f.name))
            for f in fields(self)
        }


def _parse_format(value: object) -> QFormat | None:
    if value is None or isinstance(value, QFormat):
        return value
    if isinstance(value, str):
        return QFormat.parse(value)  # 'ap_fixed<W,I>' (the form configs and as_dict use)
    if isinstance(value, Mapping):
        return QFormat(**value)
    raise TypeError(f"expected a QFormat, an 'ap_fixed<W,I>' string, a mapping of QFormat fields or None, "
                    f"got {value!r}")
