"""Fixed-point radix-2 FFT of size k with a rounding after every butterfly stage (torch mirror).

[V, C-LSTM kernel] FFT-8 as an unrolled radix-2 structure; IFFT by conj-FFT-conj then /k. After the
bit-reversal permutation, each of the log2(k) decimation-in-time stages computes its k/2
butterflies ``A + W B``, ``A - W B`` exactly (twiddles on the twiddle format's grid; the trivial
twiddles 1, -j, -1, j are hard-wired and stay exact) and then rounds every output to the stage
format. The integer engine (:mod:`rnnaccel.ref.fft`) runs the same stages on int64 codes.

Error bound (per real component, no overflow): with E_0 = 0 and M_0 = max |input|,
``E_s = E_{s-1} (1 + T_s) + D_s M_{s-1} + R_s``, ``M_s = 2 M_{s-1}``, where T_s = max |W~| and
D_s = max |W~ - W| over the stage's twiddles, and R_s = sqrt(2) u (u = lsb/2 for RND/RND_CONV,
lsb for TRN) unless the stage is exact (trivial twiddles, input no finer than the stage format).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from rnnaccel.quant.fakequant import OverflowStats, fake_quant
from rnnaccel.quant.qformat import QFormat, Rounding, quantize_float

__all__ = ["FFTPlan", "fft_error_bound", "rfft_q", "irfft_q", "check_fft_size"]


def check_fft_size(k: int) -> int:
    """log2(k) for a power-of-two k, else ValueError (the hardware FFT is radix-2)."""
    if not isinstance(k, int) or k < 1 or k & (k - 1):
        raise ValueError(f"fixed-point FFT needs a power-of-two block size k, got k={k!r}")
    return k.bit_length() - 1


def _bit_reverse(k: int) -> np.ndarray:
    s = check_fft_size(k)
    return np.array([int(format(i, f"0{s}b")[::-1], 2) if s else 0 for i in range(k)])


@dataclass(frozen=True)
class FFTPlan:
    """The stage matrices of a k-point DIT FFT with twiddles in ``twiddle`` (None = exact float)."""

    k: int
    twiddle: QFormat | None

    def __post_init__(self) -> None:
        check_fft_size(self.k)
        if self.twiddle is not None and self.twiddle.frac < 0:
            raise ValueError(f"twiddle format needs frac >= 0 so 1 is an exact code, got {self.twiddle}")

    @property
    def n_stages(self) -> int:
        return check_fft_size(self.k)

    @property
    def frac(self) -> int:
        """Fractional bits of the matrix entries (0 stands for an unquantized float plan)."""
        return 0 if self.twiddle is None else self.twiddle.frac

    def twiddle_value(self, j: int, span: int) -> tuple[float, float]:
        """W_span^j = exp(-2 pi i j / span) as stored: exact if trivial, else quantized."""
        if (4 * j) % span == 0:  # 1, -j, -1, j: wired, not multiplied
            quarter = (4 * j) // span
            return ((1.0, 0.0), (0.0, -1.0), (-1.0, 0.0), (0.0, 1.0))[quarter]
        ang = -2.0 * math.pi * j / span
        if self.twiddle is None:
            return math.cos(ang), math.sin(ang)
        codes, _ = quantize_float(np.array([math.cos(ang), math.sin(ang)]), self.twiddle)
        return float(codes[0]) * self.twiddle.lsb, float(codes[1]) * self.twiddle.lsb

    @cached_property
    def bit_reverse(self) -> np.ndarray:
        """Input permutation of the decimation-in-time FFT."""
        return _bit_reverse(self.k)

    def _stage(self, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Stage s (1-based): butterfly pairs (top, bottom) and their stored twiddles (re, im)."""
        half = 2 ** (s - 1)
        top = np.array([g + j for g in range(0, self.k, 2 * half) for j in range(half)], dtype=np.int64)
        tw = np.array([self.twiddle_value(j, 2 * half) for j in range(half)] * (self.k // (2 * half)))
        return top, top + half, tw[:, 0], tw[:, 1]

    @cached_property
    def stages(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]:
        """Per stage: (top, bottom, twiddle re, twiddle im, inverse permutation of [tops, bottoms]).

        A stage computes ``t = W * x[bottom]`` and outputs ``x[top] + t`` at ``top`` and
        ``x[top] - t`` at ``bottom`` (exact), then rounds.
        """
        out = []
        for s in range(1, self.n_stages + 1):
            top, bot, wr, wi = self._stage(s)
            out.append((top, bot, wr, wi, np.argsort(np.concatenate([top, bot]))))
        return tuple(out)

    @cached_property
    def int_twiddles(self) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """Stored twiddles of every stage as int64 codes at ``frac`` fractional bits."""
        scale = 2.0**self.frac
        return tuple(
            (np.rint(wr * scale).astype(np.int64), np.rint(wi * scale).astype(np.int64))
            for _, _, wr, wi, _ in self.stages
        )

    @cached_property
    def torch_stages(self) -> tuple[tuple[torch.Tensor, ...], ...]:
        return tuple(tuple(torch.from_numpy(a) for a in st) for st in self.stages)

    def stage_twiddle_stats(self, s: int) -> tuple[float, float, bool]:
        """(max |W~|, max |W~ - W|, trivial) over the twiddles of stage s."""
        half = 2 ** (s - 1)
        stored = [complex(*self.twiddle_value(j, 2 * half)) for j in range(half)]
        exact = [complex(math.cos(-math.pi * j / half), math.sin(-math.pi * j / half)) for j in range(half)]
        dev = max(abs(a - b) for a, b in zip(stored, exact, strict=True))
        trivial = all((4 * j) % (2 * half) == 0 for j in range(half))
        return max(abs(w) for w in stored), (0.0 if trivial else dev), trivial


def _run_stages(
    re: torch.Tensor,
    im: torch.Tensor,
    plan: FFTPlan,
    fmt: QFormat | None,
    stats: OverflowStats | None,
    point: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    rev = torch.from_numpy(plan.bit_reverse)
    re, im = re[..., rev], im[..., rev]
    for top, bot, wr, wi, inv in plan.torch_stages:
        ar, ai, br, bi = re[..., top], im[..., top], re[..., bot], im[..., bot]
        tr, ti = wr * br - wi * bi, wr * bi + wi * br
        re = torch.cat([ar + tr, ar - tr], -1)[..., inv]
        im = torch.cat([ai + ti, ai - ti], -1)[..., inv]
        re, im = fake_quant(re, fmt, stats, point), fake_quant(im, fmt, stats, point)
    return re, im


def rfft_q(
    x: torch.Tensor,
    plan: FFTPlan,
    fmt: QFormat | None,
    stats: OverflowStats | None = None,
    point: str = "fft",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Real input blocks (..., k) -> bins 0..k/2 as (re, im) (..., k/2+1), rounding each stage to fmt."""
    re, im = _run_stages(x, torch.zeros_like(x), plan, fmt, stats, point)
    nb = plan.k // 2 + 1
    return re[..., :nb], im[..., :nb]


def hermitian_conj(re: torch.Tensor, im: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """conj of the full Hermitian spectrum from bins 0..k/2: Z[m] = conj(Y[m]), Z[k-m] = Y[m]."""
    mirror = list(range(k // 2 - 1 + k % 2, 0, -1))
    return torch.cat([re, re[..., mirror]], -1), torch.cat([-im, im[..., mirror]], -1)


def irfft_q(
    re: torch.Tensor,
    im: torch.Tensor,
    plan: FFTPlan,
    fmt: QFormat | None,
    stats: OverflowStats | None = None,
    point: str = "ifft",
) -> torch.Tensor:
    """Bins 0..k/2 -> real blocks (..., k): conj-FFT-conj with stage rounding, then an exact /k."""
    zr, zi = hermitian_conj(re, im, plan.k)
    out_re, _ = _run_stages(zr, zi, plan, fmt, stats, point)
    return out_re / plan.k  # /k is a shift of the binary point: exact


def _round_err(fmt: QFormat) -> float:
    return fmt.lsb if fmt.rounding is Rounding.TRN else fmt.lsb / 2


def fft_error_bound(plan: FFTPlan, in_frac: int, max_abs_in: float, fmt: QFormat) -> float:
    """Worst-case |fixed - exact| per real output component of the stage pipeline (value units).

    Assumes no stage overflows. Recursion in the module docstring; divide by ``fmt.lsb`` for LSBs.
    """
    err, mag, frac = 0.0, max_abs_in, in_frac
    for s in range(1, plan.n_stages + 1):
        tmax, dev, trivial = plan.stage_twiddle_stats(s)
        exact = trivial and frac <= fmt.frac
        err = err * (1.0 + tmax) + dev * mag + (0.0 if exact else math.sqrt(2.0) * _round_err(fmt))
        mag, frac = 2.0 * mag, fmt.frac
    return err
