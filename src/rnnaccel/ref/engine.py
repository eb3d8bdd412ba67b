"""The integer reference engine: block-circulant / dense / pruned LSTM and GRU inference in numpy int64,
as the hardware computes it, batched over utterances.

Every value is a pair (int64 codes, fractional bits). Products and sums are exact (the wide
accumulator), and :func:`rnnaccel.quant.qformat.requantize` rounds at each named point with that
point's QFormat. The sequence of roundings is the one of :mod:`rnnaccel.quant.model` (see its
docstring for the equations), which this engine matches bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from torch import nn

from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.qformat import EXACT_LIMIT, QFormat, apply_overflow
from rnnaccel.ref.export import IntCirculant, IntDense, IntDirection, IntModel, IntRole, export_model
from rnnaccel.ref.fft import irfft_stacked, rfft_stacked
from rnnaccel.ref.rounding import requantize_fast

__all__ = [
    "Engine", "Fx", "RefResult", "apply_role", "check_lengths", "input_overflows", "ref_gru", "ref_lstm",
    "run_direction", "run_int_model",
]

# Columns per chunk of a circulant role: its widest array (k, 2, blocks, columns) stays ~2 MiB.
_CHUNK_ELEMENTS = 2**18


class Fx(NamedTuple):
    """An exact fixed-point array: value = codes * 2**-frac."""

    codes: np.ndarray
    frac: int

    def align(self, frac: int) -> np.ndarray:
        """Codes at ``frac`` >= self.frac (exact left shift; the same array when no shift)."""
        return self.codes if frac == self.frac else self.codes << (frac - self.frac)

    def __add__(self, other: Fx) -> Fx:  # type: ignore[override]
        f = max(self.frac, other.frac)
        return Fx(self.align(f) + other.align(f), f)

    def __sub__(self, other: Fx) -> Fx:
        f = max(self.frac, other.frac)
        return Fx(self.align(f) - other.align(f), f)

    def __mul__(self, other: Fx) -> Fx:  # type: ignore[override]
        return Fx(self.codes * other.codes, self.frac + other.frac)

    def __getitem__(self, idx) -> Fx:  # type: ignore[override]
        return Fx(self.codes[idx], self.frac)


@dataclass(frozen=True)
class Engine:
    """What one run needs: the config and the overflow counter (simulators pass one to
    :func:`apply_role` / :func:`run_direction` to compose the datapath in their own order)."""

    config: QuantConfig
    stats: OverflowStats = field(default_factory=OverflowStats)

    def q(self, v: Fx, point: QPoint) -> Fx:
        fmt = self.config[point]
        codes, n = requantize_fast(v.codes, v.frac, fmt)
        self.stats.add(point.value, n)
        return Fx(codes, fmt.frac)

    def act(self, v: Fx, name: str) -> Fx:
        pwl, fmt = getattr(self.config, f"{name}_pwl"), self.config[name]
        codes, n = pwl.eval_int(v.codes, v.frac, fmt)
        self.stats.add(name, n)
        return Fx(codes, fmt.frac)


@dataclass(frozen=True)
class RefResult:
    """Output codes (batch, time, features) in ``output_format``, final states, overflows per point."""

    output: np.ndarray
    output_format: QFormat
    h_n: np.ndarray
    c_n: np.ndarray | None
    overflows: dict[str, int]

    @property
    def values(self) -> np.ndarray:
        """The output as float64 (exact: code * lsb)."""
        return self.output * self.output_format.lsb


def _exact_matmul(a: np.ndarray, b: np.ndarray, bound: int) -> np.ndarray:
    """Exact ``a @ b`` of integer codes (int64, or float64 holding integers below 2**32): float64
    BLAS when ``bound`` (>= every |partial sum|) is below 2**53, so that each partial sum is an exact
    float64 integer whatever the summation order; else int64 (numpy's exact, slower loops)."""
    if bound < EXACT_LIMIT:
        return np.matmul(a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)).astype(np.int64)
    return np.matmul(a.astype(np.int64, copy=False), b.astype(np.int64, copy=False))


def _max_abs(codes: np.ndarray) -> int:
    return max(-int(codes.min(initial=0)), int(codes.max(initial=0)))


def _dense(role: IntDense, cols: np.ndarray) -> np.ndarray:
    """Exact ``cols @ W.T`` for cols (N, in)."""
    return _exact_matmul(cols, role.weight_t_f64, role.max_row_l1 * _max_abs(cols))


def _freq_mac(role: IntCirculant, z: np.ndarray, fft: QFormat) -> np.ndarray:
    """Stacked bins (F, 2, q, N) -> exact [re; im] of sum_j W_ij X_j as (F, 2p, N), all bins at once."""
    xs = z.reshape(z.shape[0], 2 * role.q, -1)
    # After at least one stage the bins are codes of the "fft" format, bounded by its code range.
    amax = max(-fft.code_min, fft.code_max) if role.plan.n_stages else _max_abs(xs)
    return _exact_matmul(role.mac_matrix, xs, role.max_row_l1 * amax)


def _circulant_cols(role: IntCirculant, cols: np.ndarray, frac: int, eng: Engine) -> tuple[np.ndarray, int]:
    """C-LSTM dataflow on cols (N, in): q input FFTs, complex MACs over input blocks, one IFFT per
    output block; returns exact ``W x`` (N, out) codes and their frac."""
    cfg, k, n = eng.config, role.block_size, cols.shape[0]
    xp = np.zeros((n, role.q * k), np.int64)
    xp[:, : cols.shape[1]] = cols  # block j holds features j*k .. j*k+k-1 (zero padded)
    z, ff = rfft_stacked(xp.reshape(n, role.q, k).T, frac, role.plan, cfg.fft, eng.stats)
    acc = eng.q(Fx(_freq_mac(role, z, cfg.fft), ff + cfg.weight.frac), QPoint.FREQ_ACC)
    bins = acc.codes.reshape(z.shape[0], 2, role.p, n)
    y, yf = irfft_stacked(bins, acc.frac, role.plan, cfg.ifft, eng.stats)
    return y.T.reshape(n, role.p * k)[:, : role.out_features], yf


def _role_cols(role: IntRole, cols: np.ndarray, frac: int, eng: Engine) -> Fx:
    """Exact ``W x`` of (N, in) cols; circulant roles in column chunks that keep the FFT arrays small."""
    if not isinstance(role, IntCirculant):
        return Fx(_dense(role, cols), frac + eng.config.weight.frac)
    step = max(1, _CHUNK_ELEMENTS // (2 * role.block_size * max(role.p, role.q)))
    parts = [_circulant_cols(role, cols[i : i + step], frac, eng) for i in range(0, len(cols), step)]
    return Fx(np.concatenate([y for y, _ in parts]) if len(parts) > 1 else parts[0][0], parts[0][1])


def apply_role(role: IntRole, x: Fx, eng: Engine) -> Fx:
    """Exact ``W x + b`` of a role (dense/pruned integer mat-vec, or the circulant FFT pipeline) over
    the last axis of ``x``; every leading axis (time, batch) is one batch of columns."""
    lead = x.codes.shape[:-1]
    y = _role_cols(role, x.codes.reshape(-1, x.codes.shape[-1]), x.frac, eng)
    y = Fx(y.codes.reshape(*lead, -1), y.frac)
    return y if role.bias is None else y + Fx(role.bias, eng.config.bias.frac)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _windows(length: int, reverse: bool, window: int | None) -> list[range]:
    """Processing order cut into windows of ``window`` timesteps (ascending ranges of time indices)."""
    order, w = _steps(length, reverse), window or max(length, 1)
    chunks = [order[i : i + w] for i in range(0, length, w)]
    return [range(min(c), max(c) + 1) for c in chunks]


def _lstm_step(pre: Fx, c_prev: Fx, d: IntDirection, eng: Engine) -> tuple[Fx, Fx]:
    """One LSTM update from the exact pre-activation (Sak et al. 2014 with peepholes)."""
    h = d.hidden_size
    a_i, a_f, a_g, a_o = (pre[..., j * h : (j + 1) * h] for j in range(4))
    wf = eng.config.weight.frac
    peep = None if d.peephole is None else [Fx(w, wf) for w in d.peephole]
    if peep is not None:
        a_i, a_f = a_i + peep[0] * c_prev, a_f + peep[1] * c_prev
    i = eng.act(eng.q(a_i, QPoint.GATE_ACC), "sigmoid")
    f = eng.act(eng.q(a_f, QPoint.GATE_ACC), "sigmoid")
    g = eng.act(eng.q(a_g, QPoint.GATE_ACC), "tanh")
    c = eng.q(f * c_prev + i * g, QPoint.CELL)
    if peep is not None:
        a_o = a_o + peep[2] * c
    o = eng.act(eng.q(a_o, QPoint.GATE_ACC), "sigmoid")
    m = eng.q(o * eng.act(c, "tanh"), QPoint.HIDDEN)
    return (m if d.proj is None else eng.q(apply_role(d.proj, m, eng), QPoint.PROJ)), c


def _gru_step(gx: Fx, gh: Fx, h_prev: Fx, hidden: int, eng: Engine) -> Fx:
    """One GRU update (torch.nn.GRU semantics: r applied to W_hn h + b_hn)."""
    x_r, x_z, x_n = (gx[..., j * hidden : (j + 1) * hidden] for j in range(3))
    h_r, h_z, h_n = (gh[..., j * hidden : (j + 1) * hidden] for j in range(3))
    r = eng.act(eng.q(x_r + h_r, QPoint.GATE_ACC), "sigmoid")
    z = eng.act(eng.q(x_z + h_z, QPoint.GATE_ACC), "sigmoid")
    n = eng.act(eng.q(x_n + r * eng.q(h_n, QPoint.GATE_ACC), QPoint.GATE_ACC), "tanh")
    return eng.q(n + z * (h_prev - n), QPoint.HIDDEN)


def _initial_state(kind: str, d: IntDirection, batch: int, eng: Engine, out_point: QPoint) -> tuple[Fx, Fx]:
    zeros = np.zeros((batch, d.hh.in_features), np.int64)
    cell = eng.config.cell
    c = Fx(np.zeros((batch, d.hidden_size), np.int64), 0 if cell is None else cell.frac)
    return Fx(zeros, eng.config[out_point].frac), c


def _step(kind: str, d: IntDirection, gx: Fx, y: Fx, c: Fx, eng: Engine) -> tuple[Fx, Fx]:
    if kind == "lstm":
        return _lstm_step(gx + apply_role(d.hh, y, eng), c, d, eng)
    return _gru_step(gx, apply_role(d.hh, y, eng), y, d.hidden_size, eng), c


def _active(lengths: np.ndarray | None, t: int) -> np.ndarray | slice:
    """Columns still running at timestep t (all of them without lengths)."""
    return slice(None) if lengths is None else np.flatnonzero(lengths > t)


def _input_part(d: IntDirection, x: Fx, win: range, lengths: np.ndarray | None, eng: Engine) -> Fx:
    """``W_ih x_t + b_ih`` for the timesteps of ``win``, on the valid frames only (padding stays 0)."""
    xw = x[win.start : win.stop]
    if lengths is None:
        return apply_role(d.ih, xw, eng)
    valid = np.arange(win.start, win.stop)[:, None] < lengths[None, :]
    part = apply_role(d.ih, Fx(xw.codes[valid], xw.frac), eng)
    codes = np.zeros((*valid.shape, part.codes.shape[-1]), np.int64)
    codes[valid] = part.codes
    return Fx(codes, part.frac)


def run_direction(
    kind: str, d: IntDirection, x: Fx, eng: Engine, *, reverse: bool = False,
    out_point: QPoint = QPoint.HIDDEN, window: int | None = None, lengths: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray | None]]:
    """One direction of a layer over ``x`` (time, batch, in): output codes (time, batch, out) at
    ``out_point``'s format and the final (h, c) (c None for a GRU).

    The input part ``W_ih x_t + b_ih`` is computed ``window`` timesteps at a time, each window
    before its recurrent steps: ``None`` = all timesteps first (E-PUR with MWL), ``1`` = inside each
    step (E-PUR without MWL). Role outputs are exact, so the result does not depend on ``window``.

    ``lengths`` (batch,) gives each utterance's own length: utterance b runs timesteps
    0..lengths[b]-1 only (the reverse direction starts at its own last frame, the final state is the
    one at that frame), its outputs beyond are 0, and padding is never computed nor counted.
    """
    if kind not in ("lstm", "gru"):
        raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")
    if window is not None and (not isinstance(window, int) or window < 1):
        raise ValueError(f"window must be a positive int or None, got {window!r}")
    y, c = _initial_state(kind, d, x.codes.shape[1], eng, out_point)
    outs: list[np.ndarray] = [np.empty(0)] * x.codes.shape[0]
    for win in _windows(x.codes.shape[0], reverse, window):
        gates_x = _input_part(d, x, win, lengths, eng)
        for t in reversed(win) if reverse else win:
            idx = _active(lengths, t)
            y_t, c_t = _step(kind, d, gates_x[t - win.start][idx], y[idx], c[idx], eng)
            y, c = _update(y, y_t, idx), _update(c, c_t, idx)
            outs[t] = y.codes if lengths is None else _update(Fx(0 * y.codes, y.frac), y_t, idx).codes
    return np.stack(outs), (y.codes, c.codes if kind == "lstm" else None)


def _update(old: Fx, new: Fx, idx: np.ndarray | slice) -> Fx:
    """``old`` with the rows ``idx`` replaced by ``new`` (``new`` itself when idx is every row)."""
    if isinstance(idx, slice):
        return new
    codes = old.codes.copy()
    codes[idx] = new.codes
    return Fx(codes, new.frac)


def check_lengths(lengths: np.ndarray | None, x: np.ndarray, model: IntModel) -> np.ndarray:
    """Validated per-utterance lengths (batch,) int64 for input codes ``x`` (batch, time, in);
    ``None`` = every utterance has the full length."""
    if x.ndim != 3 or x.shape[-1] != model.input_size:
        raise ValueError(f"x_int must be (batch, time, {model.input_size}), got shape {x.shape}")
    if lengths is None:
        return np.full(x.shape[0], x.shape[1], np.int64)
    arr = np.asarray(lengths)
    if arr.shape != (x.shape[0],) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"lengths must be {x.shape[0]} integers (one per utterance), got {lengths!r}")
    if arr.size and (arr.min() < 1 or arr.max() > x.shape[1]):
        raise ValueError(f"lengths must lie in 1..{x.shape[1]} (the padded time axis), got {arr.tolist()}")
    return arr.astype(np.int64)


def input_overflows(x: np.ndarray, lengths: np.ndarray, fmt: QFormat) -> int:
    """Input codes outside ``fmt`` on the valid frames (batch, time, in) of each utterance."""
    valid = np.arange(x.shape[1])[None, :] < lengths[:, None]
    xv = x[valid]
    return int(np.count_nonzero((xv < fmt.code_min) | (xv > fmt.code_max)))


def _input_codes(model: IntModel, x_int: np.ndarray, lengths: np.ndarray | None, eng: Engine) -> Fx:
    x = np.asarray(x_int)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"x_int must hold integer codes of the input format, got dtype {x.dtype}")
    full = check_lengths(lengths, x, model)
    codes, _ = apply_overflow(np.swapaxes(x.astype(np.int64), 0, 1), model.config.input)
    eng.stats.add(QPoint.INPUT.value, input_overflows(x, full, model.config.input))
    return Fx(codes, model.config.input.frac)


def run_int_model(
    model: IntModel, x_int: np.ndarray, *, window: int | None = None, lengths: np.ndarray | None = None
) -> RefResult:
    """Run an exported model on input codes ``x_int`` (batch, time, input_size) of the "input" format;
    ``window`` as in :func:`run_direction` (it changes the order of the work, never the result);
    ``lengths`` (batch,) the utterances' own lengths (see :func:`run_direction`; None = all full)."""
    eng = Engine(model.config)
    for point, n in model.export_overflows.items():
        eng.stats.add(point, n)
    seq = _input_codes(model, x_int, lengths, eng)
    lengths = None if lengths is None else check_lengths(lengths, np.asarray(x_int), model)
    finals = []
    for directions in model.layers:
        outs = [
            run_direction(
                model.kind, d, seq, eng, reverse=di == 1, out_point=model.output_point, window=window,
                lengths=lengths,
            )
            for di, d in enumerate(directions)
        ]
        finals += [fin for _, fin in outs]
        seq = Fx(np.concatenate([o for o, _ in outs], -1), model.output_format.frac)
    c_n = None if model.kind == "gru" else np.stack([c for _, c in finals])
    return RefResult(np.swapaxes(seq.codes, 0, 1), model.output_format,
                     np.stack([h for h, _ in finals]), c_n, dict(eng.stats))


def _as_int_model(model: IntModel | nn.Module, config: QuantConfig | None, kind: str) -> IntModel:
    if not isinstance(model, IntModel):
        if config is None:
            raise ValueError("a QuantConfig is needed to export a torch model")
        model = export_model(model, config)
    if model.kind != kind:
        raise ValueError(f"expected a {kind} model, got a {model.kind} model")
    return model


def ref_lstm(model: IntModel | nn.Module, config: QuantConfig | None, x_int: np.ndarray) -> RefResult:
    """Integer LSTM inference: ``model`` is an :class:`IntModel` or an rnnaccel.nn.LSTM (+ config)."""
    return run_int_model(_as_int_model(model, config, "lstm"), x_int)


def ref_gru(model: IntModel | nn.Module, config: QuantConfig | None, x_int: np.ndarray) -> RefResult:
    """Integer GRU inference: ``model`` is an :class:`IntModel` or an rnnaccel.nn.GRU (+ config)."""
    return run_int_model(_as_int_model(model, config, "gru"), x_int)
