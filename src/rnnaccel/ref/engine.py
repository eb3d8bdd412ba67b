"""The integer reference engine: block-circulant / dense / pruned LSTM and GRU inference in numpy int64,
as the hardware computes it, batched over utterances.

Every value is a pair (int64 codes, fractional bits). Products and sums are exact (the wide
accumulator), and :func:`rnnaccel.quant.qformat.requantize` rounds at each named point with that
point's QFormat. The sequence of roundings is the one of :mod:`rnnaccel.quant.model` (see its
docstring for the equations), which this engine matches bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from torch import nn

from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.qformat import QFormat, apply_overflow, requantize
from rnnaccel.ref.export import IntCirculant, IntDirection, IntModel, IntRole, export_model
from rnnaccel.ref.fft import irfft_int, rfft_int

__all__ = ["Fx", "RefResult", "ref_lstm", "ref_gru", "run_int_model", "apply_role"]


class Fx(NamedTuple):
    """An exact fixed-point array: value = codes * 2**-frac."""

    codes: np.ndarray
    frac: int

    def align(self, frac: int) -> np.ndarray:
        """Codes at ``frac`` >= self.frac (exact left shift)."""
        return self.codes << (frac - self.frac)

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
class _Engine:
    """What one run needs: the config and the overflow counter."""

    config: QuantConfig
    stats: OverflowStats

    def q(self, v: Fx, point: QPoint) -> Fx:
        fmt = self.config[point]
        codes, n = requantize(v.codes, v.frac, fmt)
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


def _circulant(role: IntCirculant, x: Fx, eng: _Engine) -> Fx:
    """C-LSTM dataflow: q input FFTs, complex MACs over input blocks, one IFFT per output block."""
    cfg, k, lead = eng.config, role.block_size, x.codes.shape[:-1]
    xp = np.zeros((k, role.q, *lead), np.int64)  # FFT axis first (see rnnaccel.ref.fft)
    n_in = x.codes.shape[-1]
    xt = np.moveaxis(x.codes, -1, 0)
    for j in range(role.q):  # block j holds features j*k .. j*k+k-1 (zero padded)
        width = min(k, n_in - j * k)
        xp[:width, j] = xt[j * k : j * k + width]
    xr, xi, ff = rfft_int(xp.reshape(k, role.q, -1), x.frac, role.plan, cfg.fft, eng.stats)
    # Frequency-domain MAC: per bin f, (p, q) @ (q, N).
    wr, wi = np.moveaxis(role.w_re, -1, 0), np.moveaxis(role.w_im, -1, 0)  # (F, p, q)
    acc_frac = ff + cfg.weight.frac
    ar = eng.q(Fx(wr @ xr - wi @ xi, acc_frac), QPoint.FREQ_ACC)
    ai = eng.q(Fx(wr @ xi + wi @ xr, acc_frac), QPoint.FREQ_ACC)
    y, yf = irfft_int(ar.codes, ai.codes, ar.frac, role.plan, cfg.ifft, eng.stats)  # (k, p, N)
    y = np.moveaxis(y, 0, 1).reshape(role.p * k, *lead)[: role.out_features]
    return Fx(np.moveaxis(y, 0, -1), yf)


def apply_role(role: IntRole, x: Fx, eng: _Engine) -> Fx:
    """Exact ``W x + b`` of a role (dense/pruned integer mat-vec, or the circulant FFT pipeline)."""
    if isinstance(role, IntCirculant):
        y = _circulant(role, x, eng)
    else:
        y = Fx(x.codes @ role.weight.T, x.frac + eng.config.weight.frac)
    return y if role.bias is None else y + Fx(role.bias, eng.config.bias.frac)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _lstm_step(pre: Fx, c_prev: Fx, d: IntDirection, eng: _Engine) -> tuple[Fx, Fx]:
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


def _lstm_direction(d: IntDirection, x: Fx, eng: _Engine, reverse: bool, out_point: QPoint):
    gates_x = apply_role(d.ih, x, eng)
    batch = x.codes.shape[1]
    y = Fx(np.zeros((batch, d.hh.in_features), np.int64), eng.config[out_point].frac)
    c = Fx(np.zeros((batch, d.hidden_size), np.int64), eng.config.cell.frac)
    outs = []
    for t in _steps(x.codes.shape[0], reverse):
        y, c = _lstm_step(gates_x[t] + apply_role(d.hh, y, eng), c, d, eng)
        outs.append(y.codes)
    return np.stack(outs[::-1] if reverse else outs), (y.codes, c.codes)


def _gru_step(gx: Fx, gh: Fx, h_prev: Fx, hidden: int, eng: _Engine) -> Fx:
    """One GRU update (torch.nn.GRU semantics: r applied to W_hn h + b_hn)."""
    x_r, x_z, x_n = (gx[..., j * hidden : (j + 1) * hidden] for j in range(3))
    h_r, h_z, h_n = (gh[..., j * hidden : (j + 1) * hidden] for j in range(3))
    r = eng.act(eng.q(x_r + h_r, QPoint.GATE_ACC), "sigmoid")
    z = eng.act(eng.q(x_z + h_z, QPoint.GATE_ACC), "sigmoid")
    n = eng.act(eng.q(x_n + r * eng.q(h_n, QPoint.GATE_ACC), QPoint.GATE_ACC), "tanh")
    return eng.q(n + z * (h_prev - n), QPoint.HIDDEN)


def _gru_direction(d: IntDirection, x: Fx, eng: _Engine, reverse: bool, out_point: QPoint):
    gates_x = apply_role(d.ih, x, eng)
    h = Fx(np.zeros((x.codes.shape[1], d.hidden_size), np.int64), eng.config.hidden.frac)
    outs = []
    for t in _steps(x.codes.shape[0], reverse):
        h = _gru_step(gates_x[t], apply_role(d.hh, h, eng), h, d.hidden_size, eng)
        outs.append(h.codes)
    return np.stack(outs[::-1] if reverse else outs), (h.codes, None)


def _input_codes(model: IntModel, x_int: np.ndarray, eng: _Engine) -> Fx:
    x = np.asarray(x_int)
    if not np.issubdtype(x.dtype, np.integer):
        raise TypeError(f"x_int must hold integer codes of the input format, got dtype {x.dtype}")
    if x.ndim != 3 or x.shape[-1] != model.input_size:
        raise ValueError(f"x_int must be (batch, time, {model.input_size}), got shape {x.shape}")
    codes, n = apply_overflow(np.swapaxes(x.astype(np.int64), 0, 1), model.config.input)
    eng.stats.add(QPoint.INPUT.value, n)
    return Fx(codes, model.config.input.frac)


def run_int_model(model: IntModel, x_int: np.ndarray) -> RefResult:
    """Run an exported model on input codes ``x_int`` (batch, time, input_size) of the "input" format."""
    eng = _Engine(model.config, OverflowStats())
    for point, n in model.export_overflows.items():
        eng.stats.add(point, n)
    seq = _input_codes(model, x_int, eng)
    run = _lstm_direction if model.kind == "lstm" else _gru_direction
    finals = []
    for directions in model.layers:
        outs = [run(d, seq, eng, di == 1, model.output_point) for di, d in enumerate(directions)]
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
