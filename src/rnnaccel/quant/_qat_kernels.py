"""Compiled (numba) float64 kernels of the fused QAT path (:mod:`rnnaccel.quant.fused`).

Forward: the values of :mod:`rnnaccel.quant.model` / :mod:`rnnaccel.quant.roles` bit for bit. Every
operand lies on a fixed-point grid and every product and sum of the datapath is exact in float64
(fakequant.py's argument), so summation order does not change a value; the roundings are
:func:`rnnaccel.quant.fakequant.round_scaled_torch` and the overflow modes, written out per element.
Backward: the straight-through estimator of :class:`rnnaccel.quant.fakequant._FakeQuantSTE` (a
gradient passes a rounding unchanged and stops where a SAT format clamped; the forward stores that
mask), the PWL's own slope, and the transposes of the FFT butterflies and the frequency-domain MACs.

Arrays keep the batch innermost (``(rows, N)``), so the loops over it vectorize. A format is a float64
row ``(2**frac, lsb, code_min, code_max, rounding (0 TRN, 1 RND, 2 RND_CONV), saturate, 2**bits)``,
unpacked to a tuple of scalars before the loops.
FFT tables: bit reversal ``rev`` (k,), butterfly ``tops``/``bots`` (stages, k/2) and stored twiddles
``twr``/``twi`` (stages, k/2) of :class:`rnnaccel.quant.fft.FFTPlan`. A PWL is ``(breaks, starts,
bases, slopes)`` in value units (:class:`rnnaccel.quant.pwl.PWLTable`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = {"cache": True, "nogil": True, "error_model": "numpy"}  # no fastmath: values must stay exact


@njit(inline="always", **_JIT)
def _fmt(row):
    """A format row as a tuple of scalars (loop-invariant values, so the loops using them vectorize)."""
    return (row[0], row[1], row[2], row[3], row[4], row[5], row[6])


@njit(inline="always", **_JIT)
def _q(v, f):
    """Fake-quantize one value to format tuple ``f``: (grid value, 1.0 if the gradient passes else 0.0)."""
    s = v * f[0]
    c = np.floor(s)
    if f[4] == 1.0:
        c += 1.0 if s - c >= 0.5 else 0.0
    elif f[4] == 2.0:
        r = s - c
        odd = c - 2.0 * np.floor(c * 0.5) == 1.0
        c += 1.0 if (r > 0.5) | ((r == 0.5) & odd) else 0.0
    lo, hi = f[2], f[3]
    if f[5] == 1.0:
        ok = 1.0 if (c >= lo) & (c <= hi) else 0.0
        c = min(max(c, lo), hi)
    else:
        ok = 1.0
        c = c - lo - np.floor((c - lo) / f[6]) * f[6] + lo
    return c * f[1], ok


@njit(**_JIT)
def _act_rows(src, r0, r1, dst, dd, pwl, f):
    """Rows r0..r1 of ``src`` (rows, N) through the PWL ``pwl`` and format tuple ``f``: ``dst`` = the
    rounded value, ``dd`` = d dst / d src (the segment's slope times the output's STE mask).

    The segment is searchsorted(breaks, x, right=True), found from the uniform width and corrected
    against the breakpoints themselves (exact). Written out here, not as a per-element helper: numba
    passes the table arrays to a helper with reference counting per call (15x slower)."""
    breaks, starts, bases, slopes = pwl[0], pwl[1], pwl[2], pwl[3]
    last = breaks.shape[0]
    b0 = breaks[0]
    w = breaks[1] - b0 if last > 1 else 1.0
    for r in range(r0, r1):
        for b in range(src.shape[1]):
            x = src[r, b]
            g = int(min(max(np.floor((x - b0) / w) + 1.0, 0.0), float(last)))
            if g > 0 and breaks[g - 1] > x:
                g -= 1
            elif g < last and breaks[g] <= x:
                g += 1
            v, ok = _q(bases[g] + slopes[g] * (x - starts[g]), f)
            dst[r, b], dd[r, b] = v, slopes[g] * ok


@njit(**_JIT)
def _stages_fwd(re, im, tops, bots, twr, twi, fmt, mask):
    """The radix-2 stages in place on (k, N) re/im, rounding every stage to format tuple ``fmt``;
    mask (S, 2, k, N)."""
    n = re.shape[1]
    for s in range(tops.shape[0]):
        for m in range(tops.shape[1]):
            t, u, wr, wi = tops[s, m], bots[s, m], twr[s, m], twi[s, m]
            for b in range(n):
                br, bi = re[u, b], im[u, b]
                tr = wr * br - wi * bi
                ti = wr * bi + wi * br
                ar, ai = re[t, b], im[t, b]
                re[t, b] = ar + tr
                re[u, b] = ar - tr
                im[t, b] = ai + ti
                im[u, b] = ai - ti
        for i in range(re.shape[0]):
            for b in range(n):
                re[i, b], mask[s, 0, i, b] = _q(re[i, b], fmt)
                im[i, b], mask[s, 1, i, b] = _q(im[i, b], fmt)


@njit(**_JIT)
def _stages_bwd(gre, gim, tops, bots, twr, twi, mask):
    """Transpose of :func:`_stages_fwd` in place on the gradients (STE masks applied per stage)."""
    n = gre.shape[1]
    for s in range(tops.shape[0] - 1, -1, -1):
        for i in range(gre.shape[0]):
            for b in range(n):
                gre[i, b] *= mask[s, 0, i, b]
                gim[i, b] *= mask[s, 1, i, b]
        for m in range(tops.shape[1]):
            t, u, wr, wi = tops[s, m], bots[s, m], twr[s, m], twi[s, m]
            for b in range(n):
                gtr, gur, gti, gui = gre[t, b], gre[u, b], gim[t, b], gim[u, b]
                dtr, dti = gtr - gur, gti - gui
                gre[t, b] = gtr + gur
                gim[t, b] = gti + gui
                gre[u, b] = wr * dtr + wi * dti
                gim[u, b] = wr * dti - wi * dtr


@njit(**_JIT)
def fft_fwd(x, rev, tops, bots, twr, twi, fmt, xr, xi, mask):
    """Input blocks of ``x`` (in, N) -> bins ``xr``/``xi`` (q, k/2+1, N); ``mask`` (q, S, 2, k, N)."""
    k, n, width = rev.shape[0], x.shape[1], x.shape[0]
    nb, fq = xr.shape[1], _fmt(fmt)
    re, im = np.empty((k, n)), np.empty((k, n))
    for j in range(xr.shape[0]):
        for i in range(k):
            src = j * k + rev[i]
            for b in range(n):
                re[i, b] = x[src, b] if src < width else 0.0
                im[i, b] = 0.0
        _stages_fwd(re, im, tops, bots, twr, twi, fq, mask[j])
        for f in range(nb):
            for b in range(n):
                xr[j, f, b] = re[f, b]
                xi[j, f, b] = im[f, b]


@njit(**_JIT)
def fft_bwd(dxr, dxi, rev, tops, bots, twr, twi, mask, dx):
    """Gradient of :func:`fft_fwd`: bins (q, k/2+1, N) -> ``dx`` (in, N) (overwritten)."""
    k, n, width = rev.shape[0], dx.shape[1], dx.shape[0]
    nb = dxr.shape[1]
    gre, gim = np.empty((k, n)), np.empty((k, n))
    for j in range(dxr.shape[0]):
        for i in range(k):
            for b in range(n):
                gre[i, b] = dxr[j, i, b] if i < nb else 0.0
                gim[i, b] = dxi[j, i, b] if i < nb else 0.0
        _stages_bwd(gre, gim, tops, bots, twr, twi, mask[j])
        for i in range(k):
            dst = j * k + rev[i]
            if dst < width:
                for b in range(n):
                    dx[dst, b] = gre[i, b]


@njit(**_JIT)
def ifft_fwd(ar, ai, rev, tops, bots, twr, twi, facc, fifft, y, macc, mask):
    """Accumulators (p, k/2+1, N) -> rounded to ``facc`` -> IFFT stages (``fifft``) / k -> ``y`` (out, N).

    ``macc`` (2, p, k/2+1, N), ``mask`` (p, S, 2, k, N); ``ar``/``ai`` are rounded in place."""
    k, n, out = rev.shape[0], y.shape[1], y.shape[0]
    nb, fa, fi = ar.shape[1], _fmt(facc), _fmt(fifft)
    zr, zi = np.empty((k, n)), np.empty((k, n))
    re, im = np.empty((k, n)), np.empty((k, n))
    for i in range(ar.shape[0]):
        for f in range(nb):
            for b in range(n):
                ar[i, f, b], macc[0, i, f, b] = _q(ar[i, f, b], fa)
                ai[i, f, b], macc[1, i, f, b] = _q(ai[i, f, b], fa)
        for f in range(k):  # conj of the Hermitian spectrum (fft.hermitian_conj)
            for b in range(n):
                if f < nb:
                    zr[f, b], zi[f, b] = ar[i, f, b], -ai[i, f, b]
                else:
                    zr[f, b], zi[f, b] = ar[i, k - f, b], ai[i, k - f, b]
        for m in range(k):
            for b in range(n):
                re[m, b], im[m, b] = zr[rev[m], b], zi[rev[m], b]
        _stages_fwd(re, im, tops, bots, twr, twi, fi, mask[i])
        for m in range(k):
            row = i * k + m
            if row < out:
                for b in range(n):
                    y[row, b] = re[m, b] / k


@njit(**_JIT)
def ifft_bwd(dy, rev, tops, bots, twr, twi, macc, mask, dar, dai):
    """Gradient of :func:`ifft_fwd`: ``dy`` (out, N) -> ``dar``/``dai`` (p, k/2+1, N) (overwritten)."""
    k, n, out = rev.shape[0], dy.shape[1], dy.shape[0]
    nb = dar.shape[1]
    gre, gim = np.empty((k, n)), np.empty((k, n))
    dzr, dzi = np.empty((k, n)), np.empty((k, n))
    for i in range(dar.shape[0]):
        for m in range(k):
            row = i * k + m
            for b in range(n):
                gre[m, b] = dy[row, b] / k if row < out else 0.0
                gim[m, b] = 0.0
        _stages_bwd(gre, gim, tops, bots, twr, twi, mask[i])
        for m in range(k):
            for b in range(n):
                dzr[rev[m], b], dzi[rev[m], b] = gre[m, b], gim[m, b]
        for f in range(nb):
            for b in range(n):
                dar[i, f, b], dai[i, f, b] = dzr[f, b], -dzi[f, b]
        for f in range(nb, k):
            for b in range(n):
                dar[i, k - f, b] += dzr[f, b]
                dai[i, k - f, b] += dzi[f, b]
        for f in range(nb):
            for b in range(n):
                dar[i, f, b] *= macc[0, i, f, b]
                dai[i, f, b] *= macc[1, i, f, b]


@njit(**_JIT)
def mac_fwd(xr, xi, wr, wi, ar, ai):
    """``A_i = sum_j W_ij X_j`` per bin (complex): X (q, nb, N), W (p, q, nb) -> A (p, nb, N)."""
    n = xr.shape[2]
    ar[:] = 0.0
    ai[:] = 0.0
    for i in range(wr.shape[0]):
        for j in range(wr.shape[1]):
            for f in range(wr.shape[2]):
                a, c = wr[i, j, f], wi[i, j, f]
                for b in range(n):
                    ar[i, f, b] += xr[j, f, b] * a - xi[j, f, b] * c
                    ai[i, f, b] += xi[j, f, b] * a + xr[j, f, b] * c


@njit(**_JIT)
def mac_bwd(dar, dai, wr, wi, dxr, dxi):
    """Gradient of :func:`mac_fwd` with respect to X (overwritten)."""
    n = dar.shape[2]
    dxr[:] = 0.0
    dxi[:] = 0.0
    for i in range(wr.shape[0]):
        for j in range(wr.shape[1]):
            for f in range(wr.shape[2]):
                a, c = wr[i, j, f], wi[i, j, f]
                for b in range(n):
                    dxr[j, f, b] += dar[i, f, b] * a + dai[i, f, b] * c
                    dxi[j, f, b] += dai[i, f, b] * a - dar[i, f, b] * c


@njit(**_JIT)
def _hh_fwd(h, fx, wr, wi, ar, ai, gh, xr, xi, mfft, macc, mifft):
    """The recurrent circulant role on h (in, N) -> ``gh`` (out, N), saving bins and masks."""
    rev, tops, bots, twr, twi = fx[0], fx[1], fx[2], fx[3], fx[4]
    fft_fwd(h, rev, tops, bots, twr, twi, fx[5], xr, xi, mfft)
    mac_fwd(xr, xi, wr, wi, ar, ai)
    ifft_fwd(ar, ai, rev, tops, bots, twr, twi, fx[6], fx[7], gh, macc, mifft)


@njit(**_JIT)
def _hh_bwd(dgh, fx, wr, wi, dar, dai, dxr, dxi, macc, mifft, mfft, dh):
    """Gradient of :func:`_hh_fwd`: ``dar``/``dai`` (kept for dW) and ``dh`` (overwritten)."""
    rev, tops, bots, twr, twi = fx[0], fx[1], fx[2], fx[3], fx[4]
    ifft_bwd(dgh, rev, tops, bots, twr, twi, macc, mifft, dar, dai)
    mac_bwd(dar, dai, wr, wi, dxr, dxi)
    fft_bwd(dxr, dxi, rev, tops, bots, twr, twi, mfft, dh)


@njit(**_JIT)
def _round_rows(z, r0, r1, f, ok):
    """Rows r0..r1 of ``z`` rounded in place to format tuple ``f``; STE masks into ``ok``."""
    for r in range(r0, r1):
        for b in range(z.shape[1]):
            z[r, b], ok[r, b] = _q(z[r, b], f)


@njit(**_JIT)
def _mask_rows(dd, ok, r0, r1):
    for r in range(r0, r1):
        for b in range(dd.shape[1]):
            dd[r, b] *= ok[r, b]


@njit(**_JIT)
def lstm_fwd(gx, fx, wr, wi, bias, peep, has_peep, fp, sig, tanh, reverse, sv):
    """LSTM direction (no projection): ``gx`` (T, 4H, N) = W_ih x_t + b_ih -> saved tensors ``sv``.

    ``fp`` rows: gate_acc, sigmoid, tanh, cell, hidden. ``sv`` = (y, c, gates, dgates, tc, dtc, mc, mm,
    xr, xi, mfft, macc, mifft) with time first; ``gates``/``dgates`` (T, 4H, N) hold i, f, g, o and
    d gate / d pre-activation, ``tc``/``dtc`` q(tanh(c)) and its slope, ``mc``/``mm`` the cell and
    hidden STE masks."""
    y, c_all, gates, dgates, tc_all, dtc_all, mc_all, mm_all = sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], \
        sv[6], sv[7]
    xr_all, xi_all, mfft, macc, mifft = sv[8], sv[9], sv[10], sv[11], sv[12]
    steps, n, hidden = gx.shape[0], gx.shape[2], y.shape[1]
    fa, fc, fh = _fmt(fp[0]), _fmt(fp[3]), _fmt(fp[4])
    fs, ft = _fmt(fp[1]), _fmt(fp[2])
    h, c = np.zeros((hidden, n)), np.zeros((hidden, n))
    gh, pre, oka = np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n))
    ar, ai = np.empty((wr.shape[0], wr.shape[2], n)), np.empty((wr.shape[0], wr.shape[2], n))
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        g_t, d_t = gates[t], dgates[t]
        _hh_fwd(h, fx, wr, wi, ar, ai, gh, xr_all[t], xi_all[t], mfft[t], macc[t], mifft[t])
        for r in range(4 * hidden):
            for b in range(n):
                pre[r, b] = gx[t, r, b] + (gh[r, b] + bias[r])
        if has_peep:
            for u in range(hidden):
                for b in range(n):
                    pre[u, b] += peep[0, u] * c[u, b]
                    pre[hidden + u, b] += peep[1, u] * c[u, b]
        _round_rows(pre, 0, 3 * hidden, fa, oka)
        _act_rows(pre, 0, 2 * hidden, g_t, d_t, sig, fs)
        _act_rows(pre, 2 * hidden, 3 * hidden, g_t, d_t, tanh, ft)
        for u in range(hidden):
            for b in range(n):
                cn, okc = _q(g_t[hidden + u, b] * c[u, b] + g_t[u, b] * g_t[2 * hidden + u, b], fc)
                c[u, b], c_all[t, u, b], mc_all[t, u, b] = cn, cn, okc
                if has_peep:
                    pre[3 * hidden + u, b] += peep[2, u] * cn
        _round_rows(pre, 3 * hidden, 4 * hidden, fa, oka)
        _act_rows(pre, 3 * hidden, 4 * hidden, g_t, d_t, sig, fs)
        _mask_rows(d_t, oka, 0, 4 * hidden)
        _act_rows(c, 0, hidden, tc_all[t], dtc_all[t], tanh, ft)
        for u in range(hidden):
            for b in range(n):
                m, okm = _q(g_t[3 * hidden + u, b] * tc_all[t, u, b], fh)
                h[u, b], y[t, u, b], mm_all[t, u, b] = m, m, okm


@njit(**_JIT)
def lstm_bwd(dy, dh_end, dc_end, fx, wr, wi, peep, has_peep, reverse, sv, dgx, dar_all, dai_all, dpeep):
    """Gradient of :func:`lstm_fwd`: ``dy`` (T, H, N) and the final states' gradients -> ``dgx``
    (T, 4H, N) (= the recurrent role's output gradient), ``dar_all``/``dai_all`` (T, p, nb, N) for
    the recurrent weights, ``dpeep`` (3, H) (accumulated)."""
    c_all, gates, dgates, tc_all, dtc_all, mc_all, mm_all = sv[1], sv[2], sv[3], sv[4], sv[5], sv[6], sv[7]
    mfft, macc, mifft = sv[10], sv[11], sv[12]
    steps, n, hidden = dy.shape[0], dy.shape[2], dy.shape[1]
    dh, dc = dh_end.copy(), dc_end.copy()
    dxr, dxi = np.empty((wr.shape[1], wr.shape[2], n)), np.empty((wr.shape[1], wr.shape[2], n))
    dhp = np.empty((hidden, n))
    for s in range(steps - 1, -1, -1):
        t = steps - 1 - s if reverse else s
        tp = t + 1 if reverse else t - 1  # the previous step in processing order
        first = s == 0
        for u in range(hidden):
            for b in range(n):
                cp = 0.0 if first else c_all[tp, u, b]
                i, f, g, o = gates[t, u, b], gates[t, hidden + u, b], gates[t, 2 * hidden + u, b], gates[t, 3 * hidden + u, b]
                dm = (dy[t, u, b] + dh[u, b]) * mm_all[t, u, b]
                dao = dm * tc_all[t, u, b] * dgates[t, 3 * hidden + u, b]
                dcn = dc[u, b] + dm * o * dtc_all[t, u, b]
                if has_peep:
                    dcn += dao * peep[2, u]
                    dpeep[2, u] += dao * c_all[t, u, b]
                dcell = dcn * mc_all[t, u, b]
                dai_ = dcell * g * dgates[t, u, b]
                daf = dcell * cp * dgates[t, hidden + u, b]
                dag = dcell * i * dgates[t, 2 * hidden + u, b]
                dcp = dcell * f
                if has_peep:
                    dcp += dai_ * peep[0, u] + daf * peep[1, u]
                    dpeep[0, u] += dai_ * cp
                    dpeep[1, u] += daf * cp
                dc[u, b] = dcp
                dgx[t, u, b], dgx[t, hidden + u, b] = dai_, daf
                dgx[t, 2 * hidden + u, b], dgx[t, 3 * hidden + u, b] = dag, dao
        _hh_bwd(dgx[t], fx, wr, wi, dar_all[t], dai_all[t], dxr, dxi, macc[t], mifft[t], mfft[t], dhp)
        dh[:] = dhp


@njit(**_JIT)
def gru_fwd(gx, fx, wr, wi, bias, fp, sig, tanh, reverse, sv):
    """GRU direction: ``gx`` (T, 3H, N) = W_ih x_t + b_ih -> saved ``sv`` = (y, gates (T, 4H, N):
    r, z, n, q(h_n), dgates: their derivatives (the last one the STE mask of q(h_n)), mh, xr, xi,
    mfft, macc, mifft)."""
    y, gates, dgates, mh_all = sv[0], sv[1], sv[2], sv[3]
    xr_all, xi_all, mfft, macc, mifft = sv[4], sv[5], sv[6], sv[7], sv[8]
    steps, n, hidden = gx.shape[0], gx.shape[2], y.shape[1]
    fa, fs, ft, fh = _fmt(fp[0]), _fmt(fp[1]), _fmt(fp[2]), _fmt(fp[4])
    h = np.zeros((hidden, n))
    gh, pre, oka = np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n))
    ar, ai = np.empty((wr.shape[0], wr.shape[2], n)), np.empty((wr.shape[0], wr.shape[2], n))
    for s in range(steps):
        t = steps - 1 - s if reverse else s
        g_t, d_t = gates[t], dgates[t]
        _hh_fwd(h, fx, wr, wi, ar, ai, gh, xr_all[t], xi_all[t], mfft[t], macc[t], mifft[t])
        for r in range(2 * hidden):
            for b in range(n):
                pre[r, b] = gx[t, r, b] + (gh[r, b] + bias[r])
        for r in range(2 * hidden, 3 * hidden):  # q(h_n) goes to gate slot 3
            for b in range(n):
                g_t[hidden + r, b], d_t[hidden + r, b] = _q(gh[r, b] + bias[r], fa)
        _round_rows(pre, 0, 2 * hidden, fa, oka)
        _act_rows(pre, 0, 2 * hidden, g_t, d_t, sig, fs)
        for u in range(hidden):
            for b in range(n):
                pre[2 * hidden + u, b] = gx[t, 2 * hidden + u, b] + g_t[u, b] * g_t[3 * hidden + u, b]
        _round_rows(pre, 2 * hidden, 3 * hidden, fa, oka)
        _act_rows(pre, 2 * hidden, 3 * hidden, g_t, d_t, tanh, ft)
        _mask_rows(d_t, oka, 0, 3 * hidden)
        for u in range(hidden):
            for b in range(n):
                nv, z = g_t[2 * hidden + u, b], g_t[hidden + u, b]
                hv, okh = _q(nv + z * (h[u, b] - nv), fh)
                h[u, b], y[t, u, b], mh_all[t, u, b] = hv, hv, okh


@njit(**_JIT)
def gru_bwd(dy, dh_end, fx, wr, wi, reverse, sv, dgx, dgh, dar_all, dai_all):
    """Gradient of :func:`gru_fwd`: -> ``dgx`` (T, 3H, N), ``dgh`` (T, 3H, N) (the recurrent role's
    output gradient, for its bias), ``dar_all``/``dai_all`` (T, p, nb, N)."""
    y, gates, dgates, mh_all = sv[0], sv[1], sv[2], sv[3]
    mfft, macc, mifft = sv[6], sv[7], sv[8]
    steps, n, hidden = dy.shape[0], dy.shape[2], dy.shape[1]
    dh = dh_end.copy()
    dxr, dxi = np.empty((wr.shape[1], wr.shape[2], n)), np.empty((wr.shape[1], wr.shape[2], n))
    dhp = np.empty((hidden, n))
    for s in range(steps - 1, -1, -1):
        t = steps - 1 - s if reverse else s
        tp = t + 1 if reverse else t - 1
        first = s == 0
        for u in range(hidden):
            for b in range(n):
                hp = 0.0 if first else y[tp, u, b]
                r, z, nv, hn = gates[t, u, b], gates[t, hidden + u, b], gates[t, 2 * hidden + u, b], gates[t, 3 * hidden + u, b]
                dhv = (dy[t, u, b] + dh[u, b]) * mh_all[t, u, b]
                dan = dhv * (1.0 - z) * dgates[t, 2 * hidden + u, b]
                daz = dhv * (hp - nv) * dgates[t, hidden + u, b]
                dar_ = dan * hn * dgates[t, u, b]
                dh[u, b] = dhv * z
                dgx[t, u, b], dgx[t, hidden + u, b], dgx[t, 2 * hidden + u, b] = dar_, daz, dan
                dgh[t, u, b], dgh[t, hidden + u, b] = dar_, daz
                dgh[t, 2 * hidden + u, b] = dan * r * dgates[t, 3 * hidden + u, b]
        _hh_bwd(dgh[t], fx, wr, wi, dar_all[t], dai_all[t], dxr, dxi, macc[t], mifft[t], mfft[t], dhp)
        for u in range(hidden):
            for b in range(n):
                dh[u, b] += dhp[u, b]
