"""Integer (int64) fixed-point FFT/IFFT: the stage matrices of :class:`rnnaccel.quant.fft.FFTPlan`
applied to codes, one :func:`requantize` per stage — the executable spec of the hardware FFT-k."""

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
    """Apply every stage: exact complex product with the int matrices, then round to ``fmt``."""
    for mr, mi in plan.int_stages:
        mrt, mit = mr.T, mi.T
        new_re, new_im = re @ mrt - im @ mit, re @ mit + im @ mrt
        re = _round(new_re, frac + plan.frac, fmt, stats, point)
        im = _round(new_im, frac + plan.frac, fmt, stats, point)
        frac = fmt.frac
    return re, im, frac


def rfft_int(
    x: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str = "fft"
) -> tuple[np.ndarray, np.ndarray, int]:
    """Real code blocks (..., k) at ``frac`` -> bins 0..k/2 (re, im) codes and their frac."""
    x = np.asarray(x, np.int64)
    re, im, out_frac = _run_stages(x, np.zeros_like(x), frac, plan, fmt, stats, point)
    nb = plan.k // 2 + 1
    return re[..., :nb], im[..., :nb], out_frac


def irfft_int(
    re: np.ndarray,
    im: np.ndarray,
    frac: int,
    plan: FFTPlan,
    fmt: QFormat,
    stats: OverflowStats,
    point: str = "ifft",
) -> tuple[np.ndarray, int]:
    """Bins 0..k/2 codes -> real blocks (..., k) by conj-FFT-conj; /k folds into the returned frac."""
    k = plan.k
    mirror = list(range(k // 2 - 1 + k % 2, 0, -1))
    zr = np.concatenate([re, re[..., mirror]], -1)
    zi = np.concatenate([-im, im[..., mirror]], -1)
    out_re, _, out_frac = _run_stages(zr, zi, frac, plan, fmt, stats, point)
    return out_re, out_frac + plan.n_stages
