"""Compiled (numba) int64 kernels of the fast integer engine (:mod:`rnnaccel.ref.fast`).

The arithmetic is the one of :mod:`rnnaccel.ref.engine` / :mod:`rnnaccel.ref.fft`, step for step:
exact int64 products and sums, one :func:`rnnaccel.quant.qformat.requantize` (shift-round, then
saturate or wrap, overflow counted) at each named point, every FFT/IFFT stage rounded. Arrays are
``(rows, batch)`` with the batch innermost, so every loop over the batch is a SIMD loop; only the
first ``n`` columns (the utterances still running at this timestep) are touched. A TRN/RND rounding
without wrap rounds in place and tracks only the range of the exact values; rounding is monotone, so
the rounded range says whether any code leaves the format, and only then a second pass saturates and
counts (:func:`_settle`): the same codes and counts as saturating and counting each value.

A format is a row of ``fmts``: (frac, code_min, code_max, rounding, wrap, bits), rounding 0 = TRN,
1 = RND, 2 = RND_CONV. ``counts[point]`` accumulates overflows; ``flags[0]`` is set when an exact
value reaches 2**53 before a rounding (the reference engine raises there; so does the caller).

A role is a tuple (circulant, dense (out, in) int32, w_re, w_im (p, q, k/2+1) int32, bias int64,
prm int64, bit reversal int64 (k,), twiddle re, im int64 (stages, k/2)); ``prm`` holds
k, in, out, p, q, stages, has_bias, y_shift, b_shift, fft_shift1, mac_shift, ifft_shift1,
twiddle frac, fft point, freq_acc point, ifft point.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["run_gru_direction", "run_lstm_direction"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}
_LIMIT = 2**53
K, IN, OUT, P, Q, NST, HASB, YSH, BSH, FSH, MSH, ISH, PF, PFFT, PACC, PIFFT = range(16)


@njit(**_JIT)
def _round_rows(z, r0, r1, n, shift, fmts, pid, counts, flags):
    """``requantize`` rows r0..r1 (first n columns) of exact values at +shift frac to format ``pid``,
    in place. TRN/RND without wrap with shift >= 0 (the common case) is one pass that rounds and only
    tracks the range of the exact values (rounding is monotone, so that range decides whether any
    code leaves the format); only when one does, a second pass saturates and counts
    (:func:`_saturate_rows`). The other modes keep one loop per mode; wrapping formats take a second
    pass (:func:`_wrap_rows`)."""
    mode, wrap = fmts[pid, 3], fmts[pid, 4]
    if mode < 2 and wrap == 0 and shift >= 0:
        _round_fast(z, r0, r1, n, shift, fmts, pid, counts, flags)
    else:
        _round_slow(z, r0, r1, n, shift, fmts, pid, counts, flags)


@njit(**_JIT)
def _up(mode, shift):
    """What is added before the shift: half an lsb for RND, 0 for TRN (and for shift 0)."""
    return (np.int64(1) << (shift - 1)) if (mode == 1 and shift > 0) else np.int64(0)


@njit(**_JIT)
def _settle(z, r0, r1, n, vmin, vmax, up, shift, fmts, pid, counts, flags):
    """After a rounding pass that left codes unsaturated: flag 2**53 from the exact range
    [vmin, vmax], and saturate and count rows r0..r1 when the rounded range leaves the format."""
    lo, hi = fmts[pid, 1], fmts[pid, 2]
    if vmax >= _LIMIT or vmin <= -_LIMIT:
        flags[0] = 1
    if ((vmin + up) >> shift) < lo or ((vmax + up) >> shift) > hi:
        counts[pid] += _saturate_rows(z, r0, r1, n, lo, hi)


@njit(**_JIT)
def _saturate_rows(z, r0, r1, n, lo, hi):
    """Saturate rows r0..r1 of rounded codes to [lo, hi]; returns how many were outside."""
    cnt = 0
    for r in range(r0, r1):
        row = z[r]
        for b in range(n):
            v = row[b]
            cnt += (v < lo) | (v > hi)
            row[b] = min(max(v, lo), hi)
    return cnt


@njit(**_JIT)
def _round_fast(z, r0, r1, n, shift, fmts, pid, counts, flags):
    """TRN/RND, no wrap, shift >= 0: round in place tracking the exact range, then :func:`_settle`."""
    up = _up(fmts[pid, 3], shift)
    vmin, vmax = np.int64(0), np.int64(0)
    for r in range(r0, r1):
        row = z[r]
        if shift == 0:
            for b in range(n):
                v = row[b]
                vmin, vmax = min(vmin, v), max(vmax, v)
        else:
            for b in range(n):
                v = row[b]
                vmin, vmax = min(vmin, v), max(vmax, v)
                row[b] = (v + up) >> shift
    _settle(z, r0, r1, n, vmin, vmax, up, shift, fmts, pid, counts, flags)


@njit(**_JIT)
def _round_slow(z, r0, r1, n, shift, fmts, pid, counts, flags):
    """``requantize`` in one pass per row (one loop per rounding mode), counting per value."""
    lo, hi, mode, wrap = fmts[pid, 1], fmts[pid, 2], fmts[pid, 3], fmts[pid, 4]
    if wrap:
        lo, hi = -_LIMIT, _LIMIT
    cnt, big = 0, 0
    up = np.int64(1) << max(shift - 1, 0)
    for r in range(r0, r1):
        row = z[r]
        if shift <= 0:
            left = -shift
            for b in range(n):
                v = row[b]
                big |= (v >= _LIMIT) | (v <= -_LIMIT)
                v = v << left
                cnt += (v < lo) | (v > hi)
                row[b] = min(max(v, lo), hi)
        elif mode == 1:
            for b in range(n):
                v = row[b]
                big |= (v >= _LIMIT) | (v <= -_LIMIT)
                v = (v + up) >> shift
                cnt += (v < lo) | (v > hi)
                row[b] = min(max(v, lo), hi)
        elif mode == 0:
            for b in range(n):
                v = row[b]
                big |= (v >= _LIMIT) | (v <= -_LIMIT)
                v = v >> shift
                cnt += (v < lo) | (v > hi)
                row[b] = min(max(v, lo), hi)
        else:
            for b in range(n):
                v = row[b]
                big |= (v >= _LIMIT) | (v <= -_LIMIT)
                q = v >> shift
                rem = v - (q << shift)
                v = q + ((rem > up) | ((rem == up) & ((q & 1) == 1)))
                cnt += (v < lo) | (v > hi)
                row[b] = min(max(v, lo), hi)
    if big:
        flags[0] = 1
    if wrap:
        cnt = _wrap_rows(z, r0, r1, n, fmts, pid)
    counts[pid] += cnt


@njit(**_JIT)
def _wrap_rows(z, r0, r1, n, fmts, pid):
    """The WRAP overflow mode (keep the low ``bits`` bits, two's complement); returns the count."""
    lo, hi = fmts[pid, 1], fmts[pid, 2]
    mask = (np.int64(1) << fmts[pid, 5]) - 1
    cnt = 0
    for r in range(r0, r1):
        row = z[r]
        for b in range(n):
            v = row[b]
            cnt += (v < lo) | (v > hi)
            row[b] = ((v - lo) & mask) + lo
    return cnt


@njit(**_JIT)
def _butterflies(zr, zi, blk, k, s, twr, twi, pf, n):
    """DIT stage ``s`` in place on block ``blk``: ``A + W B``, ``A - W B`` exact (wired W = 1, -j)."""
    h = 1 << (s - 1)
    for g in range(0, k, 2 * h):
        for jj in range(h):
            t, u = blk * k + g + jj, blk * k + g + jj + h
            ar, ai, br, bi = zr[t], zi[t], zr[u], zi[u]
            if h <= 2 and jj == 0:
                for b in range(n):
                    xr, xi, yr, yi = ar[b], ai[b], br[b], bi[b]
                    ar[b], ai[b], br[b], bi[b] = xr + yr, xi + yi, xr - yr, xi - yi
            elif h <= 2:  # W = -j: (-j)(a + jb) = b - ja
                for b in range(n):
                    xr, xi, yr, yi = ar[b], ai[b], bi[b], -br[b]
                    ar[b], ai[b], br[b], bi[b] = xr + yr, xi + yi, xr - yr, xi - yi
            else:
                wr, wi = twr[s - 1, jj], twi[s - 1, jj]
                for b in range(n):
                    xr, xi = ar[b] << pf, ai[b] << pf
                    yr = wr * br[b] - wi * bi[b]
                    yi = wr * bi[b] + wi * br[b]
                    ar[b], ai[b], br[b], bi[b] = xr + yr, xi + yi, xr - yr, xi - yi


@njit(inline="always", **_JIT)
def _bf_store(ar, ai, br, bi, b, p0, p1, p2, p3, up, shift):
    """Store the four rounded (not yet saturated) butterfly outputs at column b."""
    ar[b], ai[b] = (p0 + up) >> shift, (p1 + up) >> shift
    br[b], bi[b] = (p2 + up) >> shift, (p3 + up) >> shift


@njit(**_JIT)
def _bf_rounded(ar, ai, br, bi, n, wr, wi, pf, kind, up, shift, vmin, vmax):
    """One column loop of butterflies ``A +- W B`` with the stage rounding fused in (TRN: up = 0, RND:
    up = half an lsb; shift >= 0), codes left unsaturated; kind 0: W = 1, 1: W = -j, 2: stored
    twiddle (wr, wi). One loop per kind (a branch inside the loop would be if-converted into computing
    all three). Returns the range of the exact outputs, widened from (vmin, vmax)."""
    if kind == 0:
        for b in range(n):
            xr, xi, yr, yi = ar[b], ai[b], br[b], bi[b]
            p0, p1, p2, p3 = xr + yr, xi + yi, xr - yr, xi - yi
            vmin = min(vmin, min(min(p0, p1), min(p2, p3)))
            vmax = max(vmax, max(max(p0, p1), max(p2, p3)))
            _bf_store(ar, ai, br, bi, b, p0, p1, p2, p3, up, shift)
    elif kind == 1:
        for b in range(n):
            xr, xi, yr, yi = ar[b], ai[b], bi[b], -br[b]
            p0, p1, p2, p3 = xr + yr, xi + yi, xr - yr, xi - yi
            vmin = min(vmin, min(min(p0, p1), min(p2, p3)))
            vmax = max(vmax, max(max(p0, p1), max(p2, p3)))
            _bf_store(ar, ai, br, bi, b, p0, p1, p2, p3, up, shift)
    else:
        for b in range(n):
            xr, xi = ar[b] << pf, ai[b] << pf
            yr = wr * br[b] - wi * bi[b]
            yi = wr * bi[b] + wi * br[b]
            p0, p1, p2, p3 = xr + yr, xi + yi, xr - yr, xi - yi
            vmin = min(vmin, min(min(p0, p1), min(p2, p3)))
            vmax = max(vmax, max(max(p0, p1), max(p2, p3)))
            _bf_store(ar, ai, br, bi, b, p0, p1, p2, p3, up, shift)
    return vmin, vmax


@njit(**_JIT)
def _butterflies_rounded(zr, zi, blk, k, s, twr, twi, pf, n, shift, up):
    """:func:`_butterflies` with the stage rounding fused in (see :func:`_bf_rounded`); returns the
    range of the exact outputs of the block."""
    h = 1 << (s - 1)
    vmin, vmax = np.int64(0), np.int64(0)
    for g in range(0, k, 2 * h):
        for jj in range(h):
            t, u = blk * k + g + jj, blk * k + g + jj + h
            kind = (0 if jj == 0 else 1) if h <= 2 else 2
            vmin, vmax = _bf_rounded(zr[t], zi[t], zr[u], zi[u], n, twr[s - 1, jj], twi[s - 1, jj], pf,
                                     kind, up, shift, vmin, vmax)
    return vmin, vmax


@njit(**_JIT)
def _max_abs(zr, zi, rows, n):
    m = 0
    for r in range(rows):
        for b in range(n):
            m = max(m, abs(zr[r, b]), abs(zi[r, b]))
    return m


@njit(**_JIT)
def _exact_stages(zr, zi, rows, n, k, shift1, lo, hi):
    """How many leading stages need no rounding: wired (W = 1, -j: stages 1 and 2), rounding shift 0,
    and 2**s max|input| inside the format, so that no value can overflow (as ``ref.fft._fused_stages``)."""
    if shift1 != 0:
        return 0
    amax, exact = _max_abs(zr, zi, rows, n), 0
    while exact < 2 and (1 << exact) < k and (amax << (exact + 1)) <= min(hi, -lo):
        exact += 1
    return exact


@njit(**_JIT)
def _stages(zr, zi, nblk, role, shift1, pid, n, fmts, counts, flags):
    """Every stage of the transform of ``nblk`` blocks, each rounded to format ``pid``; one block at a
    time, so that its rows stay in the L1 cache through all of its stages. Leading stages whose
    rounding provably changes nothing (:func:`_exact_stages`) are butterflies only."""
    prm, twr, twi = role[5], role[7], role[8]
    k, pf = prm[K], prm[PF]
    lo, hi, mode, wrap = fmts[pid, 1], fmts[pid, 2], fmts[pid, 3], fmts[pid, 4]
    exact = _exact_stages(zr, zi, nblk * k, n, k, shift1, lo, hi)
    for blk in range(nblk):
        r0, r1 = blk * k, blk * k + k
        for s in range(1, prm[NST] + 1):
            if s <= exact:
                _butterflies(zr, zi, blk, k, s, twr, twi, pf, n)
                continue
            shift = shift1 if s == 1 else (pf if (1 << (s - 1)) > 2 else 0)
            if mode < 2 and wrap == 0 and shift >= 0:
                up = _up(mode, shift)
                vmin, vmax = _butterflies_rounded(zr, zi, blk, k, s, twr, twi, pf, n, shift, up)
                _settle(zr, r0, r1, n, vmin, vmax, up, shift, fmts, pid, counts, flags)
                _settle(zi, r0, r1, n, vmin, vmax, up, shift, fmts, pid, counts, flags)
                continue
            _butterflies(zr, zi, blk, k, s, twr, twi, pf, n)
            _round_rows(zr, r0, r1, n, shift, fmts, pid, counts, flags)
            _round_rows(zi, r0, r1, n, shift, fmts, pid, counts, flags)


@njit(**_JIT)
def _fft_in(role, x, n, zr, zi):
    """Zero-padded input blocks in bit-reversed order (real), imaginary parts zero."""
    prm, rev = role[5], role[6]
    k, nin = prm[K], prm[IN]
    for j in range(prm[Q]):
        for i in range(k):
            src, dr, di = j * k + rev[i], zr[j * k + i], zi[j * k + i]
            for b in range(n):
                dr[b] = x[src, b] if src < nin else 0
                di[b] = 0


@njit(**_JIT)
def _mac(role, zr, zi, n, xr, xi, accr, acci):
    """acc[i, f] = sum_j W[i, j, f] X[j, f] (complex, exact) from the bins of the input FFTs."""
    prm, wr, wi = role[5], role[2], role[3]
    k, nb = prm[K], prm[K] // 2 + 1
    for j in range(prm[Q]):
        for f in range(nb):
            for b in range(n):
                xr[j * nb + f, b] = zr[j * k + f, b]
                xi[j * nb + f, b] = zi[j * k + f, b]
    for i in range(prm[P]):
        for f in range(nb):
            ar, ai = accr[i * nb + f], acci[i * nb + f]
            for b in range(n):
                ar[b] = 0
                ai[b] = 0
            for j in range(prm[Q]):
                a, c = np.int64(wr[i, j, f]), np.int64(wi[i, j, f])
                vr, vi = xr[j * nb + f], xi[j * nb + f]
                for b in range(n):
                    ar[b] += a * np.int64(vr[b]) - c * np.int64(vi[b])
                    ai[b] += a * np.int64(vi[b]) + c * np.int64(vr[b])


@njit(**_JIT)
def _ifft_in(role, accr, acci, n, zr, zi):
    """conj of each output block's Hermitian spectrum, bit reversed: Z[m] = conj(Y[m]), Z[k-m] = Y[m]."""
    prm, rev = role[5], role[6]
    k, nb = prm[K], prm[K] // 2 + 1
    for i in range(prm[P]):
        for t in range(k):
            m = rev[t]
            src, sign = (m, -1) if m < nb else (k - m, 1)
            yr, yi, dr, di = accr[i * nb + src], acci[i * nb + src], zr[i * k + t], zi[i * k + t]
            for b in range(n):
                dr[b] = yr[b]
                di[b] = sign * yi[b]


@njit(**_JIT)
def _circulant(role, x, n, out, ws, fmts, counts, flags):
    """C-LSTM dataflow of one circulant role on x (in, B): exact ``W x`` (out, B), before the bias."""
    prm = role[5]
    zr, zi, xr, xi, accr, acci = ws
    _fft_in(role, x, n, zr, zi)
    _stages(zr, zi, prm[Q], role, prm[FSH], prm[PFFT], n, fmts, counts, flags)
    _mac(role, zr, zi, n, xr, xi, accr, acci)
    nbp = prm[P] * (prm[K] // 2 + 1)
    _round_rows(accr, 0, nbp, n, prm[MSH], fmts, prm[PACC], counts, flags)
    _round_rows(acci, 0, nbp, n, prm[MSH], fmts, prm[PACC], counts, flags)
    _ifft_in(role, accr, acci, n, zr, zi)
    _stages(zr, zi, prm[P], role, prm[ISH], prm[PIFFT], n, fmts, counts, flags)
    for o in range(prm[OUT]):
        for b in range(n):
            out[o, b] = zr[o, b]


@njit(**_JIT)
def _dense(role, x, n, out):
    """Exact ``W x`` of a dense (or pruned: zero weights skipped) role."""
    w = role[1]
    for o in range(w.shape[0]):
        row = out[o]
        for b in range(n):
            row[b] = 0
        for i in range(w.shape[1]):
            c = np.int64(w[o, i])
            if c != 0:
                xi = x[i]
                for b in range(n):
                    row[b] += c * xi[b]


@njit(**_JIT)
def _apply(role, x, n, out, ws, fmts, counts, flags):
    """Exact ``W x + b`` of a role into out (out, B), at the role's output frac (see prm)."""
    prm = role[5]
    if role[0]:
        _circulant(role, x, n, out, ws, fmts, counts, flags)
    else:
        _dense(role, x, n, out)
    if prm[HASB]:
        bias, ys, bs = role[4], prm[YSH], prm[BSH]
        for o in range(prm[OUT]):
            bo = bias[o] << bs
            for b in range(n):
                out[o, b] = (out[o, b] << ys) + bo


def _workspace(role, batch):
    """Scratch arrays of one role's circulant pipeline (empty for dense roles)."""
    prm = role[5]
    k, nb, p, q = prm[K], prm[K] // 2 + 1, prm[P], prm[Q]
    on = 1 if role[0] else 0
    zrows, xrows, arows = on * max(p, q) * k, on * q * nb, on * p * nb
    return (np.empty((zrows, batch), np.int64), np.empty((zrows, batch), np.int64),
            np.empty((xrows, batch), np.int32), np.empty((xrows, batch), np.int32),
            np.empty((arows, batch), np.int64), np.empty((arows, batch), np.int64))


_workspace_jit = njit(**_JIT)(_workspace)


@njit(**_JIT)
def _pwl(src, r0, dst, d0, rows, n, in_frac, tab, pid, fmts, counts, flags):
    """PWL activation (``PWLActivation.eval_int``) of rows src[r0:r0+rows] into dst[d0:d0+rows], then
    rounded to format ``pid``; uniform breakpoints b_i = b_0 + i w, so the region is arithmetic:
    ``clip(floor((x - b_0) / w) + 1, 0, nseg + 1)``. ``base << f + slope (x - start << st)`` is
    evaluated as ``offset + slope x`` with the offset per region precomputed (equal mod 2**64)."""
    starts, bases, slopes, tp = tab
    tfrac, b0, w, nseg, log2w = tp[0], tp[1], tp[2], tp[3], tp[4]
    f = max(in_frac, tfrac)
    sx, st = f - in_frac, f - tfrac
    b0f, wf, top = b0 << st, w << st, nseg + 1
    offs = (bases << f) - slopes * (starts << st)
    for r in range(rows):
        s, d = src[r0 + r], dst[d0 + r]
        if log2w >= 0:
            rsh = log2w + st
            for b in range(n):
                x = s[b] << sx
                reg = max(min(((x - b0f) >> rsh) + 1, top), 0)
                d[b] = offs[reg] + slopes[reg] * x
        else:
            for b in range(n):
                x = s[b] << sx
                reg = max(min((x - b0f) // wf + 1, top), 0)
                d[b] = offs[reg] + slopes[reg] * x
    _round_rows(dst, d0, d0 + rows, n, tfrac + f - fmts[pid, 0], fmts, pid, counts, flags)


@njit(**_JIT)
def _add2(a, ra, sa, b, rb, sb, dst, rd, rows, n):
    """dst[rd + r] = (a[ra + r] << sa) + (b[rb + r] << sb): aligning two exact values to a common frac."""
    for r in range(rows):
        x, y, d = a[ra + r], b[rb + r], dst[rd + r]
        for c in range(n):
            d[c] = (x[c] << sa) + (y[c] << sb)


@njit(**_JIT)
def _mul2(a, ra, b, rb, dst, rd, rows, n):
    """dst[rd + r] = a[ra + r] * b[rb + r] (exact products of codes)."""
    for r in range(rows):
        x, y, d = a[ra + r], b[rb + r], dst[rd + r]
        for c in range(n):
            d[c] = x[c] * y[c]


@njit(**_JIT)
def _peephole(pre, r0, w, c, sp, sc, dst, hidden, n):
    """dst = (pre[r0:r0+H] << sp) + (w_c* * c << sc): the peephole term of one gate, exact."""
    for r in range(hidden):
        x, y, d, wr = pre[r0 + r], c[r], dst[r], w[r]
        for b in range(n):
            d[b] = (x[b] << sp) + ((wr * y[b]) << sc)


@njit(**_JIT)
def _gate(src, r0, hidden, shift, tab, act, a0, sh, pwl_pid, fmts, counts, flags, n):
    """q_gate_acc of src[r0:r0+H] (in place) then the PWL activation into act[a0:a0+H]."""
    _round_rows(src, r0, r0 + hidden, n, shift, fmts, sh[13], counts, flags)
    _pwl(src, r0, act, a0, hidden, n, sh[11], tab, pwl_pid, fmts, counts, flags)


@njit(**_JIT)
def _lstm_cell(pre, c, peep, has_peep, sig, tanh, sh, fmts, counts, flags, bufs, hidden, n):
    """The LSTM update from the exact pre-activation ``pre`` (4H, B); new c into bufs[1], m into bufs[2]."""
    act, cn, m, tmp = bufs
    h = hidden
    for gi, r0 in ((0, 0), (1, h)):
        if has_peep:
            _peephole(pre, r0, peep[gi], c, sh[3], sh[4], tmp, h, n)
            _gate(tmp, 0, h, sh[5], sig, act, r0, sh, sh[14], fmts, counts, flags, n)
        else:
            _gate(pre, r0, h, sh[2], sig, act, r0, sh, sh[14], fmts, counts, flags, n)
    _gate(pre, 2 * h, h, sh[2], tanh, act, 2 * h, sh, sh[15], fmts, counts, flags, n)
    for r in range(h):  # c = q_cell(f c + i g)
        f, i, g, cp, d = act[h + r], act[r], act[2 * h + r], c[r], cn[r]
        for b in range(n):
            d[b] = ((f[b] * cp[b]) << sh[6]) + ((i[b] * g[b]) << sh[7])
    _round_rows(cn, 0, h, n, sh[8], fmts, sh[16], counts, flags)
    if has_peep:
        _peephole(pre, 3 * h, peep[2], cn, sh[3], sh[4], tmp, h, n)
        _gate(tmp, 0, h, sh[5], sig, act, 3 * h, sh, sh[14], fmts, counts, flags, n)
    else:
        _gate(pre, 3 * h, h, sh[2], sig, act, 3 * h, sh, sh[14], fmts, counts, flags, n)
    _pwl(cn, 0, tmp, 0, h, n, sh[12], tanh, sh[15], fmts, counts, flags)
    _mul2(act, 3 * h, tmp, 0, m, 0, h, n)
    _round_rows(m, 0, h, n, sh[9], fmts, sh[17], counts, flags)


@njit(**_JIT)
def _commit(src, dst, rows, n):
    for r in range(rows):
        for b in range(n):
            dst[r, b] = src[r, b]


@njit(**_JIT)
def _tile_cols(nact_t, tile, j):
    """Active columns of tile j when the first nact_t columns of the batch run."""
    return min(max(nact_t - j * tile, 0), tile)


@njit(**_JIT)
def run_lstm_direction(x, nact, reverse, roles, has_proj, peep, has_peep, tabs, sh, dims, fmts, counts,
                       flags, out, off, y, c):
    """One LSTM direction over x (T, tiles, in, tile): outputs into out[t, j, off:off+out_w], final
    (y, c) (tiles, rows, tile) in place. At step t only the first nact[t] columns of the batch run
    (utterances sorted by length, longest first); tiles keep every work array in the L1/L2 cache."""
    ih, hh, proj = roles
    sig, tanh = tabs
    steps, tiles, tile = x.shape[0], x.shape[1], x.shape[3]
    hidden, out_w = dims[0], dims[1]
    ws = (_workspace_jit(ih, tile), _workspace_jit(hh, tile), _workspace_jit(proj, tile))
    gx, gh = np.empty((4 * hidden, tile), np.int64), np.empty((4 * hidden, tile), np.int64)
    bufs = (np.empty((4 * hidden, tile), np.int64), np.empty((hidden, tile), np.int64),
            np.empty((hidden, tile), np.int64), np.empty((hidden, tile), np.int64))
    yn = np.empty((out_w, tile), np.int64)
    for step in range(steps):
        t = steps - 1 - step if reverse else step
        for j in range(tiles):
            n = _tile_cols(nact[t], tile, j)
            if n == 0:
                break
            yj, cj = y[j], c[j]
            _apply(ih, x[t, j], n, gx, ws[0], fmts, counts, flags)
            _apply(hh, yj, n, gh, ws[1], fmts, counts, flags)
            _add2(gx, 0, sh[0], gh, 0, sh[1], gx, 0, 4 * hidden, n)
            _lstm_cell(gx, cj, peep, has_peep, sig, tanh, sh, fmts, counts, flags, bufs, hidden, n)
            if has_proj:
                _apply(proj, bufs[2], n, yn, ws[2], fmts, counts, flags)
                _round_rows(yn, 0, out_w, n, sh[10], fmts, sh[18], counts, flags)
                _commit(yn, yj, out_w, n)
            else:
                _commit(bufs[2], yj, out_w, n)
            _commit(bufs[1], cj, hidden, n)
            _commit(yj, out[t, j, off:off + out_w], out_w, n)


@njit(**_JIT)
def _gru_cell(gx, gh, y, tabs, sh, fmts, counts, flags, bufs, hidden, n):
    """The GRU update (torch.nn.GRU semantics) from exact gx, gh (3H, B); new h into bufs[1]."""
    sig, tanh = tabs
    act, hn, tmp = bufs
    h = hidden
    _add2(gx, 0, sh[0], gh, 0, sh[1], tmp, 0, 2 * h, n)  # r and z pre-activations
    _gate(tmp, 0, 2 * h, sh[2], sig, act, 0, sh, sh[14], fmts, counts, flags, n)
    _round_rows(gh, 2 * h, 3 * h, n, sh[3], fmts, sh[13], counts, flags)  # q_gate_acc(h_n)
    _mul2(act, 0, gh, 2 * h, tmp, 0, h, n)  # r * q(h_n)
    _add2(gx, 2 * h, sh[4], tmp, 0, sh[5], tmp, 0, h, n)
    _gate(tmp, 0, h, sh[6], tanh, act, 2 * h, sh, sh[15], fmts, counts, flags, n)
    for r in range(h):  # h = q_hidden(n + z (h_prev - n))
        z, nn_, hp, d = act[h + r], act[2 * h + r], y[r], hn[r]
        for b in range(n):
            diff = (hp[b] << sh[7]) + ((-nn_[b]) << sh[8])
            d[b] = (nn_[b] << sh[9]) + ((z[b] * diff) << sh[10])
    _round_rows(hn, 0, h, n, sh[12], fmts, sh[17], counts, flags)


@njit(**_JIT)
def run_gru_direction(x, nact, reverse, roles, tabs, sh, dims, fmts, counts, flags, out, off, y):
    """One GRU direction over x (T, tiles, in, tile), as :func:`run_lstm_direction`; final h in y."""
    ih, hh = roles
    steps, tiles, tile = x.shape[0], x.shape[1], x.shape[3]
    hidden = dims[0]
    ws = (_workspace_jit(ih, tile), _workspace_jit(hh, tile))
    gx, gh = np.empty((3 * hidden, tile), np.int64), np.empty((3 * hidden, tile), np.int64)
    bufs = (np.empty((3 * hidden, tile), np.int64), np.empty((hidden, tile), np.int64),
            np.empty((2 * hidden, tile), np.int64))
    for step in range(steps):
        t = steps - 1 - step if reverse else step
        for j in range(tiles):
            n = _tile_cols(nact[t], tile, j)
            if n == 0:
                break
            yj = y[j]
            _apply(ih, x[t, j], n, gx, ws[0], fmts, counts, flags)
            _apply(hh, yj, n, gh, ws[1], fmts, counts, flags)
            _gru_cell(gx, gh, yj, tabs, sh, fmts, counts, flags, bufs, hidden, n)
            _commit(bufs[1], yj, hidden, n)
            _commit(yj, out[t, j, off:off + hidden], hidden, n)
