"""Compiled (numba) inference kernels for block-circulant LSTM/GRU directions: one call runs all timesteps.

Imported lazily by ``compiled`` (numba compiles on first use and caches on disk). Per step, in the
module's dtype: the input blocks and the recurrent blocks are transformed by a direct real DFT, all
frequency-domain MACs of the input and recurrent roles accumulate into one spectrum per output block (C-LSTM's
decoupling: q FFTs -> complex MACs -> p IFFTs, with the input and recurrent sums merged before the
single IFFT), then the cell update, then for the LSTMP the projection MACs, whose spectrum is the next
step's recurrent input (no IFFT/FFT in between). Bins 0 and k/2 are real (1 multiply per MAC).

Layouts: spectra ``(F, n)`` real/imag pairs (F = k//2 + 1 bins); weights ``(F, q, p)`` so the inner loop
runs over output blocks with unit stride (vectorized without reassociation), four input blocks per pass;
the projection's weights ``(F, p, q)``: its 32-64 outputs per bin are too few for that loop, so it takes
one reassociated (fastmath ``reassoc``) dot product per output (``_mac_dot``). The gate IDFT runs on
full-width t-major rows ``(k, G*H/k)`` and scatters them to gate-major ``(G, k, H/k)`` with the bias.
Time-domain vectors t-major ``(k, n)`` (feature ``j*k + t`` at ``[t, j]``).
``cst`` holds the dtype's constants (see ``compiled.kernel_constants``): the exp is a
Cody-Waite range reduction with a degree-13 Taylor polynomial and ``2**n`` built from exponent bits,
written so that LLVM vectorizes it (libm calls would not be).
"""

from __future__ import annotations

import numpy as np
from numba import carray, njit, types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

__all__ = ["gru_run", "gru_step", "gru_step_init", "lstm_run", "lstm_step", "lstm_step_cell",
           "lstm_step_init"]

_JIT = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": False}


@njit(**_JIT)
def _exp_parts(a, gain, use_abs, em1, scale_bits, cst):
    """``z = gain * (|a| if use_abs else a)``, clamped to [cst[0], cst[1]], = n ln2 + r (Cody-Waite).

    Writes ``em1 = exp(r) - 1`` (Taylor to r^7 in float32, error < 6e-9; to r^13 in float64) and the
    IEEE exponent field of ``2**n`` into ``scale_bits`` (an int view of the caller's ``scale``).
    """
    lo, hi, log2e, ln2hi, ln2lo, half, one = cst[0], cst[1], cst[2], cst[3], cst[4], cst[5], cst[6]
    c2, c3, c4, c5, c6, c7 = cst[7], cst[8], cst[9], cst[10], cst[11], cst[12]
    c8, c9, c10, c11, c12, c13 = cst[13], cst[14], cst[15], cst[16], cst[17], cst[18]
    bias, shift = cst[19], cst[20]
    for i in range(a.shape[0]):
        x = min(max(gain * (abs(a[i]) if use_abs else a[i]), lo), hi)
        nf = np.floor(x * log2e + half)
        r = (x - nf * ln2hi) - nf * ln2lo
        if a.itemsize == 4:  # a compile-time constant: one branch survives per dtype
            p = c7
        else:
            p = c13 * r + c12
            p = p * r + c11
            p = p * r + c10
            p = p * r + c9
            p = p * r + c8
            p = p * r + c7
        p = p * r + c6
        p = p * r + c5
        p = p * r + c4
        p = p * r + c3
        p = p * r + c2
        p = p * r + one
        em1[i] = p * r
        scale_bits[i] = (nf + bias) * shift


@njit(**_JIT)
def _sigmoid(a, work, bits, cst):
    """In place ``a = 1 / (1 + exp(-a))``; ``work`` (2, N) scratch, ``bits`` = ``work[1]`` viewed as ints."""
    n = a.shape[0]
    em1, scale = work[0, :n], work[1, :n]
    one = cst[6]
    _exp_parts(a, -one, False, em1, bits[:n], cst)
    for i in range(n):
        a[i] = one / (one + (em1[i] + one) * scale[i])


@njit(**_JIT)
def _tanh(a, work, bits, cst):
    """In place ``a = tanh(a) = -sign(a) expm1(-2|a|) / (2 + expm1(-2|a|))`` (no cancellation near 0)."""
    n = a.shape[0]
    em1, scale = work[0, :n], work[1, :n]
    zero, one = cst[6] - cst[6], cst[6]
    two = one + one
    _exp_parts(a, -two, True, em1, bits[:n], cst)
    for i in range(n):
        e = em1[i] if scale[i] == one else (em1[i] + one) * scale[i] - one
        t = -e / (two + e)
        a[i] = t if a[i] >= zero else -t


@njit(**_JIT)
def _zero(a):
    """``a[:] = 0`` for a 1-D array (explicit loops compile much faster than numba's array expressions)."""
    for i in range(a.shape[0]):
        a[i] = 0
    return a


@njit(**_JIT)
def _zero_frames(y, b, start, col0, width):
    """``y[start:, b, col0:col0 + width] = 0``: the frames past sample ``b``'s length."""
    for t in range(start, y.shape[0]):
        _zero(y[t, b, col0:col0 + width])


@njit(**_JIT)
def _add_into(a, b):
    """``a += b`` for 1-D arrays."""
    for i in range(a.shape[0]):
        a[i] += b[i]


@njit(**_JIT)
def _put_columns(src, dst, col0):
    """``dst[:, col0:col0 + src.shape[1]] = src``."""
    for f in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[f, col0 + j] = src[f, j]


@njit(**_JIT)
def _dft(xt, cr, ci, zr, zi, col0):
    """Spectra of the t-major blocks ``xt (k, n)`` into columns ``col0:col0+n`` of ``zr, zi (F, Q)``.

    Four time rows per pass, added in order of t (the same sums as one row per pass).
    """
    k, n = xt.shape
    for f in range(cr.shape[0]):
        outr, outi = _zero(zr[f, col0:col0 + n]), _zero(zi[f, col0:col0 + n])
        t = 0
        while t + 4 <= k:
            a0, a1, a2, a3 = cr[f, t], cr[f, t + 1], cr[f, t + 2], cr[f, t + 3]
            b0, b1, b2, b3 = ci[f, t], ci[f, t + 1], ci[f, t + 2], ci[f, t + 3]
            for j in range(n):
                x0, x1, x2, x3 = xt[t, j], xt[t + 1, j], xt[t + 2, j], xt[t + 3, j]
                sr, si = outr[j], outi[j]
                sr += a0 * x0
                si += b0 * x0
                sr += a1 * x1
                si += b1 * x1
                sr += a2 * x2
                si += b2 * x2
                sr += a3 * x3
                si += b3 * x3
                outr[j], outi[j] = sr, si
            t += 4
        for tt in range(t, k):
            a, b, row = cr[f, tt], ci[f, tt], xt[tt]
            for j in range(n):
                outr[j] += a * row[j]
                outi[j] += b * row[j]


@njit(**_JIT)
def _mac(wr, wi, zr, zi, ar, ai, k):
    """``A[f, i] = sum_j W[f, j, i] Z[f, j]`` (complex); bins 0 and k/2 are real.

    Four input blocks per pass over the outputs, added in registers in the order of j (the same sums,
    rounded the same, as one block per pass) with one load/store of the accumulators per pass.
    """
    nbins, q, p = wr.shape
    for f in range(nbins):
        acr, aci, w, v = _zero(ar[f]), _zero(ai[f]), wr[f], wi[f]
        real_bin = f == 0 or 2 * f == k
        j = 0
        while j + 4 <= q:
            a0, b0, a1, b1 = zr[f, j], zi[f, j], zr[f, j + 1], zi[f, j + 1]
            a2, b2, a3, b3 = zr[f, j + 2], zi[f, j + 2], zr[f, j + 3], zi[f, j + 3]
            if real_bin:
                for i in range(p):
                    s = acr[i]
                    s += w[j, i] * a0
                    s += w[j + 1, i] * a1
                    s += w[j + 2, i] * a2
                    s += w[j + 3, i] * a3
                    acr[i] = s
            else:
                for i in range(p):
                    sr, si = acr[i], aci[i]
                    u, t = w[j, i], v[j, i]
                    sr += u * a0 - t * b0
                    si += u * b0 + t * a0
                    u, t = w[j + 1, i], v[j + 1, i]
                    sr += u * a1 - t * b1
                    si += u * b1 + t * a1
                    u, t = w[j + 2, i], v[j + 2, i]
                    sr += u * a2 - t * b2
                    si += u * b2 + t * a2
                    u, t = w[j + 3, i], v[j + 3, i]
                    sr += u * a3 - t * b3
                    si += u * b3 + t * a3
                    acr[i], aci[i] = sr, si
            j += 4
        for jj in range(j, q):
            xr, xi, w1, w2 = zr[f, jj], zi[f, jj], w[jj], v[jj]
            if real_bin:
                for i in range(p):
                    acr[i] += w1[i] * xr
            else:
                for i in range(p):
                    acr[i] += w1[i] * xr - w2[i] * xi
                    aci[i] += w1[i] * xi + w2[i] * xr


@njit(**dict(_JIT, fastmath={"reassoc"}))
def _mac_dot(wr, wi, zr, zi, ar, ai, k, zero):
    """``_mac`` with the weights ``(F, p, q)`` (outputs first): one dot product over the q inputs per output
    (vectorized as a reassociated reduction; ``zero`` is 0 in the dtype). For the projection, whose 32-64
    outputs per bin are too few for ``_mac``'s loop over outputs."""
    nbins, p, q = wr.shape
    for f in range(nbins):
        xr, xi = zr[f], zi[f]
        if f == 0 or 2 * f == k:
            for i in range(p):
                w, s = wr[f, i], zero
                for j in range(q):
                    s += w[j] * xr[j]
                ar[f, i] = s
        else:
            for i in range(p):
                w, v, sr, si = wr[f, i], wi[f, i], zero, zero
                for j in range(q):
                    sr += w[j] * xr[j] - v[j] * xi[j]
                    si += w[j] * xi[j] + v[j] * xr[j]
                ar[f, i], ai[f, i] = sr, si


@njit(**_JIT)
def _idft(ar, ai, gr, gi, out):
    """Inverse real DFT of the spectra ``(F, n)`` into t-major ``out (k, n)``.

    Even k: ``x[t] = E[t] + O[t]``, ``x[k-t] = E[t] - O[t]`` with E the cosine and O the sine sums
    (O = 0 at t = 0, k/2), about half the multiplies of the direct sum, which odd k uses.
    """
    if out.shape[0] % 2 == 1:
        _idft_direct(ar, ai, gr, gi, out.reshape((1, out.shape[0], out.shape[1])))
    else:
        _idft_rows(ar, ai, gr, gi, out)


@njit(**_JIT)
def _idft_gates(ar, ai, gr, gi, bias, rows, out):
    """``out (G, k, m)`` gate-major = inverse DFT of the spectra ``(F, G*m)`` + ``bias`` (G, k, m);
    ``rows (k, G*m)`` scratch."""
    if out.shape[1] % 2 == 1:
        _idft_direct(ar, ai, gr, gi, out)
        _add_into(out.reshape(out.size), bias.reshape(bias.size))
    else:
        _idft_rows(ar, ai, gr, gi, rows)
        _rows_to_gates(rows, bias, out)


@njit(**_JIT)
def _idft_rows(ar, ai, gr, gi, rows):
    """Inverse real DFT (even k, see ``_idft``) of the spectra ``(F, n)`` into t-major ``rows (k, n)``.

    Full-width rows (all gates), four bins per pass, added in order of f: per-gate rows of 32-64 values
    spent more in loop set-up than in arithmetic.
    """
    k, n = rows.shape
    half, nbins = k // 2, ar.shape[0]
    for t in range(half + 1):
        even = _zero(rows[t])
        f = 0
        while f + 4 <= nbins:
            c0, c1, c2, c3 = gr[t, f], gr[t, f + 1], gr[t, f + 2], gr[t, f + 3]
            for u in range(n):
                acc = even[u]
                acc += c0 * ar[f, u]
                acc += c1 * ar[f + 1, u]
                acc += c2 * ar[f + 2, u]
                acc += c3 * ar[f + 3, u]
                even[u] = acc
            f += 4
        for ff in range(f, nbins):
            c = gr[t, ff]
            for u in range(n):
                even[u] += c * ar[ff, u]
        if 0 < t < half:
            odd = _zero(rows[k - t])
            f = 1
            while f + 4 <= half:
                c0, c1, c2, c3 = gi[t, f], gi[t, f + 1], gi[t, f + 2], gi[t, f + 3]
                for u in range(n):
                    acc = odd[u]
                    acc += c0 * ai[f, u]
                    acc += c1 * ai[f + 1, u]
                    acc += c2 * ai[f + 2, u]
                    acc += c3 * ai[f + 3, u]
                    odd[u] = acc
                f += 4
            for ff in range(f, half):
                c = gi[t, ff]
                for u in range(n):
                    odd[u] += c * ai[ff, u]
            for u in range(n):
                e, o = even[u], odd[u]
                even[u], odd[u] = e + o, e - o


@njit(**_JIT)
def _rows_to_gates(rows, bias, out):
    """``out[g, t, u] = rows[t, g*m + u] + bias[g, t, u]``: t-major rows -> gate-major ``(G, k, m)``."""
    ngates, k, m = out.shape
    for g in range(ngates):
        for t in range(k):
            src, b, dst = rows[t, g * m:(g + 1) * m], bias[g, t], out[g, t]
            for u in range(m):
                dst[u] = src[u] + b[u]


@njit(**_JIT)
def _idft_direct(ar, ai, gr, gi, out):
    """``out[g, t] = sum_f gr[t, f] Re + gi[t, f] Im`` (any k)."""
    ngates, k, m = out.shape
    for g in range(ngates):
        for t in range(k):
            row = _zero(out[g, t])
            for f in range(ar.shape[0]):
                a, b = gr[t, f], gi[t, f]
                sr, si = ar[f, g * m:(g + 1) * m], ai[f, g * m:(g + 1) * m]
                for u in range(m):
                    row[u] += a * sr[u] + b * si[u]


@njit(**_JIT)
def _to_tmajor(vec, out):
    """Natural ``(n*k,)`` (zero-padded when shorter) -> t-major ``out (k, n)``."""
    k, n = out.shape
    for t in range(k):
        for j in range(n):
            idx = j * k + t
            out[t, j] = vec[idx] if idx < vec.shape[0] else 0


@njit(**_JIT)
def _from_tmajor(xt, out):
    """t-major ``xt (k, n)`` -> natural ``out (n*k,)``."""
    k, n = xt.shape
    for t in range(k):
        for j in range(n):
            out[j * k + t] = xt[t, j]


@njit(**_JIT)
def _add_natural(gates, gx):
    """``gates (G, k, m) += gx`` given in natural gate order ``(G*m*k,)``."""
    ngates, k, m = gates.shape
    for g in range(ngates):
        for t in range(k):
            for u in range(m):
                gates[g, t, u] += gx[(g * m + u) * k + t]


@njit(**_JIT)
def _lstm_cell(gates, c, peep, work, bits, cst):
    """Sak et al. 2014 update on gate-major ``gates (4, k, m)`` (bias added), t-major ``c (k, m)`` in place.

    Returns ``m_t`` t-major in ``gates[0]``: i, f = σ(a + w∘c_{t-1}); c_t = f∘c_{t-1} + i∘tanh(a_g);
    o = σ(a_o + w_co∘c_t); m_t = o∘tanh(c_t).
    """
    k, m = c.shape
    n = k * m
    flat, cf = gates.reshape(4 * n), c.reshape(n)
    pf = peep.reshape(3 * n)
    for i in range(n):
        flat[i] += pf[i] * cf[i]
        flat[n + i] += pf[n + i] * cf[i]
    _sigmoid(flat[:2 * n], work, bits, cst)
    _tanh(flat[2 * n:3 * n], work, bits, cst)
    for i in range(n):
        cf[i] = flat[n + i] * cf[i] + flat[i] * flat[2 * n + i]
        flat[3 * n + i] += pf[2 * n + i] * cf[i]
        flat[i] = cf[i]
    _sigmoid(flat[3 * n:], work, bits, cst)
    _tanh(flat[:n], work, bits, cst)
    for i in range(n):
        flat[i] *= flat[3 * n + i]


@njit(**_JIT)
def lstm_run(x, gx, h0, c0, y, y_off, hn, cn, idx, wzr, wzi, wpr, wpi, bias, peep, dft, cst, ilike, lengths,
             reverse):
    """LSTM(P) direction over ``x (T, B, in)`` into ``y[:, :, y_off:y_off+out]``, ``hn[idx]``, ``cn[idx]``.

    The states are ``(layers*directions, B, out|H)`` arrays; ``idx`` picks this direction's slice.
    Sample ``b`` runs over frames ``0..lengths[b]-1`` (the reverse direction starts at its last frame);
    its outputs beyond are zero.

    ``gx (T, B, 4H)`` is the time-domain input part when the input role is not fused (then ``wzr`` has
    only recurrent columns), else ``(T, B, 0)``. ``wpr/wpi (F, P/k, H/k)`` is the projection, output
    blocks first (P/k = 0: none; see ``_mac_dot``). ``bias``/``peep`` gate-major t-major
    ``(4|3, k, H/k)``; ``dft`` stacks the DFT tables.
    """
    cr, ci, gr, gi = dft[0], dft[1], dft[2].T, dft[3].T
    nbins, k = cr.shape
    pg, m = wzr.shape[2], wzr.shape[2] // 4
    out_w, pp = hn.shape[2], wpr.shape[1]
    q_in = wzr.shape[1] - out_w // k
    zr, zi = np.empty((nbins, wzr.shape[1]), x.dtype), np.empty((nbins, wzr.shape[1]), x.dtype)
    ar, ai = np.empty((nbins, pg), x.dtype), np.empty((nbins, pg), x.dtype)
    gates, c = np.empty((4, k, m), x.dtype), np.empty((k, m), x.dtype)
    work = np.empty((2, 2 * k * m), x.dtype)
    bits = work[1].view(ilike.dtype)
    xt, ht = np.empty((k, q_in), x.dtype), np.empty((1, k, out_w // k), x.dtype)
    pr, pi = np.empty((nbins, m), x.dtype), np.empty((nbins, m), x.dtype)
    no_gx, rows = np.empty(0, x.dtype), np.empty((k, pg), x.dtype)
    sr, si = np.empty((nbins, pp), x.dtype), np.empty((nbins, pp), x.dtype)
    # the owners above stay alive for the call; inside, views are refcount-free (see ``_raw``)
    _lstm_samples(_raw(x), _raw(gx), _raw(h0), _raw(c0), _raw(y), y_off, _raw(hn), _raw(cn), idx, _raw(wzr),
                  _raw(wzi), _raw(wpr), _raw(wpi), _raw(bias), _raw(peep), cr, ci, gr, gi, _raw(cst),
                  _raw(lengths), reverse, _raw(zr), _raw(zi), _raw(ar), _raw(ai), _raw(gates), _raw(c),
                  _raw(work), _raw(bits), _raw(xt), _raw(ht), _raw(pr), _raw(pi), _raw(sr), _raw(si),
                  _raw(no_gx), _raw(rows))


@njit(**_JIT)
def _lstm_samples(x, gx, h0, c0, y, y_off, hn, cn, idx, wzr, wzi, wpr, wpi, bias, peep, cr, ci, gr, gi, cst,
                  lengths, reverse, zr, zi, ar, ai, gates, c, work, bits, xt, ht, pr, pi, sr, si, no_gx,
                  rows):
    """``lstm_run``'s loop over samples and frames (arguments as there, scratch allocated by it)."""
    q_in, out_w = xt.shape[1], hn.shape[2]
    for b in range(x.shape[1]):
        _to_tmajor(c0[idx, b], c)
        _to_tmajor(h0[idx, b], ht[0])
        _dft(ht[0], cr, ci, zr, zi, q_in)
        steps = lengths[b]
        _zero_frames(y, b, steps, y_off, out_w)
        for s in range(steps):
            t = steps - 1 - s if reverse else s
            gxt = gx[t, b] if gx.shape[2] > 0 else no_gx
            _lstm_frame(x[t, b], gxt, wzr, wzi, wpr, wpi, bias, peep, cr, ci, gr, gi, cst, zr, zi, ar, ai,
                        gates, c, work, bits, xt, ht, pr, pi, sr, si, rows)
            _from_tmajor(ht[0], y[t, b, y_off:y_off + out_w])
        _from_tmajor(ht[0], hn[idx, b])
        _from_tmajor(c, cn[idx, b])


@njit(**_JIT)
def _lstm_frame(x, gx, wzr, wzi, wpr, wpi, bias, peep, cr, ci, gr, gi, cst, zr, zi, ar, ai, gates, c, work,
                bits, xt, ht, pr, pi, sr, si, rows):
    """One LSTM(P) step: input ``x`` (natural), ``gx`` its unfused time-domain part (or empty).

    State: ``c`` t-major, the output ``ht`` t-major and its spectrum in columns ``q_in:`` of ``zr/zi``
    (updated in place); the other arrays are scratch (shapes as in ``lstm_run``).
    """
    k, q_in, pp = cr.shape[1], xt.shape[1], wpr.shape[1]
    if q_in > 0:
        _to_tmajor(x, xt)
        _dft(xt, cr, ci, zr, zi, 0)
    _mac(wzr, wzi, zr, zi, ar, ai, k)
    _idft_gates(ar, ai, gr, gi, bias, rows, gates)
    if gx.shape[0] > 0:
        _add_natural(gates, gx)
    _lstm_cell(gates, c, peep, work, bits, cst)
    if pp > 0:
        _dft(gates[0], cr, ci, pr, pi, 0)  # m_t -> spectrum -> projection MACs
        _mac_dot(wpr, wpi, pr, pi, sr, si, k, cst[6] - cst[6])
        _put_columns(sr, zr, q_in)
        _put_columns(si, zi, q_in)
        _idft(sr, si, gr, gi, ht[0])
    else:
        _add_into(_zero(ht.reshape(ht.size)), gates[0].reshape(ht.size))
        _dft(ht[0], cr, ci, zr, zi, q_in)


@njit(**_JIT)
def gru_run(x, gx, h0, y, y_off, hn, idx, wxr, wxi, b_ih, whr, whi, b_hh, dft, cst, ilike, lengths, reverse):
    """GRU direction (torch semantics) over ``x (T, B, in)`` into ``y[:, :, y_off:y_off+H]`` and ``hn[idx]``.

    ``h0``, ``hn`` are ``(layers*directions, B, H)``; ``idx`` picks this direction's slice.

    Input part: ``wxr/wxi (F, q_in, 3H/k)`` spectra of a fused circulant input role (``gx`` is then
    ``(T, B, 0)``), or ``q_in = 0`` and ``gx (T, B, 3H)`` its time-domain output (``b_ih`` included).
    ``whr/whi (F, H/k, 3H/k)`` recurrent spectra; ``b_ih``, ``b_hh`` gate-major t-major ``(3, k, H/k)``:
    r, z = σ(x + h); n = tanh(x_n + r∘h_n); h_t = (1 - z)∘n + z∘h_{t-1}. ``lengths`` as in ``lstm_run``.
    """
    cr, ci, gr, gi = dft[0], dft[1], dft[2].T, dft[3].T
    nbins, k = cr.shape
    q_in, m = wxr.shape[1], whr.shape[1]
    n, dt = k * m, x.dtype
    zr, zi, ar, ai = (np.empty((nbins, m), dt), np.empty((nbins, m), dt), np.empty((nbins, 3 * m), dt),
                      np.empty((nbins, 3 * m), dt))
    xr, xi, xt = np.empty((nbins, q_in), dt), np.empty((nbins, q_in), dt), np.empty((k, q_in), dt)
    gh, gxs, h = np.empty((3, k, m), dt), np.empty((3, k, m), dt), np.empty((k, m), dt)
    work = np.empty((2, 2 * n), dt)
    bits = work[1].view(ilike.dtype)
    no_gx, rows = np.empty(0, dt), np.empty((k, 3 * m), dt)
    # the owners above stay alive for the call; inside, views are refcount-free (see ``_raw``)
    _gru_samples(_raw(x), _raw(gx), _raw(h0), _raw(y), y_off, _raw(hn), idx, _raw(wxr), _raw(wxi),
                 _raw(b_ih), _raw(whr), _raw(whi), _raw(b_hh), cr, ci, gr, gi, _raw(cst), _raw(lengths),
                 reverse, _raw(zr), _raw(zi), _raw(ar), _raw(ai), _raw(xr), _raw(xi), _raw(xt), _raw(gh),
                 _raw(gxs), _raw(h), _raw(work), _raw(bits), _raw(no_gx), _raw(rows))


@njit(**_JIT)
def _gru_samples(x, gx, h0, y, y_off, hn, idx, wxr, wxi, b_ih, whr, whi, b_hh, cr, ci, gr, gi, cst, lengths,
                 reverse, zr, zi, ar, ai, xr, xi, xt, gh, gxs, h, work, bits, no_gx, rows):
    """``gru_run``'s loop over samples and frames (arguments as there, scratch allocated by it)."""
    n = h.size
    for b in range(x.shape[1]):
        _to_tmajor(h0[idx, b], h)
        steps = lengths[b]
        _zero_frames(y, b, steps, y_off, n)
        for s in range(steps):
            t = steps - 1 - s if reverse else s
            gxt = gx[t, b] if gx.shape[2] > 0 else no_gx
            _gru_frame(x[t, b], gxt, wxr, wxi, b_ih, whr, whi, b_hh, cr, ci, gr, gi, cst, zr, zi, ar, ai, xr,
                       xi, xt, gh, gxs, h, work, bits, rows)
            _from_tmajor(h, y[t, b, y_off:y_off + n])
        _from_tmajor(h, hn[idx, b])


@njit(**_JIT)
def _gru_frame(x, gx, wxr, wxi, b_ih, whr, whi, b_hh, cr, ci, gr, gi, cst, zr, zi, ar, ai, xr, xi, xt, gh,
               gxs, h, work, bits, rows):
    """One GRU step: input ``x`` (natural), ``gx`` its unfused time-domain part (or empty); ``h`` t-major
    ``(k, H/k)`` updated in place; the other arrays are scratch (shapes as in ``gru_run``)."""
    k, q_in = cr.shape[1], wxr.shape[1]
    n = h.size
    ghf, gxf = gh.reshape(3 * n), gxs.reshape(3 * n)
    _dft(h, cr, ci, zr, zi, 0)
    _mac(whr, whi, zr, zi, ar, ai, k)
    _idft_gates(ar, ai, gr, gi, b_hh, rows, gh)
    if q_in > 0:
        _to_tmajor(x, xt)
        _dft(xt, cr, ci, xr, xi, 0)
        _mac(wxr, wxi, xr, xi, ar, ai, k)
        _idft_gates(ar, ai, gr, gi, b_ih, rows, gxs)
    else:
        _add_natural(_zero(gxf).reshape(gxs.shape), gx)
    _gru_cell(gxf, ghf, h.reshape(n), work, bits, cst)


@njit(**_JIT)
def _gru_cell(gx, gh, h, work, bits, cst):
    """GRU update on flat gate-major t-major pre-activations ``gx``, ``gh`` (3n); ``h`` (n) in place."""
    n = h.shape[0]
    for i in range(2 * n):
        gx[i] += gh[i]
    _sigmoid(gx[:2 * n], work, bits, cst)
    for i in range(n):
        gx[2 * n + i] += gx[i] * gh[2 * n + i]
    _tanh(gx[2 * n:], work, bits, cst)
    for i in range(n):
        h[i] = gx[2 * n + i] + gx[n + i] * (h[i] - gx[2 * n + i])


# Streaming steps: one frame of one layer per call, everything in one packed buffer (``compiled.StepPack``:
# weights, scratch, the state in the kernels' layouts and the natural-order output/state), so a call unboxes
# three arrays instead of twenty and allocates nothing. ``meta[i] = (offset, d0, d1, d2)`` locates array i
# (its shape, trailing 1s for fewer dimensions).


@intrinsic
def _pointer_to(typingctx, address, like):
    """``address`` (an int) as a pointer to ``like``'s dtype (for ``carray``)."""
    ptr = types.CPointer(like.dtype)

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], context.get_value_type(ptr))

    return ptr(address, like), codegen


@intrinsic
def _element_pointer(typingctx, arr, offset):
    """A pointer to ``arr``'s element ``offset`` (flat, C order)."""
    ptr = types.CPointer(arr.dtype)

    def codegen(context, builder, signature, args):
        data = make_array(signature.args[0])(context, builder, value=args[0]).data
        return builder.gep(data, [args[1]])

    return ptr(arr, offset), codegen


@njit(**_JIT)
def _raw(a):
    """``a`` (C-contiguous) as a view by pointer: slicing it updates no reference count (numba's atomic
    increments per view cost as much as the arithmetic of a short row). The caller keeps ``a`` alive."""
    if not a.flags.c_contiguous:
        raise ValueError("the compiled kernels take C-contiguous arrays")
    return carray(_element_pointer(a, 0), a.shape)


# Views of ``buf`` by pointer (``carray``): no reference count to update and no reshape checks (building
# them as slices + reshapes cost ~1 µs per step for the 24 arrays); ``buf`` outlives every call.
@njit(**_JIT)
def _v1(buf, meta, i):
    return carray(_element_pointer(buf, meta[i, 0]), (meta[i, 1],))


@njit(**_JIT)
def _v2(buf, meta, i):
    return carray(_element_pointer(buf, meta[i, 0]), (meta[i, 1], meta[i, 2]))


@njit(**_JIT)
def _v3(buf, meta, i):
    return carray(_element_pointer(buf, meta[i, 0]), (meta[i, 1], meta[i, 2], meta[i, 3]))


@njit(**_JIT)
def _lstm_views(buf, meta):
    dft = _v3(buf, meta, 6)
    return (_v3(buf, meta, 0), _v3(buf, meta, 1), _v3(buf, meta, 2), _v3(buf, meta, 3), _v3(buf, meta, 4),
            _v3(buf, meta, 5), dft[0], dft[1], dft[2].T, dft[3].T, _v1(buf, meta, 7), _v2(buf, meta, 8),
            _v2(buf, meta, 9), _v2(buf, meta, 10), _v2(buf, meta, 11), _v3(buf, meta, 12),
            _v2(buf, meta, 13), _v2(buf, meta, 14), _v2(buf, meta, 15), _v3(buf, meta, 16),
            _v2(buf, meta, 17), _v2(buf, meta, 18), _v2(buf, meta, 19), _v2(buf, meta, 20))


@njit(**_JIT)
def lstm_step(address, n_in, buf, bits, meta):
    """One frame of an LSTM(P) layer with a fused input role: ``n_in`` values at ``address`` (the caller
    checks dtype, size and contiguity) -> output ``h`` (natural order, ``meta[21]``); the natural-order ``c``
    (``meta[22]``) is written only by ``lstm_step_cell`` (when the state is read)."""
    x = carray(_pointer_to(address, buf), (n_in,))
    (wzr, wzi, wpr, wpi, bias, peep, cr, ci, gr, gi, cst, zr, zi, ar, ai, gates, c, work, xt, ht, pr, pi, sr,
     si) = _lstm_views(buf, meta)
    _lstm_frame(x, x[:0], wzr, wzi, wpr, wpi, bias, peep, cr, ci, gr, gi, cst, zr, zi, ar, ai, gates, c, work,
                bits, xt, ht, pr, pi, sr, si, _v2(buf, meta, 23))
    _from_tmajor(ht[0], _v1(buf, meta, 21))


@njit(**_JIT)
def lstm_step_cell(buf, meta):
    """The natural-order ``c`` (``meta[22]``) from the kernel's t-major one."""
    _from_tmajor(_v2(buf, meta, 13), _v1(buf, meta, 22))


@njit(**_JIT)
def lstm_step_init(buf, meta):
    """The kernels' state (t-major ``h``, its spectrum, t-major ``c``) from the natural ``h`` and ``c``."""
    (_, _, _, _, _, _, cr, ci, _, _, _, zr, zi, _, _, _, c, _, xt, ht, _, _, _, _) = _lstm_views(buf, meta)
    _to_tmajor(_v1(buf, meta, 21), ht[0])
    _to_tmajor(_v1(buf, meta, 22), c)
    _dft(ht[0], cr, ci, zr, zi, xt.shape[1])


@njit(**_JIT)
def _gru_views(buf, meta):
    dft = _v3(buf, meta, 6)
    return (_v3(buf, meta, 0), _v3(buf, meta, 1), _v3(buf, meta, 2), _v3(buf, meta, 3), _v3(buf, meta, 4),
            _v3(buf, meta, 5), dft[0], dft[1], dft[2].T, dft[3].T, _v1(buf, meta, 7), _v2(buf, meta, 8),
            _v2(buf, meta, 9), _v2(buf, meta, 10), _v2(buf, meta, 11), _v2(buf, meta, 12),
            _v2(buf, meta, 13), _v2(buf, meta, 14), _v3(buf, meta, 15), _v3(buf, meta, 16),
            _v2(buf, meta, 17), _v2(buf, meta, 18))


@njit(**_JIT)
def gru_step(address, n_in, buf, bits, meta):
    """One frame of a GRU layer with a fused input role (as ``lstm_step``); output ``h`` at ``meta[19]``."""
    x = carray(_pointer_to(address, buf), (n_in,))
    (wxr, wxi, b_ih, whr, whi, b_hh, cr, ci, gr, gi, cst, zr, zi, ar, ai, xr, xi, xt, gh, gxs, h,
     work) = _gru_views(buf, meta)
    _gru_frame(x, x[:0], wxr, wxi, b_ih, whr, whi, b_hh, cr, ci, gr, gi, cst, zr, zi, ar, ai, xr, xi, xt, gh,
               gxs, h, work, bits, _v2(buf, meta, 20))
    _from_tmajor(h, _v1(buf, meta, 19))


@njit(**_JIT)
def gru_step_init(buf, meta):
    """The kernel's t-major ``h`` from the natural ``h``."""
    _to_tmajor(_v1(buf, meta, 19), _v2(buf, meta, 17))
