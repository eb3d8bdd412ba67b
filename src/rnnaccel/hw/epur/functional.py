"""Functional mode: run the actual numbers of a network in E-PUR's execution order.

``mwl=True`` follows the MWL schedule (input part W_x·x_t + b for every timestep first, kept as partial
sums, then the recurrence step by step); ``mwl=False`` computes ``W_x·x_t + W_h·h_{t-1}`` per step.
The network is a :class:`rnnaccel.nn.LSTM` / :class:`rnnaccel.nn.GRU` (block-circulant roles are
expanded to their dense matrices: the FFT datapath computes the same product up to rounding).

Two arithmetic paths (the bit-accurate ``rnnaccel.ref`` engine is not available yet):
- ``frac_bits=None``: float64. Equals the float model to ~1e-12 (summation order differs).
- ``frac_bits=f``: fixed point of our own, ``data_bits``-wide words with ``f`` fractional bits
  (round half to even, saturate). Products are exact integers with 2f fractional bits and accumulate
  exactly in int64 (partial sums are kept at accumulator width), so MWL on and off are **bit-identical**;
  sigmoid/tanh are evaluated in float64 on the accumulator value and rounded to the grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FixedPoint", "run_functional"]


@dataclass(frozen=True)
class FixedPoint:
    """A signed ``bits``-wide word with ``frac_bits`` fractional bits (ap_fixed<bits, bits-frac_bits>)."""

    bits: int = 16
    frac_bits: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.frac_bits < self.bits <= 32:
            raise ValueError(f"FixedPoint needs 0 <= frac_bits < bits <= 32, "
                             f"got {self.bits}, {self.frac_bits}")

    def to_int(self, x: np.ndarray, frac: int | None = None) -> np.ndarray:
        """Round to the grid (half to even) and saturate to the word range."""
        q = np.round(np.asarray(x, dtype=np.float64) * 2.0 ** (self.frac_bits if frac is None else frac))
        hi = 2 ** (self.bits - 1) - 1
        return np.clip(q, -hi - 1, hi).astype(np.int64) if frac is None else q.astype(np.int64)

    def to_float(self, q: np.ndarray, frac: int | None = None) -> np.ndarray:
        return q.astype(np.float64) / 2.0 ** (self.frac_bits if frac is None else frac)

    def requant(self, x: np.ndarray) -> np.ndarray:
        """A float value snapped onto the word grid."""
        return self.to_float(self.to_int(x))


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _dense(role: object) -> tuple[np.ndarray, np.ndarray | None]:
    from rnnaccel.nn import dense_weight

    w = dense_weight(role).detach().double().numpy()
    b = getattr(role, "bias", None)
    return w, (None if b is None else b.detach().double().numpy())


class _Arith:
    """Matrix-vector products and elementwise rounding in float64 or in fixed point."""

    def __init__(self, fx: FixedPoint | None) -> None:
        self.fx = fx

    def weights(self, w: np.ndarray) -> np.ndarray:
        return w if self.fx is None else self.fx.to_int(w)

    def bias(self, b: np.ndarray | None, n: int) -> np.ndarray:
        b = np.zeros(n) if b is None else b
        return b if self.fx is None else self.fx.to_int(self.fx.requant(b), 2 * self.fx.frac_bits)

    def matvec(self, w: np.ndarray, x: np.ndarray) -> np.ndarray:
        """``w @ x``; in fixed point an exact int64 accumulator with 2f fractional bits."""
        return w @ (x if self.fx is None else self.fx.to_int(x))

    def value(self, acc: np.ndarray) -> np.ndarray:
        """The real value of an accumulator."""
        return acc if self.fx is None else self.fx.to_float(acc, 2 * self.fx.frac_bits)

    def q(self, x: np.ndarray) -> np.ndarray:
        return x if self.fx is None else self.fx.requant(x)


def _lstm_update(ar: _Arith, a: np.ndarray, c: np.ndarray, peep: tuple | None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sak et al. 2014 LSTM update on the multifunctional unit (gate order i, f, g, o as torch)."""
    a_i, a_f, a_g, a_o = np.split(ar.value(a), 4)
    if peep is not None:
        a_i, a_f = a_i + ar.q(peep[0]) * c, a_f + ar.q(peep[1]) * c
    i, f, g = ar.q(_sig(a_i)), ar.q(_sig(a_f)), ar.q(np.tanh(a_g))
    c_new = ar.q(f * c + i * g)
    if peep is not None:
        a_o = a_o + ar.q(peep[2]) * c_new
    return ar.q(ar.q(_sig(a_o)) * ar.q(np.tanh(c_new))), c_new


def _gru_update(ar: _Arith, ax: np.ndarray, ah: np.ndarray, h: np.ndarray) -> np.ndarray:
    x_r, x_z, x_n = np.split(ar.value(ax), 3)
    h_r, h_z, h_n = np.split(ar.value(ah), 3)
    r, z = ar.q(_sig(x_r + h_r)), ar.q(_sig(x_z + h_z))
    n = ar.q(np.tanh(x_n + ar.q(r * h_n)))
    return ar.q((1 - z) * n + z * h)


def _direction(ar: _Arith, mod: object, xs: np.ndarray, mwl: bool, reverse: bool, gru: bool) -> np.ndarray:
    """One direction over the whole sequence ``xs`` (T, in) -> (T, out)."""
    (wx, bx), (wh, bh) = _dense(mod.ih), _dense(mod.hh)
    wx, wh = ar.weights(wx), ar.weights(wh)
    bx, bh = ar.bias(bx, wx.shape[0]), ar.bias(bh, wh.shape[0])
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    psums = {t: ar.matvec(wx, xs[t]) + bx for t in order} if mwl else {}
    proj = None if gru or mod.proj is None else ar.weights(_dense(mod.proj)[0])
    peep = None if gru or mod.w_ci is None else tuple(p.detach().double().numpy()
                                                       for p in (mod.w_ci, mod.w_cf, mod.w_co))
    h = np.zeros(wh.shape[1])
    c = np.zeros(wh.shape[0] // 4)
    out = np.zeros((len(xs), wh.shape[1]))
    for t in order:
        ax = psums[t] if mwl else ar.matvec(wx, xs[t]) + bx
        if gru:
            h = _gru_update(ar, ax, ar.matvec(wh, h) + bh, h)
        else:
            m, c = _lstm_update(ar, ax + ar.matvec(wh, h) + bh, c, peep)
            h = m if proj is None else ar.q(ar.value(ar.matvec(proj, m)))
        out[t] = h
    return out


def run_functional(model: object, x: object, *, mwl: bool = True,
                   fixed: FixedPoint | None = None) -> np.ndarray:
    """Outputs (T, out) of ``model`` (rnnaccel.nn.LSTM/GRU, unbatched) on ``x`` (T, in), layer by layer
    in the E-PUR order; ``fixed`` selects the fixed-point path (inputs are snapped onto its grid)."""
    from rnnaccel.nn import GRU, LSTM

    if not isinstance(model, LSTM | GRU):
        raise TypeError(f"run_functional needs an rnnaccel.nn.LSTM or GRU, got {type(model).__name__}")
    ar = _Arith(fixed)
    xs = ar.q(np.asarray(x.detach().double().numpy() if hasattr(x, "detach") else x, dtype=np.float64))
    if xs.ndim != 2:
        raise ValueError(f"functional mode runs one sequence (T, in), got shape {xs.shape}")
    for directions in model.layers:
        gru = isinstance(model, GRU)
        outs = [_direction(ar, mod, xs, mwl, d == 1, gru) for d, mod in enumerate(directions)]
        xs = np.concatenate(outs, axis=1)
    return xs
