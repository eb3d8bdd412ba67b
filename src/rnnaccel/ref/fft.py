"""Integer (int64) fixed-point FFT/IFFT: the butterfly stages of :class:`rnnaccel.quant.fft.FFTPlan`
on codes, one :func:`requantize` per stage: the executable spec of the hardware FFT-k.

Arrays carry the FFT axis FIRST, ``(k, ...)``: a butterfly then reads and writes whole contiguous
rows, and the bins axis of the result is directly the batch axis of the frequency-domain MAC.
Internally real and imaginary parts travel together as ``(k, 2, ...)`` ("stacked"), so that a stage
is a handful of numpy operations over every block and utterance at once and one rounding call.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import EXACT_LIMIT, QFormat
from rnnaccel.ref.rounding import requantize_fast

__all__ = ["rfft_int", "irfft_int"]


def _round(v: np.ndarray, frac: int, fmt: QFormat, stats: OverflowStats, point: str) -> np.ndarray:
    codes, n = requantize_fast(v, frac, fmt)
    stats.add(point, n)
    return codes


def _wired_butterflies(top: np.ndarray, bot: np.ndarray, out: np.ndarray) -> None:
    """``top +- W bot`` into ``out`` (groups, 2, h, 2, ...) for wired twiddles (h = 1: W = 1; h = 2:
    W = 1, -j with (-j)(a + jb) = b - ja): adds and subtracts only, written in place by ufuncs
    (no temporaries; plain copies are avoided, numpy's memcpy path is erratic on this hardware)."""
    np.add(top[:, 0], bot[:, 0], out=out[:, 0, 0])
    np.subtract(top[:, 0], bot[:, 0], out=out[:, 1, 0])
    if top.shape[1] == 2:
        np.add(top[:, 1, 0], bot[:, 1, 1], out=out[:, 0, 1, 0])
        np.subtract(top[:, 1, 1], bot[:, 1, 0], out=out[:, 0, 1, 1])
        np.subtract(top[:, 1, 0], bot[:, 1, 1], out=out[:, 1, 1, 0])
        np.add(top[:, 1, 1], bot[:, 1, 0], out=out[:, 1, 1, 1])


def _twiddle_product(bot: np.ndarray, wr: np.ndarray, wi: np.ndarray) -> np.ndarray:
    """Exact complex ``W * bot``: stored twiddle codes ``wr, wi`` (h,), ``bot`` (groups, h, 2, ...)."""
    shape = (-1,) + (1,) * (bot.ndim - 3)
    wr, wi = wr.reshape(shape), wi.reshape(shape)
    br, bi = bot[:, :, 0], bot[:, :, 1]
    t = np.empty_like(bot)
    np.multiply(br, wr, out=t[:, :, 0])
    t[:, :, 0] -= bi * wi
    np.multiply(bi, wr, out=t[:, :, 1])
    t[:, :, 1] += br * wi
    return t


def _stage(z: np.ndarray, s: int, plan: FFTPlan) -> tuple[np.ndarray, int]:
    """Butterflies ``A + W B``, ``A - W B`` of DIT stage ``s`` on stacked ``z`` (k, 2, ...), exact.

    Returns the exact outputs and how many fractional bits they gained (the twiddle's, or 0 when
    every twiddle of the stage is wired: then no product is formed, as in the hardware).
    """
    half = 1 << (s - 1)
    v = z.reshape(plan.k // (2 * half), 2, half, *z.shape[1:])  # (groups, top|bottom, h, 2, ...)
    top, bot = v[:, 0], v[:, 1]
    out = np.empty(v.shape, np.int64)
    if half <= 2:  # twiddles 1 and -j only
        _wired_butterflies(top, bot, out)
        return out.reshape(z.shape), 0
    wr, wi = plan.int_twiddles[s - 1]
    t, top = _twiddle_product(bot, wr[:half], wi[:half]), top << plan.frac
    np.add(top, t, out=out[:, 0])
    np.subtract(top, t, out=out[:, 1])
    return out.reshape(z.shape), plan.frac


def _fused_stages(plan: FFTPlan, frac: int, fmt: QFormat, max_abs_in: int) -> int:
    """How many leading stages run as one exact linear map: the wired stages whose rounding is
    provably a no-op (input already at ``fmt.frac``, signed format, |outputs| <= 2**s max|input|
    below ``code_max``), plus the next stage, which is rounded as usual."""
    if plan.n_stages == 0:
        return 0
    exact = 0
    limit = min(2, plan.n_stages - 1) if frac == fmt.frac and fmt.signed else 0
    while exact < limit and max_abs_in << (exact + 1) <= fmt.code_max:
        exact += 1
    return exact + 1


@cache
def _gather_matrix(k: int, inverse: bool) -> np.ndarray:
    """Integer (2k, inputs) map onto the bit-reversed stacked FFT input (k, 2): for the forward
    FFT, real blocks (k,); for the inverse, conj of the Hermitian spectrum from bins (k/2+1, 2):
    Z[m] = conj(Y[m]), Z[k-m] = Y[m]."""
    rev = FFTPlan(k, None).bit_reverse
    if not inverse:
        g = np.zeros((k, 2, k), np.int64)
        g[np.arange(k), 0, rev] = 1
        return g.reshape(2 * k, k)
    mirror = list(range(k // 2 - 1 + k % 2, 0, -1))
    src = np.array(list(range(k // 2 + 1)) + mirror)[rev]
    sign = np.array([-1] * (k // 2 + 1) + [1] * len(mirror))[rev]
    g = np.zeros((k, 2, k // 2 + 1, 2), np.int64)
    g[np.arange(k), 0, src, 0] = 1
    g[np.arange(k), 1, src, 1] = sign
    return g.reshape(2 * k, 2 * (k // 2 + 1))


@cache
def _prefix_matrix(plan: FFTPlan, inverse: bool, n_stages: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The gather and the exact butterflies of stages 1..n_stages as one integer matrix (2k, inputs),
    made by running :func:`_stage` on the gather's columns; also as float64, its max row L1 norm
    (times max |input| it bounds every partial sum) and the frac it gains."""
    g = _gather_matrix(plan.k, inverse)
    z, gained = g.reshape(plan.k, 2, -1), 0
    for s in range(1, n_stages + 1):
        z, gained = _stage(z, s, plan)
    m = z.reshape(g.shape)
    return m, m.astype(np.float64), int(np.abs(m).sum(1).max()), gained


def _transform(
    x: np.ndarray, frac: int, inverse: bool, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str
) -> tuple[np.ndarray, int]:
    """Real blocks (k, ...) or stacked bins (k/2+1, 2, ...) -> stacked FFT output (k, 2, ...) and its
    frac: the gather and leading stages fused into one exact matrix product (float64 BLAS when every
    partial sum stays below 2**53), each later stage butterflies + rounding."""
    rest = x.shape[2:] if inverse else x.shape[1:]
    flat = x.reshape(-1, math.prod(rest))
    amax = max(-int(flat.min(initial=0)), int(flat.max(initial=0)))
    fused = _fused_stages(plan, frac, fmt, amax)
    m_int, m_f64, row_l1, gained = _prefix_matrix(plan, inverse, fused)
    if row_l1 * amax < EXACT_LIMIT:
        z = (m_f64 @ flat.astype(np.float64)).astype(np.int64)
    else:
        z = m_int @ flat
    z = z.reshape(plan.k, 2, *rest)
    if fused:
        z, frac = _round(z, frac + gained, fmt, stats, point), fmt.frac
    for s in range(fused + 1, plan.n_stages + 1):
        z, gained = _stage(z, s, plan)
        z, frac = _round(z, frac + gained, fmt, stats, point), fmt.frac
    return z, frac


def rfft_stacked(
    x: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str = "fft"
) -> tuple[np.ndarray, int]:
    """Real blocks ``(k, ...)`` in natural order -> stacked bins ``(k/2+1, 2, ...)`` and their frac."""
    z, out_frac = _transform(x, frac, False, plan, fmt, stats, point)
    return z[: plan.k // 2 + 1], out_frac


def irfft_stacked(
    z: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str = "ifft"
) -> tuple[np.ndarray, int]:
    """Stacked bins ``(k/2+1, 2, ...)`` -> real blocks ``(k, ...)`` by conj-FFT-conj; /k is a frac shift."""
    out, out_frac = _transform(z, frac, True, plan, fmt, stats, point)
    return out[:, 0], out_frac + plan.n_stages


def rfft_int(
    x: np.ndarray, frac: int, plan: FFTPlan, fmt: QFormat, stats: OverflowStats, point: str = "fft"
) -> tuple[np.ndarray, np.ndarray, int]:
    """Real code blocks ``(k, ...)`` at ``frac`` -> bins 0..k/2 ``(k/2+1, ...)`` (re, im) and their frac."""
    z, out_frac = rfft_stacked(np.asarray(x, np.int64), frac, plan, fmt, stats, point)
    return z[:, 0], z[:, 1], out_frac


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
    z = np.stack([np.asarray(re, np.int64), np.asarray(im, np.int64)], 1)
    return irfft_stacked(z, frac, plan, fmt, stats, point)
