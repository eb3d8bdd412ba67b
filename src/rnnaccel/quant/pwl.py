"""Piecewise-linear sigmoid and tanh with N uniform segments, as in the C-LSTM/E-RNN kernels.

[V, C-LSTM kernel] 20 segments of width 0.5 over [-5, 5); [V, an RTL re-implementation] 32 segments
of |x| with step 0.25 up to 8. Outside [x_min, x_max) the output saturates to the function's limit
(sigmoid 0/1, tanh -1/1).

Segment i covers [b_i, b_i + w) and evaluates ``y_i + s_i * (x - b_i)``: ``y_i`` = f(b_i) rounded to
``coef_format``, ``s_i`` = the chord slope rounded *down* onto the coefficient grid. Rounding the
slope down keeps every segment's right end at or below the next segment's start, so the function
is monotone non-decreasing by construction. Breakpoints must lie on the coefficient grid, so a
hardware comparator and the subtraction ``x - b_i`` are exact.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from rnnaccel.quant.qformat import QFormat, quantize_float, requantize

__all__ = ["PWLActivation", "PWLTable"]

_LIMITS = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}
_FUNCS = {"sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)), "tanh": np.tanh}


@dataclass(frozen=True)
class PWLTable:
    """Integer tables at ``frac`` fractional bits, one row per region, saturation regions included.

    Region 0 is x < x_min, regions 1..N the segments, region N+1 is x >= x_max.
    ``breaks`` are the N+1 breakpoints b_0..b_N.
    """

    frac: int
    breaks: np.ndarray
    starts: np.ndarray
    bases: np.ndarray
    slopes: np.ndarray


@dataclass(frozen=True)
class PWLActivation:
    """A monotone piecewise-linear ``fn`` ("sigmoid" | "tanh") over ``segments`` uniform segments."""

    fn: str = "sigmoid"
    segments: int = 20
    x_min: float = -5.0
    x_max: float = 5.0
    coef_format: QFormat = QFormat(bits=16, frac=8)

    def __post_init__(self) -> None:
        if self.fn not in _LIMITS:
            raise ValueError(f"unknown PWL function {self.fn!r}, expected 'sigmoid' or 'tanh'")
        if not isinstance(self.segments, int) or self.segments < 1:
            raise ValueError(f"PWL segments must be a positive int, got {self.segments!r}")
        if not self.x_max > self.x_min:
            raise ValueError(f"PWL range needs x_max > x_min, got [{self.x_min}, {self.x_max})")
        fmt = self.coef_format
        if self.x_min < fmt.min or self.x_max > fmt.max + fmt.lsb or fmt.int_bits < 1:
            raise ValueError(
                f"coef_format {fmt} must hold the breakpoints [{self.x_min}, {self.x_max}] "
                "and +-1 (minus an lsb)"
            )
        for name, v in (("x_min", self.x_min), ("width", self.width)):
            if not float(v * 2**self.coef_format.frac).is_integer():
                raise ValueError(f"PWL {name}={v} is not on the grid of coef_format {self.coef_format}")

    @property
    def width(self) -> float:
        return (self.x_max - self.x_min) / self.segments

    @cached_property
    def table(self) -> PWLTable:
        """Quantized breakpoints, segment bases and slopes (codes at coef_format.frac)."""
        fmt = self.coef_format
        breaks = np.round((self.x_min + self.width * np.arange(self.segments + 1)) * 2**fmt.frac)
        breaks = breaks.astype(np.int64)
        ys, _ = quantize_float(_FUNCS[self.fn](breaks * fmt.lsb), fmt)
        w_code = int(breaks[1] - breaks[0])
        # Floor division = slope rounded down onto the grid: keeps the function monotone.
        slopes = ((ys[1:] - ys[:-1]) << fmt.frac) // w_code
        lo, hi = (quantize_float(np.array([v]), fmt)[0] for v in _LIMITS[self.fn])
        zero = np.zeros(1, np.int64)
        return PWLTable(
            frac=fmt.frac,
            breaks=breaks,
            starts=np.concatenate([zero, breaks[:-1], zero]),
            bases=np.concatenate([lo, ys[:-1], hi]),
            slopes=np.concatenate([zero, slopes, zero]),
        )

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate on float64 values (exact: the caller rounds to the output point's format)."""
        t = self.table
        lsb = 2.0**-t.frac
        breaks = torch.from_numpy(t.breaks * lsb)
        region = torch.searchsorted(breaks, x.detach().contiguous(), right=True)
        start = torch.from_numpy(t.starts * lsb)[region]
        base = torch.from_numpy(t.bases * lsb)[region]
        slope = torch.from_numpy(t.slopes * lsb)[region]
        return base + slope * (x - start)

    def eval_int(self, codes: np.ndarray, in_frac: int, out_fmt: QFormat) -> tuple[np.ndarray, int]:
        """Integer evaluation: input codes at ``in_frac`` -> ``out_fmt`` codes and overflow count."""
        t = self.table
        f = max(in_frac, t.frac)
        x = np.asarray(codes, np.int64) << (f - in_frac)
        region = np.searchsorted(t.breaks << (f - t.frac), x, side="right")
        d = x - (t.starts[region] << (f - t.frac))
        exact = (t.bases[region] << f) + t.slopes[region] * d
        return requantize(exact, t.frac + f, out_fmt)

    def eval_float(self, x: np.ndarray) -> np.ndarray:
        """The PWL with its quantized coefficients, no output rounding (numpy float64)."""
        return self(torch.from_numpy(np.asarray(x, np.float64))).numpy()

    def _critical_points(self) -> np.ndarray:
        """Where fn' equals a segment slope: the interior extrema of the error (both signs of x)."""
        s = self.table.slopes[1:-1] * self.coef_format.lsb
        s = s[(s > 0) & (s < (0.25 if self.fn == "sigmoid" else 1.0))]
        if self.fn == "sigmoid":  # sigma(1 - sigma) = s
            p = (1 + np.sqrt(1 - 4 * s)) / 2
            x = np.log(p / (1 - p))
        else:  # 1 - tanh^2 = s
            x = np.arctanh(np.sqrt(1 - s))
        return np.concatenate([x, -x])

    @cached_property
    def max_abs_error(self) -> float:
        """max |PWL(x) - fn(x)|: a dense grid over [x_min - 2w, x_max + 2w], the breakpoints (both
        sides) and the points where fn' equals a segment slope (the error's interior extrema)."""
        pad = 2 * self.width
        grid = np.linspace(self.x_min - pad, self.x_max + pad, 2**16 + 1)
        edges = self.table.breaks * self.coef_format.lsb
        x = np.concatenate([grid, edges, np.nextafter(edges, -math.inf), self._critical_points()])
        return float(np.abs(self.eval_float(x) - _FUNCS[self.fn](x)).max())
