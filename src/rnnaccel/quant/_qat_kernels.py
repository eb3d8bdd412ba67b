"""Compiled (numba) float64 kernels of the fused QAT path (:mod:`rnnaccel.quant.fused`).

Forward: the values of :mod:`rnnaccel.quant.model` / :mod:`rnnaccel.quant.roles` bit for bit. Every
operand lies on a fixed-point grid and every product and sum of the datapath is exact in float64
(fakequant.py's argument), so summation order does not change a value; the roundings are
:func:`rnnaccel.quant.fakequant.round_scaled_torch` and the overflow modes, written out per element.
Backward: the straight-through estimator of :class:`rnnaccel.quant.fakequant._FakeQuantSTE` (a
gradient passes a rounding unchanged and stops where a SAT format clamped; the forward stores that
mask), the PWL's own slope, and the transposes of the FFT butterflies and the frequency-domain MACs.

Arrays keep the batch innermost, so the loops over it vectorize. Frequency-domain arrays are
``(T, k/2+1, 2 rows, B)``, re and im stacked (input bins X: 2q rows, accumulators A: 2p rows), so
the MACs are one real matmul per bin with ``W2[f] = [[Wr, -Wi], [Wi, Wr]]``; ``t`` indexes the time
axis, kept outermost so that a step's arrays are contiguous (a bin-major (nb, rows, T, B) layout
made every step touch hundreds of cold cache lines: the backward step cost 61 instead of 37 us).
On DC and Nyquist (``real[f]``) Wi and the bins' imaginary parts are exactly 0 (fft.py, roles.py), so
the MACs there skip the zero blocks; the recurrence's MACs are BLAS calls (``np.dot``, exact on grid
values in any order). Per recurrent step the FFT/IFFT run their blocks side by side (``_fft_step``:
(k, blocks*B) columns), since per block the B = 8 columns made every loop too short. A format is a
float64 row ``(2**frac, lsb, code_min, code_max, rounding (0 TRN, 1 RND, 2 RND_CONV), saturate,
2**bits)``, unpacked to a tuple of scalars before the loops. The kernels take the rounding as a
function (``qf``): :func:`_q`, or :func:`_q_rs` when every format is RND with SAT (the presets), whose
loops vectorize (the generic one's mode branches kept LLVM from it: the IFFT stages took 2x longer).
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


@njit(inline="always", **_JIT)
def _q_rs(v, f):
    """:func:`_q` for RND with SAT (``f[4] == 1``, ``f[5] == 1``, the presets' formats): the same
    values, without the mode branches that keep LLVM from vectorizing the loops around it."""
    s = v * f[0]
    c = np.floor(s)
    c += 1.0 if s - c >= 0.5 else 0.0
    lo, hi = f[2], f[3]
    ok = 1.0 if (c >= lo) & (c <= hi) else 0.0
    return min(max(c, lo), hi) * f[1], ok


@njit(inline="always", **_JIT)
def _act_rows(src, r0, r1, dst, dd, act, f, fin, round_in, qf):
    """Rows r0..r1 of ``src`` (rows, N), first rounded to format tuple ``fin`` when ``round_in`` (the
    gate accumulator), through the activation ``act`` rounded to format tuple ``f``: ``dst`` = the
    rounded value, ``dd`` = d dst / d src (the segment's slope times the STE masks).

    ``act`` = (breaks, starts, bases, slopes, lut, (2**frac, code_min) of the input format). With a
    table (``lut`` rows = every input code: value, derivative; inputs up to 16 bits), one lookup per
    value. Else the segment is searchsorted(breaks, x, right=True), found from the uniform width and
    corrected against the breakpoints themselves (exact). Written out here, not as a per-element
    helper: numba passes the table arrays to a helper with reference counting per call (15x slower).
    ``qf``: the rounding, :func:`_q` or :func:`_q_rs` (as for every kernel taking one)."""
    lut = act[4]
    if lut.shape[0] > 0:
        scale, cmin = act[5][0], act[5][1]
        for r in range(r0, r1):
            for b in range(src.shape[1]):
                x, ok = qf(src[r, b], fin) if round_in else (src[r, b], 1.0)
                e = int(x * scale - cmin)
                dst[r, b], dd[r, b] = lut[e, 0], lut[e, 1] * ok
        return
    breaks, starts, bases, slopes = act[0], act[1], act[2], act[3]
    last = breaks.shape[0]
    b0 = breaks[0]
    w = breaks[1] - b0 if last > 1 else 1.0
    for r in range(r0, r1):
        for b in range(src.shape[1]):
            x, oki = qf(src[r, b], fin) if round_in else (src[r, b], 1.0)
            g = int(min(max(np.floor((x - b0) / w) + 1.0, 0.0), float(last)))
            if g > 0 and breaks[g - 1] > x:
                g -= 1
            elif g < last and breaks[g] <= x:
                g += 1
            v, ok = qf(bases[g] + slopes[g] * (x - starts[g]), f)
            dst[r, b], dd[r, b] = v, slopes[g] * ok * oki


@njit(inline="always", **_JIT)
def _stages_fwd(re, im, tops, bots, twr, twi, fmt, mask, qf):
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
                re[i, b], mask[s, 0, i, b] = qf(re[i, b], fmt)
                im[i, b], mask[s, 1, i, b] = qf(im[i, b], fmt)


@njit(inline="always", **_JIT)
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
def fft_fwd(x, rev, tops, bots, twr, twi, fmt, xs, t, mask, fast):
    """Input blocks of ``x`` (in, B) -> bins ``xs[t]`` (T, nb, 2q, B); ``mask`` (q, S, 2, k, B);
    ``fast``: every format is RND with SAT (:func:`_q_rs`)."""
    if fast:
        _fft_fwd(x, rev, tops, bots, twr, twi, _fmt(fmt), xs, t, mask, _q_rs)
    else:
        _fft_fwd(x, rev, tops, bots, twr, twi, _fmt(fmt), xs, t, mask, _q)


@njit(inline="always", **_JIT)
def _fft_fwd(x, rev, tops, bots, twr, twi, fq, xs, t, mask, qf):
    k, n, width = rev.shape[0], x.shape[1], x.shape[0]
    nb, q = xs.shape[1], xs.shape[2] // 2
    re, im = np.empty((k, n)), np.empty((k, n))
    for j in range(q):
        for i in range(k):
            src = j * k + rev[i]
            for b in range(n):
                re[i, b] = x[src, b] if src < width else 0.0
                im[i, b] = 0.0
        _stages_fwd(re, im, tops, bots, twr, twi, fq, mask[j], qf)
        for f in range(nb):
            for b in range(n):
                xs[t, f, j, b] = re[f, b]
                xs[t, f, q + j, b] = im[f, b]


@njit(**_JIT)
def fft_bwd(dxs, t, rev, tops, bots, twr, twi, mask, dx):
    """Gradient of :func:`fft_fwd`: bins ``dxs[t]`` -> ``dx`` (in, B) (overwritten)."""
    k, n, width = rev.shape[0], dx.shape[1], dx.shape[0]
    nb, q = dxs.shape[1], dxs.shape[2] // 2
    gre, gim = np.empty((k, n)), np.empty((k, n))
    for j in range(q):
        for i in range(k):
            for b in range(n):
                gre[i, b] = dxs[t, i, j, b] if i < nb else 0.0
                gim[i, b] = dxs[t, i, q + j, b] if i < nb else 0.0
        _stages_bwd(gre, gim, tops, bots, twr, twi, mask[j])
        for i in range(k):
            dst = j * k + rev[i]
            if dst < width:
                for b in range(n):
                    dx[dst, b] = gre[i, b]


@njit(**_JIT)
def ifft_fwd(acc, ta, rev, tops, bots, twr, twi, facc, fifft, macc, tm, mask, y, fast):
    """Accumulators ``acc[ta]`` (., nb, 2p, B) rounded in place to ``facc`` (STE masks in
    ``macc[tm]``) -> IFFT stages (``fifft``, masks ``mask`` (p, S, 2, k, T*B)) / k -> ``y`` (T, out, B)
    (time-major, as the recurrence kernels read it; column ``t*B + b`` of the bins is (t, b))."""
    if fast:
        _ifft_fwd(acc, ta, rev, tops, bots, twr, twi, _fmt(facc), _fmt(fifft), macc, tm, mask, y, _q_rs)
    else:
        _ifft_fwd(acc, ta, rev, tops, bots, twr, twi, _fmt(facc), _fmt(fifft), macc, tm, mask, y, _q)


@njit(inline="always", **_JIT)
def _ifft_fwd(acc, ta, rev, tops, bots, twr, twi, fa, fi, macc, tm, mask, y, qf):
    k, steps, out, nbat = rev.shape[0], y.shape[0], y.shape[1], y.shape[2]
    n, nb, p = steps * nbat, acc.shape[1], acc.shape[2] // 2
    inv_k = 1.0 / k  # k is a power of two: x * (1/k) is x / k exactly
    re, im = np.empty((k, n)), np.empty((k, n))
    for f in range(nb):
        for i in range(2 * p):
            for b in range(n):
                acc[ta, f, i, b], macc[tm, f, i, b] = qf(acc[ta, f, i, b], fa)
    for i in range(p):
        for m in range(k):  # bit reversal of the conjugated Hermitian spectrum (fft.hermitian_conj)
            f = rev[m]
            if f < nb:
                for b in range(n):
                    re[m, b], im[m, b] = acc[ta, f, i, b], -acc[ta, f, p + i, b]
            else:
                for b in range(n):
                    re[m, b], im[m, b] = acc[ta, k - f, i, b], acc[ta, k - f, p + i, b]
        _stages_fwd(re, im, tops, bots, twr, twi, fi, mask[i], qf)
        for m in range(k):
            row = i * k + m
            if row < out:
                for t in range(steps):
                    for b in range(nbat):
                        y[t, row, b] = re[m, t * nbat + b] * inv_k


@njit(**_JIT)
def ifft_bwd(dy, rev, tops, bots, twr, twi, macc, tm, mask, dacc, ta):
    """Gradient of :func:`ifft_fwd`: ``dy`` (T, out, B) -> ``dacc[ta]`` (overwritten)."""
    k, steps, out, nbat = rev.shape[0], dy.shape[0], dy.shape[1], dy.shape[2]
    n, nb, p = steps * nbat, dacc.shape[1], dacc.shape[2] // 2
    inv_k = 1.0 / k
    gre, gim = np.empty((k, n)), np.empty((k, n))
    for i in range(p):
        for m in range(k):
            row = i * k + m
            if row < out:
                for t in range(steps):
                    for b in range(nbat):
                        gre[m, t * nbat + b] = dy[t, row, b] * inv_k
            else:
                gre[m, :] = 0.0
            gim[m, :] = 0.0
        _stages_bwd(gre, gim, tops, bots, twr, twi, mask[i])
        for f in range(nb):
            for b in range(n):
                dacc[ta, f, i, b] = 0.0
                dacc[ta, f, p + i, b] = 0.0
        for m in range(k):
            f = rev[m]
            for b in range(n):
                if f < nb:
                    dacc[ta, f, i, b] += gre[m, b]
                    dacc[ta, f, p + i, b] -= gim[m, b]
                else:
                    dacc[ta, k - f, i, b] += gre[m, b]
                    dacc[ta, k - f, p + i, b] += gim[m, b]
    for f in range(nb):
        for i in range(2 * p):
            for b in range(n):
                dacc[ta, f, i, b] *= macc[tm, f, i, b]


@njit(inline="always", **_JIT)
def _bin_matvec(full, part, real, src, si, dst, di):
    """``dst[di, f] = full[f] @ src[si, f]`` per bin (one real matmul, BLAS; exact on grid values
    whatever the order); on DC and Nyquist (``real[f]``) only ``part[f] @ src[si, f, :cols]`` into the
    first rows of ``dst[di, f]``, the rest exactly 0."""
    rows, cols = part.shape[1], part.shape[2]
    for f in range(full.shape[0]):
        if real[f]:
            np.dot(part[f], src[si, f, :cols], dst[di, f, :rows])
            dst[di, f, rows:] = 0.0
        else:
            np.dot(full[f], src[si, f], dst[di, f])


@njit(**_JIT)
def mac_fwd(xs, tx, mw, real, acc, ta):
    """``acc[ta, f] = W2[f] @ xs[tx, f]`` per bin (the complex MACs as one real matmul). ``mw`` =
    (W2, W2^T, Wr, Wr^T) (:func:`mac_weights`); on DC and Nyquist only ``Wr @ re``."""
    _bin_matvec(mw[0], mw[2], real, xs, tx, acc, ta)


@njit(**_JIT)
def mac_bwd(dacc, ta, mw, real, dxs, tx):
    """Gradient of :func:`mac_fwd` with respect to the bins: ``dxs[tx, f] = W2[f]^T dacc[ta, f]``."""
    _bin_matvec(mw[1], mw[3], real, dacc, ta, dxs, tx)


@njit(inline="always", **_JIT)
def _fft_step(x, rev, tops, bots, twr, twi, fq, xs_t, mask, re, im, qf):
    """:func:`fft_fwd` of one recurrent step with the q input blocks side by side: ``re``/``im``
    (k, q*B), so the stages run over q*B columns at once (per block, B = 8 columns made every loop
    too short to pay its setup); ``xs_t`` (nb, 2q, B), ``mask`` (S, 2, k, q*B)."""
    k, n, width = rev.shape[0], x.shape[1], x.shape[0]
    nb, q = xs_t.shape[0], xs_t.shape[1] // 2
    for i in range(k):
        for j in range(q):
            src = j * k + rev[i]
            if src < width:
                for b in range(n):
                    re[i, j * n + b] = x[src, b]
            else:
                for b in range(n):
                    re[i, j * n + b] = 0.0
        for c in range(q * n):
            im[i, c] = 0.0
    _stages_fwd(re, im, tops, bots, twr, twi, fq, mask, qf)
    for f in range(nb):
        for j in range(q):
            for b in range(n):
                xs_t[f, j, b] = re[f, j * n + b]
                xs_t[f, q + j, b] = im[f, j * n + b]


@njit(inline="always", **_JIT)
def _fft_step_bwd(dxs_t, rev, tops, bots, twr, twi, mask, dx, gre, gim):
    """Gradient of :func:`_fft_step`: ``dxs_t`` (nb, 2q, B) -> ``dx`` (in, B) (overwritten)."""
    k, n, width = rev.shape[0], dx.shape[1], dx.shape[0]
    nb, q = dxs_t.shape[0], dxs_t.shape[1] // 2
    for i in range(k):
        if i < nb:
            for j in range(q):
                for b in range(n):
                    gre[i, j * n + b] = dxs_t[i, j, b]
                    gim[i, j * n + b] = dxs_t[i, q + j, b]
        else:
            for c in range(q * n):
                gre[i, c] = 0.0
                gim[i, c] = 0.0
    _stages_bwd(gre, gim, tops, bots, twr, twi, mask)
    for i in range(k):
        for j in range(q):
            dst = j * k + rev[i]
            if dst < width:
                for b in range(n):
                    dx[dst, b] = gre[i, j * n + b]


@njit(inline="always", **_JIT)
def _ifft_step(acc_t, rev, tops, bots, twr, twi, fa, fi, macc_t, mask, y, re, im, qf):
    """:func:`ifft_fwd` of one recurrent step with the p output blocks side by side (as
    :func:`_fft_step`): ``acc_t``/``macc_t`` (nb, 2p, B), ``mask`` (S, 2, k, p*B), ``y`` (out, B)."""
    k, n, out = rev.shape[0], y.shape[1], y.shape[0]
    nb, p = acc_t.shape[0], acc_t.shape[1] // 2
    pn, inv_k = p * n, 1.0 / k  # k is a power of two: x * (1/k) is x / k exactly
    acc1, macc1 = acc_t.reshape(nb, 2 * pn), macc_t.reshape(nb, 2 * pn)
    for f in range(nb):
        for c in range(2 * pn):
            acc1[f, c], macc1[f, c] = qf(acc1[f, c], fa)
    for m in range(k):  # bit reversal of the conjugated Hermitian spectrum (fft.hermitian_conj)
        f = rev[m]
        if f < nb:
            for c in range(pn):
                re[m, c], im[m, c] = acc1[f, c], -acc1[f, pn + c]
        else:
            for c in range(pn):
                re[m, c], im[m, c] = acc1[k - f, c], acc1[k - f, pn + c]
    _stages_fwd(re, im, tops, bots, twr, twi, fi, mask, qf)
    for i in range(p):
        for m in range(k):
            row = i * k + m
            if row < out:
                for b in range(n):
                    y[row, b] = re[m, i * n + b] * inv_k


@njit(inline="always", **_JIT)
def _ifft_step_bwd(dy, rev, tops, bots, twr, twi, macc_t, mask, dacc_t, gre, gim):
    """Gradient of :func:`_ifft_step`: ``dy`` (out, B) -> ``dacc_t`` (nb, 2p, B) (overwritten)."""
    k, n, out = rev.shape[0], dy.shape[1], dy.shape[0]
    nb, p = dacc_t.shape[0], dacc_t.shape[1] // 2
    pn, inv_k = p * n, 1.0 / k
    for i in range(p):
        for m in range(k):
            row = i * k + m
            if row < out:
                for b in range(n):
                    gre[m, i * n + b] = dy[row, b] * inv_k
            else:
                for b in range(n):
                    gre[m, i * n + b] = 0.0
    gim[:] = 0.0
    _stages_bwd(gre, gim, tops, bots, twr, twi, mask)
    dacc1, macc1 = dacc_t.reshape(nb, 2 * pn), macc_t.reshape(nb, 2 * pn)
    dacc1[:] = 0.0
    for m in range(k):
        f = rev[m]
        if f < nb:
            for c in range(pn):
                dacc1[f, c] += gre[m, c]
                dacc1[f, pn + c] -= gim[m, c]
        else:
            for c in range(pn):
                dacc1[k - f, c] += gre[m, c]
                dacc1[k - f, pn + c] += gim[m, c]
    for f in range(nb):
        for c in range(2 * pn):
            dacc1[f, c] *= macc1[f, c]


@njit(inline="always", **_JIT)
def _hh_fwd(h, fx, mw, real, acc, gh, xs, macc, mfft, mifft, t, work, qf):
    """The recurrent circulant role on h (in, B) -> ``gh`` (out, B) at step t, bins in ``xs[0]``,
    masks saved at t; ``work`` = (re, im) buffers of :func:`_fft_step` and of :func:`_ifft_step`."""
    _fft_step(h, fx[0], fx[1], fx[2], fx[3], fx[4], _fmt(fx[5]), xs[0], mfft[t], work[0], work[1], qf)
    mac_fwd(xs, 0, mw, real, acc, 0)
    _ifft_step(acc[0], fx[0], fx[1], fx[2], fx[3], fx[4], _fmt(fx[6]), _fmt(fx[7]), macc[t], mifft[t], gh,
               work[2], work[3], qf)


@njit(inline="always", **_JIT)
def _hh_bwd(dgh, fx, mw, real, dacc, dxs, macc, mifft, mfft, t, dh, work):
    """Gradient of :func:`_hh_fwd`: ``dacc[0]`` (the accumulators' gradient) and ``dh`` (overwritten)."""
    _ifft_step_bwd(dgh, fx[0], fx[1], fx[2], fx[3], fx[4], macc[t], mifft[t], dacc[0], work[2], work[3])
    mac_bwd(dacc, 0, mw, real, dxs, 0)
    _fft_step_bwd(dxs[0], fx[0], fx[1], fx[2], fx[3], fx[4], mfft[t], dh, work[0], work[1])


@njit(inline="always", **_JIT)
def _keep(a, s, saved):
    """``saved[:, :, s] = a[0]``: a step's bins or accumulator gradients into their bin-major
    (nb, rows, T, B) copy, which the weight gradient multiplies as (nb, rows, T*B) without a copy."""
    for f in range(saved.shape[0]):
        for r in range(saved.shape[1]):
            for b in range(saved.shape[3]):
                saved[f, r, s, b] = a[0, f, r, b]


@njit(inline="always", **_JIT)
def _work(fx, mw, n):
    """The step buffers of :func:`_hh_fwd`: (k, q*n) twice, (k, p*n) twice."""
    k, q, p = fx[0].shape[0], mw[2].shape[2], mw[2].shape[1]
    return np.empty((k, q * n)), np.empty((k, q * n)), np.empty((k, p * n)), np.empty((k, p * n))


@njit(**_JIT)
def lstm_fwd(gx, tix, fx, mw, real, bias, peep, has_peep, fp, sig, tanh, tanh_c, sv, y, h, c, fast):
    """LSTM direction (no projection): ``gx`` (T, 4H, N) = W_ih x_t -> output ``y`` (T, N, H)
    (zero where no frame is processed), final states ``h``, ``c`` (H, N) and the saved tensors ``sv``.

    ``tix`` (T, N): the frame that step ``s`` processes in sequence ``b`` (``s`` or, reversed,
    ``lengths[b]-1-s``), -1 once the sequence has ended: the step then computes on its frozen state
    and keeps nothing of it. ``bias`` = b_ih + b_hh (sums of grid values are exact in any order).
    ``fp`` rows: gate_acc, sigmoid, tanh, cell, hidden; ``sig``/``tanh`` take gate_acc inputs,
    ``tanh_c`` cell inputs (see :func:`_act_rows`). ``sv`` = (c, gates, dgates, tc, dtc, mc, mm, xs,
    mfft, macc, mifft), indexed by step ``s`` (``xs`` bin-major (nb, 2q, T, N));
    ``gates``/``dgates`` (T, 4H, N)
    hold i, f, g, o and d gate / d pre-activation, ``tc``/``dtc`` q(tanh(c)) and its slope,
    ``mc``/``mm`` the cell and hidden STE masks. ``fast``: every format is RND with SAT."""
    if fast:
        _lstm_fwd(gx, tix, fx, mw, real, bias, peep, has_peep, fp, sig, tanh, tanh_c, sv, y, h, c, _q_rs)
    else:
        _lstm_fwd(gx, tix, fx, mw, real, bias, peep, has_peep, fp, sig, tanh, tanh_c, sv, y, h, c, _q)


@njit(inline="always", **_JIT)
def _lstm_fwd(gx, tix, fx, mw, real, bias, peep, has_peep, fp, sig, tanh, tanh_c, sv, y, h, c, qf):
    c_all, gates, dgates, tc_all, dtc_all, mc_all, mm_all = sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], sv[6]
    xsb, mfft, macc, mifft = sv[7], sv[8], sv[9], sv[10]
    steps, n, hidden = gx.shape[0], gx.shape[2], h.shape[0]
    fa, fc, fh = _fmt(fp[0]), _fmt(fp[3]), _fmt(fp[4])
    fs, ft = _fmt(fp[1]), _fmt(fp[2])
    h[:], c[:] = 0.0, 0.0
    gh, pre = np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n))
    nb, rows, cols = mw[0].shape
    acc, xs = np.empty((1, nb, rows, n)), np.empty((1, nb, cols, n))
    work = _work(fx, mw, n)
    live, tt = np.empty(n, np.bool_), np.empty(n, np.int64)
    for s in range(steps):
        for b in range(n):
            live[b], tt[b] = tix[s, b] >= 0, max(tix[s, b], 0)
        g_t, d_t = gates[s], dgates[s]
        _hh_fwd(h, fx, mw, real, acc, gh, xs, macc, mfft, mifft, s, work, qf)
        _keep(xs, s, xsb)
        for r in range(4 * hidden):
            for b in range(n):
                pre[r, b] = gx[tt[b], r, b] + (gh[r, b] + bias[r])
        if has_peep:
            for u in range(hidden):
                for b in range(n):
                    pre[u, b] += peep[0, u] * c[u, b]
                    pre[hidden + u, b] += peep[1, u] * c[u, b]
        _act_rows(pre, 0, 2 * hidden, g_t, d_t, sig, fs, fa, True, qf)
        _act_rows(pre, 2 * hidden, 3 * hidden, g_t, d_t, tanh, ft, fa, True, qf)
        for u in range(hidden):
            for b in range(n):
                cn, okc = qf(g_t[hidden + u, b] * c[u, b] + g_t[u, b] * g_t[2 * hidden + u, b], fc)
                c[u, b] = cn if live[b] else c[u, b]
                c_all[s, u, b], mc_all[s, u, b] = cn, okc
                if has_peep:
                    pre[3 * hidden + u, b] += peep[2, u] * cn
        _act_rows(pre, 3 * hidden, 4 * hidden, g_t, d_t, sig, fs, fa, True, qf)
        _act_rows(c_all[s], 0, hidden, tc_all[s], dtc_all[s], tanh_c, ft, fa, False, qf)
        for u in range(hidden):
            for b in range(n):
                m, okm = qf(g_t[3 * hidden + u, b] * tc_all[s, u, b], fh)
                h[u, b] = m if live[b] else h[u, b]
                mm_all[s, u, b] = okm
        _scatter_out(h, live, tt, s, y)


@njit(inline="always", **_JIT)
def _scatter_out(h, live, tt, s, y):
    """Output frame of every live sequence: ``y[t, b] = h[:, b]``."""
    for b in range(h.shape[1]):
        if live[b]:
            for u in range(h.shape[0]):
                y[tt[b], b, u] = h[u, b]


@njit(inline="always", **_JIT)
def _gather_dy(dy, live, tt, dys):
    """``dys[:, b]`` = the output gradient of the frame a live sequence processed, else 0."""
    for b in range(dys.shape[1]):
        for u in range(dys.shape[0]):
            dys[u, b] = dy[tt[b], b, u] if live[b] else 0.0


@njit(**_JIT)
def lstm_bwd(dy, tix, dh_end, dc_end, fx, mw, real, peep, has_peep, sv, dgx, dacc, dpeep, dbias):
    """Gradient of :func:`lstm_fwd`: ``dy`` (T, N, H) and the final states' gradients (H, N) ->
    ``dgx`` (T, 4H, N) (= the recurrent role's output gradient; frames not processed are left as
    they are), ``dacc`` (nb, 2p, T, N) (bin-major) for the recurrent weights, ``dpeep`` (3, H) and
    ``dbias`` (4H) (accumulated).
    A step after a sequence's end passes its state gradients through."""
    c_all, gates, dgates, tc_all, dtc_all, mc_all, mm_all = sv[0], sv[1], sv[2], sv[3], sv[4], sv[5], sv[6]
    mfft, macc, mifft = sv[8], sv[9], sv[10]
    steps, n, hidden = tix.shape[0], tix.shape[1], dh_end.shape[0]
    dh, dc = dh_end.copy(), dc_end.copy()
    dxs = np.empty((1, mw[0].shape[0], mw[0].shape[2], n))
    dacc1 = np.empty((1, mw[0].shape[0], mw[0].shape[1], n))
    work = _work(fx, mw, n)
    dhp, dpre, zero = np.empty((hidden, n)), np.empty((4 * hidden, n)), np.zeros((hidden, n))
    dys = np.empty((hidden, n))
    live, tt = np.empty(n, np.bool_), np.empty(n, np.int64)
    h2, h3 = 2 * hidden, 3 * hidden
    for s in range(steps - 1, -1, -1):
        for b in range(n):
            live[b], tt[b] = tix[s, b] >= 0, max(tix[s, b], 0)
        _gather_dy(dy, live, tt, dys)
        cprev = zero if s == 0 else c_all[s - 1]
        g_t, d_t, ct, tct, dtct, mct, mmt = (gates[s], dgates[s], c_all[s], tc_all[s], dtc_all[s],
                                             mc_all[s], mm_all[s])
        # Peephole weights are zeros without peepholes (adding exact zeros changes no value), so this
        # loop has no branch; the peephole weight gradients are summed after it.
        for u in range(hidden):
            pi, pf, po = peep[0, u], peep[1, u], peep[2, u]
            for b in range(n):
                cp = cprev[u, b]
                dm = (dys[u, b] + dh[u, b]) * mmt[u, b]
                dao = dm * tct[u, b] * d_t[h3 + u, b]
                dcell = (dc[u, b] + dm * g_t[h3 + u, b] * dtct[u, b] + dao * po) * mct[u, b]
                dcell = dcell if live[b] else 0.0
                dao = dao if live[b] else 0.0
                dai_ = dcell * g_t[h2 + u, b] * d_t[u, b]
                daf = dcell * cp * d_t[hidden + u, b]
                dpre[h2 + u, b] = dcell * g_t[u, b] * d_t[h2 + u, b]
                dcn = dcell * g_t[hidden + u, b] + (dai_ * pi + daf * pf)
                dc[u, b] = dcn if live[b] else dc[u, b]
                dpre[u, b], dpre[hidden + u, b], dpre[h3 + u, b] = dai_, daf, dao
        if has_peep:
            for u in range(hidden):
                for b in range(n):
                    dpeep[0, u] += dpre[u, b] * cprev[u, b]
                    dpeep[1, u] += dpre[hidden + u, b] * cprev[u, b]
                    dpeep[2, u] += dpre[h3 + u, b] * ct[u, b]
        for r in range(4 * hidden):
            for b in range(n):
                if live[b]:
                    dgx[tt[b], r, b] = dpre[r, b]
                dbias[r] += dpre[r, b]
        _hh_bwd(dpre, fx, mw, real, dacc1, dxs, macc, mifft, mfft, s, dhp, work)
        _keep(dacc1, s, dacc)
        for u in range(hidden):
            for b in range(n):
                dh[u, b] = dhp[u, b] if live[b] else dh[u, b]


@njit(**_JIT)
def gru_fwd(gx, tix, fx, mw, real, bias, bias_ih, fp, sig, tanh, sv, y, h, fast):
    """GRU direction: ``gx`` (T, 3H, N) = W_ih x_t (``bias_ih`` b_ih, ``bias`` b_hh) -> output
    ``y`` (T, N, H), final state
    ``h`` (H, N) and saved ``sv`` = (hs: the state after each step, gates (T, 4H, N): r, z, n,
    q(h_n), dgates: their derivatives (the last one the STE mask of q(h_n)), mh, xs, mfft, macc,
    mifft), indexed by step; ``tix`` and ``fast`` as for :func:`lstm_fwd`."""
    if fast:
        _gru_fwd(gx, tix, fx, mw, real, bias, bias_ih, fp, sig, tanh, sv, y, h, _q_rs)
    else:
        _gru_fwd(gx, tix, fx, mw, real, bias, bias_ih, fp, sig, tanh, sv, y, h, _q)


@njit(inline="always", **_JIT)
def _gru_fwd(gx, tix, fx, mw, real, bias, bias_ih, fp, sig, tanh, sv, y, h, qf):
    hs, gates, dgates, mh_all = sv[0], sv[1], sv[2], sv[3]
    xsb, mfft, macc, mifft = sv[4], sv[5], sv[6], sv[7]
    steps, n, hidden = gx.shape[0], gx.shape[2], h.shape[0]
    fa, fs, ft, fh = _fmt(fp[0]), _fmt(fp[1]), _fmt(fp[2]), _fmt(fp[4])
    h[:] = 0.0
    gh, pre = np.empty((gx.shape[1], n)), np.empty((gx.shape[1], n))
    nb, rows, cols = mw[0].shape
    acc, xs = np.empty((1, nb, rows, n)), np.empty((1, nb, cols, n))
    work = _work(fx, mw, n)
    live, tt = np.empty(n, np.bool_), np.empty(n, np.int64)
    for s in range(steps):
        for b in range(n):
            live[b], tt[b] = tix[s, b] >= 0, max(tix[s, b], 0)
        g_t, d_t = gates[s], dgates[s]
        _hh_fwd(h, fx, mw, real, acc, gh, xs, macc, mfft, mifft, s, work, qf)
        _keep(xs, s, xsb)
        for r in range(2 * hidden):
            for b in range(n):
                pre[r, b] = (gx[tt[b], r, b] + bias_ih[r]) + (gh[r, b] + bias[r])
        for r in range(2 * hidden, 3 * hidden):  # q(h_n) goes to gate slot 3
            for b in range(n):
                g_t[hidden + r, b], d_t[hidden + r, b] = qf(gh[r, b] + bias[r], fa)
        _act_rows(pre, 0, 2 * hidden, g_t, d_t, sig, fs, fa, True, qf)
        for u in range(hidden):
            for b in range(n):
                pre[2 * hidden + u, b] = ((gx[tt[b], 2 * hidden + u, b] + bias_ih[2 * hidden + u])
                                          + g_t[u, b] * g_t[3 * hidden + u, b])
        _act_rows(pre, 2 * hidden, 3 * hidden, g_t, d_t, tanh, ft, fa, True, qf)
        for u in range(hidden):
            for b in range(n):
                nv, z = g_t[2 * hidden + u, b], g_t[hidden + u, b]
                hv, okh = qf(nv + z * (h[u, b] - nv), fh)
                h[u, b] = hv if live[b] else h[u, b]
                hs[s, u, b], mh_all[s, u, b] = h[u, b], okh
        _scatter_out(h, live, tt, s, y)


@njit(**_JIT)
def gru_bwd(dy, tix, dh_end, fx, mw, real, sv, dgx, dgh, dacc, dbias, dbias_ih):
    """Gradient of :func:`gru_fwd`: -> ``dgx`` (T, 3H, N) (frames not processed left as they are),
    ``dgh`` (T, 3H, N) (the recurrent role's output gradient per step), ``dacc`` (nb, 2p, T, N)
    (bin-major), the bias gradients ``dbias`` (b_hh) and ``dbias_ih`` (3H, accumulated)."""
    hs, gates, dgates, mh_all = sv[0], sv[1], sv[2], sv[3]
    mfft, macc, mifft = sv[5], sv[6], sv[7]
    steps, n, hidden = tix.shape[0], tix.shape[1], dh_end.shape[0]
    dh = dh_end.copy()
    dxs = np.empty((1, mw[0].shape[0], mw[0].shape[2], n))
    dacc1 = np.empty((1, mw[0].shape[0], mw[0].shape[1], n))
    work = _work(fx, mw, n)
    dhp, dys, dgxs = np.empty((hidden, n)), np.empty((hidden, n)), np.empty((3 * hidden, n))
    live, tt = np.empty(n, np.bool_), np.empty(n, np.int64)
    for s in range(steps - 1, -1, -1):
        for b in range(n):
            live[b], tt[b] = tix[s, b] >= 0, max(tix[s, b], 0)
        _gather_dy(dy, live, tt, dys)
        first = s == 0
        for u in range(hidden):
            for b in range(n):
                hp = 0.0 if first else hs[s - 1, u, b]
                r, z = gates[s, u, b], gates[s, hidden + u, b]
                nv, hn = gates[s, 2 * hidden + u, b], gates[s, 3 * hidden + u, b]
                dhv = (dys[u, b] + dh[u, b]) * mh_all[s, u, b]
                dhv, keep = (dhv, 0.0) if live[b] else (0.0, dh[u, b])
                dan = dhv * (1.0 - z) * dgates[s, 2 * hidden + u, b]
                daz = dhv * (hp - nv) * dgates[s, hidden + u, b]
                dar_ = dan * hn * dgates[s, u, b]
                dh[u, b] = dhv * z + keep
                dgh[s, u, b], dgh[s, hidden + u, b] = dar_, daz
                dgh[s, 2 * hidden + u, b] = dan * r * dgates[s, 3 * hidden + u, b]
                dgxs[u, b], dgxs[hidden + u, b], dgxs[2 * hidden + u, b] = dar_, daz, dan
        for r in range(3 * hidden):
            for b in range(n):
                if live[b]:
                    dgx[tt[b], r, b] = dgxs[r, b]
                dbias_ih[r] += dgxs[r, b]
                dbias[r] += dgh[s, r, b]
        _hh_bwd(dgh[s], fx, mw, real, dacc1, dxs, macc, mifft, mfft, s, dhp, work)
        _keep(dacc1, s, dacc)
        for u in range(hidden):
            for b in range(n):
                dh[u, b] += dhp[u, b]
