"""Integer (int64) fixed-point FFT/IFFT: the butterfly stages of :class:`rnnaccel.quant.fft.FFTPlan`
on codes, one :func:`requantize` per stage: the executable spec of the hardware FFT-k.

Arrays carry the FFT axis FIRST, ``(k, ...)``: a butterfly then reads and writes whole contiguous
rows, and the bins axis of the result is directly the batch axis of the frequency-domain MAC.
"""

from __future__ import annotations

import numpy as np

from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import QFormat, requantize

__all__ = ["rfft_int", "irfft_int"]


def _round(v: np.ndarray, frac: int, fmt: QFormat, stats: OverflowStats, point: str) -> np.ndarray:
    codes, n = requantize(v, frac, fmt)
    stats.add(point, n)
    return codes


def _run_stages(
    re: np.ndarray, im: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str
) -> tuple[np.ndarray, np.ndarray, int]:
    """Bit reversal, then per stage: exact butterflies ``A + W B``, ``A - W B``, round to ``fmt``."""
    re, im = re[plan.bit_reverse], im[plan.bit_reverse]
    bshape = (-1,) + (1,) * (re.ndim - 1)
    for (top, bot, _, _, _), (wr, wi) in zip(plan.stages, plan.int_twiddles, strict=True):
        wr, wi = wr.reshape(bshape), wi.reshape(bshape)
        ar, ai = re[top] << plan.frac, im[top] << plan.frac
        br, bi = re[bot], im[bot]
        tr, ti = wr * br - wi * bi, wr * bi + wi * br
        new_re, new_im = np.empty_like(re), np.empty_like(im)
        new_re[top], new_re[bot] = ar + tr, ar - tr
        new_im[top], new_im[bot] = ai + ti, ai - ti
        re = _round(new_re, frac + plan.frac, fmt, stats, point)
        im = _round(new_im, frac + plan.frac, fmt, stats, point)
        frac = fmt.frac
    return re, im, frac


def rfft_int(
    x: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str = "fft"
) -> tuple[np.ndarray, np.ndarray, int]:
    """Real code blocks ``(k, ...)`` at ``frac`` -> bins 0..k/2 ``(k/2+1, ...)`` (re, im) and their frac."""
    x = np.asarray(x, np.int64)
    re, im, out_frac = _run_stages(x, np.zeros_like(x), frac, plan, fmt, stats, point)
    nb = plan.k // 2 + 1
    return re[:nb], im[:nb], out_frac


def irfft_int(
    re: np.ndarray,
    im: np.ndarray,
    frac: int,
    plan: FFTPlan,
    fmt: QFormat,
    stats: OverflowStats,
    point: str = "ifft",
) -> tuple[np.ndarray, int]:
    """Bins ``(k/2+1, ...)`` -> real blocks ``(k, ...)`` by conj-FFT-conj; /k folds into the frac."""
    k = plan.k
    mirror = list(range(k // 2 - 1 + k % 2, 0, -1))
    zr = np.concatenate([re, re[mirror]], 0)
    zi = np.concatenate([-im, im[mirror]], 0)
    out_re, _, out_frac = _run_stages(zr, zi, frac, plan, fmt, stats, point)
    return out_re, out_frac + plan.n_stages
