"""Functional mode: run the actual numbers of a network in E-PUR's execution order.

``mwl=True`` follows the MWL schedule (input part W_x·x_t + b for every timestep first, kept as partial
sums, then the recurrence step by step); ``mwl=False`` computes ``W_x·x_t + W_h·h_{t-1}`` per step.
The network is a :class:`rnnaccel.nn.LSTM` / :class:`rnnaccel.nn.GRU`. Two arithmetic paths:

- ``config=None``: float64, block-circulant roles expanded to their dense matrices. Equals the float
  model to ~1e-12 (the summation order differs).
- ``config=QuantConfig``: the bit-accurate integer engine :mod:`rnnaccel.ref` (the executable spec of
  the datapath: every named quantization point, PWL activations, block-circulant roles through the
  fixed-point FFT), run in E-PUR's order through :func:`rnnaccel.ref.run_direction`'s input-part
  ``window`` (all timesteps with MWL, 1 without). Role outputs are exact wide accumulators, so both
  orders give the same bits, equal to :func:`rnnaccel.ref.run_int_model` and to the torch fake-quant
  model ``rnnaccel.quant.quantize(model, config)``.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import round_scaled
from rnnaccel.ref import IntModel, RefResult, export_model, run_int_model

__all__ = ["run_functional", "run_functional_int"]


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _dense(role: object) -> tuple[np.ndarray, np.ndarray]:
    from rnnaccel.nn import dense_weight

    w = dense_weight(role).detach().double().numpy()
    b = getattr(role, "bias", None)
    return w, (np.zeros(w.shape[0]) if b is None else b.detach().double().numpy())


def _lstm_update(a: np.ndarray, c: np.ndarray, peep: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """Sak et al. 2014 LSTM update on the multifunctional unit (gate order i, f, g, o as torch)."""
    a_i, a_f, a_g, a_o = np.split(a, 4)
    if peep is not None:
        a_i, a_f = a_i + peep[0] * c, a_f + peep[1] * c
    c_new = _sig(a_f) * c + _sig(a_i) * np.tanh(a_g)
    if peep is not None:
        a_o = a_o + peep[2] * c_new
    return _sig(a_o) * np.tanh(c_new), c_new


def _gru_update(ax: np.ndarray, ah: np.ndarray, h: np.ndarray) -> np.ndarray:
    x_r, x_z, x_n = np.split(ax, 3)
    h_r, h_z, h_n = np.split(ah, 3)
    r, z = _sig(x_r + h_r), _sig(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h


def _direction(mod: nn.Module, xs: np.ndarray, mwl: bool, reverse: bool, gru: bool) -> np.ndarray:
    """One direction over the whole sequence ``xs`` (T, in) -> (T, out), float64."""
    (wx, bx), (wh, bh) = _dense(mod.ih), _dense(mod.hh)
    order = range(len(xs) - 1, -1, -1) if reverse else range(len(xs))
    psums = xs @ wx.T + bx if mwl else None  # MWL input phase: every timestep's W_x x_t + b first
    proj = None if gru or mod.proj is None else _dense(mod.proj)[0]
    peep = None if gru or mod.w_ci is None else tuple(p.detach().double().numpy()
                                                       for p in (mod.w_ci, mod.w_cf, mod.w_co))
    h, c = np.zeros(wh.shape[1]), np.zeros(wh.shape[0] // 4)
    out = np.zeros((len(xs), wh.shape[1]))
    for t in order:
        ax = psums[t] if mwl else wx @ xs[t] + bx
        if gru:
            h = _gru_update(ax, wh @ h + bh, h)
        else:
            m, c = _lstm_update(ax + wh @ h + bh, c, peep)
            h = m if proj is None else proj @ m
        out[t] = h
    return out


def _is_gru(model: object) -> bool:
    from rnnaccel.nn import GRU, LSTM

    if not isinstance(model, LSTM | GRU):
        raise TypeError(f"run_functional needs an rnnaccel.nn.LSTM or GRU, got {type(model).__name__}")
    return isinstance(model, GRU)


def run_functional_int(
    model: IntModel | nn.Module, x_int: np.ndarray, config: QuantConfig | None = None, *, mwl: bool = True
) -> RefResult:
    """Fixed point on integer input codes ``x_int`` (batch, time, in) of the "input" format, in E-PUR's
    order: output codes, final states and overflow counts per quantization point. ``model`` is an
    exported :class:`rnnaccel.ref.IntModel` or an rnnaccel.nn LSTM/GRU (exported with ``config``)."""
    if not isinstance(model, IntModel):
        if config is None:
            raise ValueError("a QuantConfig is needed to run a torch model in fixed point")
        model = export_model(model, config)
    return run_int_model(model, x_int, window=None if mwl else 1)


def run_functional(model: nn.Module, x: object, *, mwl: bool = True,
                   config: QuantConfig | None = None) -> np.ndarray:
    """Outputs (T, out) of ``model`` (rnnaccel.nn.LSTM/GRU, unbatched) on ``x`` (T, in), layer by layer
    in the E-PUR order. ``config`` selects fixed point: ``x`` is rounded onto the "input" grid (the
    engine saturates it and counts overflows) and the outputs are the exact values of the codes."""
    gru = _is_gru(model)
    xs = np.asarray(x.detach().double().numpy() if hasattr(x, "detach") else x, dtype=np.float64)
    if xs.ndim != 2:
        raise ValueError(f"functional mode runs one sequence (T, in), got shape {xs.shape}")
    if config is not None:
        int_model = export_model(model, config)
        codes = round_scaled(xs * 2.0**config.input.frac, config.input.rounding).astype(np.int64)
        return run_functional_int(int_model, codes[None], mwl=mwl).values[0]
    for directions in model.layers:
        xs = np.concatenate([_direction(mod, xs, mwl, d == 1, gru) for d, mod in enumerate(directions)], 1)
    return xs
