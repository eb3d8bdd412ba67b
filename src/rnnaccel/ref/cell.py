"""Bit-exact models of the elementwise hardware units: the PWL activation on codes, the LSTM cell
update (peepholes, hidden output) and the GRU update, per element over numpy int64 code arrays.

These are the executable spec of :mod:`rnnaccel.rtl.pwl` and :mod:`rnnaccel.rtl.cell` and compute
exactly what :func:`rnnaccel.ref.engine._lstm_step` / ``_gru_step`` compute, written in the
hardware's terms: the pre-activations arrive as exact sums at ``pre_frac`` fractional bits (the
MAC/IFFT stage's output), every other value is a code of a named point of the ``QuantConfig``
(c_{t-1} in "cell", h_{t-1} in "hidden", peephole weights in "weight"). Exact products and sums are
aligned to the larger fractional width and rounded once per named point with
:func:`rnnaccel.quant.qformat.requantize`, in the order of the engine:

LSTM (Sak et al. 2014, with peepholes):
    i = sigmoid(q_ga(a_i + w_ci c_{t-1}))    f = sigmoid(q_ga(a_f + w_cf c_{t-1}))
    g = tanh(q_ga(a_g))                      c_t = q_cell(f c_{t-1} + i g)
    o = sigmoid(q_ga(a_o + w_co c_t))        m_t = q_hidden(o tanh(c_t))
GRU (torch.nn.GRU semantics):
    r = sigmoid(q_ga(x_r + h_r))             z = sigmoid(q_ga(x_z + h_z))
    n = tanh(q_ga(x_n + r q_ga(h_n)))        h_t = q_hidden(n + z (h_{t-1} - n))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import QFormat, requantize

__all__ = ["CELL_POINTS", "gru_update", "lstm_cell", "pwl_codes", "require_points"]

# The named points the elementwise units round at or read (weight: the peephole codes).
CELL_POINTS: tuple[str, ...] = ("gate_acc", "sigmoid", "tanh", "cell", "hidden", "weight")

_Exact = tuple[np.ndarray, int]  # exact codes and their fractional bits


def require_points(config: QuantConfig, points: Sequence[str]) -> None:
    """Raise ValueError naming the points of ``points`` (and PWLs) that ``config`` leaves float."""
    missing = config.missing(points)
    missing += [n for n in ("sigmoid_pwl", "tanh_pwl") if getattr(config, n) is None]
    if missing:
        raise ValueError(f"the elementwise units need a format for every point; {missing} are float (None)")


def _fmt(config: QuantConfig, point: str) -> QFormat:
    fmt = config[point]
    if fmt is None:
        raise ValueError(f"quantization point {point!r} has no format (None) in the QuantConfig")
    return fmt


def _add(a: _Exact, b: _Exact) -> _Exact:
    f = max(a[1], b[1])
    return (a[0] << (f - a[1])) + (b[0] << (f - b[1])), f


def _mul(a: _Exact, b: _Exact) -> _Exact:
    return a[0] * b[0], a[1] + b[1]


def _q(v: _Exact, config: QuantConfig, point: str) -> _Exact:
    fmt = _fmt(config, point)
    return requantize(v[0], v[1], fmt)[0], fmt.frac


def _codes(config: QuantConfig, point: str, codes: np.ndarray) -> _Exact:
    return np.asarray(codes, np.int64), _fmt(config, point).frac


def pwl_codes(config: QuantConfig, fn: str, codes: np.ndarray, source: str) -> np.ndarray:
    """``fn`` ("sigmoid" | "tanh") of codes of the ``source`` point (gate_acc, cell) -> codes of the
    ``fn`` point: the segments and coefficients of ``config.<fn>_pwl`` (PWLActivation.eval_int)."""
    if fn not in ("sigmoid", "tanh"):
        raise ValueError(f"unknown PWL function {fn!r}, expected 'sigmoid' or 'tanh'")
    pwl = getattr(config, f"{fn}_pwl")
    if pwl is None:
        raise ValueError(f"QuantConfig.{fn}_pwl is None: the hardware needs a PWL {fn}")
    return pwl.eval_int(np.asarray(codes, np.int64), _fmt(config, source).frac, _fmt(config, fn))[0]


def _act(config: QuantConfig, fn: str, v: _Exact, source: str) -> _Exact:
    return pwl_codes(config, fn, v[0], source), _fmt(config, fn).frac


def _gate(config: QuantConfig, fn: str, pre: _Exact) -> _Exact:
    """fn(q_ga(pre)): a gate from its exact pre-activation."""
    return _act(config, fn, _q(pre, config, "gate_acc"), "gate_acc")


def _peep(pre: _Exact, w: _Exact | None, c: _Exact) -> _Exact:
    """pre + w * c (exact), or pre without peepholes."""
    return pre if w is None else _add(pre, _mul(w, c))


def lstm_cell(
    config: QuantConfig,
    gates: Sequence[np.ndarray],
    pre_frac: int,
    c_prev: np.ndarray,
    peephole: Sequence[np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One LSTM cell update per element: ``gates`` = exact pre-activations (a_i, a_f, a_g, a_o) at
    ``pre_frac``; ``c_prev`` cell codes; ``peephole`` = (w_ci, w_cf, w_co) weight codes or None.
    Returns (m_t hidden codes, c_t cell codes)."""
    if len(gates) != 4 or (peephole is not None and len(peephole) != 3):
        raise ValueError("lstm_cell needs 4 gate pre-activations (i, f, g, o) and 3 peephole vectors or None")
    a_i, a_f, a_g, a_o = ((np.asarray(a, np.int64), pre_frac) for a in gates)
    w = [None] * 3 if peephole is None else [_codes(config, "weight", p) for p in peephole]
    c0 = _codes(config, "cell", c_prev)
    i, f = _gate(config, "sigmoid", _peep(a_i, w[0], c0)), _gate(config, "sigmoid", _peep(a_f, w[1], c0))
    g = _gate(config, "tanh", a_g)
    c = _q(_add(_mul(f, c0), _mul(i, g)), config, "cell")
    o = _gate(config, "sigmoid", _peep(a_o, w[2], c))
    m = _q(_mul(o, _act(config, "tanh", c, "cell")), config, "hidden")
    return m[0], c[0]


def gru_update(
    config: QuantConfig,
    gx: Sequence[np.ndarray],
    gx_frac: int,
    gh: Sequence[np.ndarray],
    gh_frac: int,
    h_prev: np.ndarray,
) -> np.ndarray:
    """One GRU update per element: ``gx`` = exact (x_r, x_z, x_n) = W_i* x + b_i* at ``gx_frac``,
    ``gh`` = exact (h_r, h_z, h_n) = W_h* h + b_h* at ``gh_frac``, ``h_prev`` hidden codes.
    Returns h_t hidden codes."""
    if len(gx) != 3 or len(gh) != 3:
        raise ValueError("gru_update needs 3 input and 3 recurrent pre-activations (r, z, n)")
    x_r, x_z, x_n = ((np.asarray(a, np.int64), gx_frac) for a in gx)
    h_r, h_z, h_n = ((np.asarray(a, np.int64), gh_frac) for a in gh)
    r, z = _gate(config, "sigmoid", _add(x_r, h_r)), _gate(config, "sigmoid", _add(x_z, h_z))
    n = _gate(config, "tanh", _add(x_n, _mul(r, _q(h_n, config, "gate_acc"))))
    diff = _add(_codes(config, "hidden", h_prev), (-n[0], n[1]))
    return _q(_add(n, _mul(z, diff)), config, "hidden")[0]
