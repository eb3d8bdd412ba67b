"""Fake-quantized LSTM/GRU over the parameters of an :mod:`rnnaccel.nn` model (for QAT and as the
torch side of the bit-exact chain with :mod:`rnnaccel.ref`).

Per timestep, with every named point of :class:`QPoint` rounding where the hardware rounds
(Sak et al. 2014 LSTM with peepholes and projection; torch.nn.GRU gate semantics):

LSTM: ``a = q_gate_acc(W_ih x + b_ih + W_hh y_{t-1} + b_hh [+ w_c* c])``; ``i, f, o = q_sigmoid(PWL(a))``,
``g = q_tanh(PWL(a_g))``; ``c_t = q_cell(f c_{t-1} + i g)``; ``m_t = q_hidden(o q_tanh(PWL(c_t)))``;
``y_t = q_proj(W_proj m_t)`` (or ``m_t`` without projection).
GRU: ``r, z = q_sigmoid(PWL(q_gate_acc(x_* + h_*)))``;
``n = q_tanh(PWL(q_gate_acc(x_n + r q_gate_acc(h_n))))``;
``h_t = q_hidden(n + z (h_{t-1} - n))``.
Gradients pass the roundings straight through (STE) and the PWL by its own slopes.

This module is the readable definition. A direction that :func:`rnnaccel.quant.fused.fused_reason`
accepts (every point quantized, PWL activations, circulant roles with biases, no projection, no
overflow statistics requested) runs the fused path instead: the same values bit for bit and the same
STE gradients from compiled kernels, ~20x faster for QAT. ``fused=False`` forces this loop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.nn.sequences import check_lengths
from rnnaccel.quant import fused as _fused
from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.roles import QuantContext, prepare_role

__all__ = ["QuantLSTM", "QuantGRU", "quantize"]


def _act(ctx: QuantContext, name: str) -> Callable[[Tensor], Tensor]:
    """sigmoid/tanh: the config's PWL if any (else the exact function), rounded to its point."""
    pwl = getattr(ctx.config, f"{name}_pwl")
    fn = pwl if pwl is not None else getattr(torch, name)
    point = QPoint(name)
    return lambda x: ctx.q(fn(x), point)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _check_seq(x: Tensor, width: int, batch_first: bool) -> Tensor:
    if x.dim() != 3 or x.shape[-1] != width:
        raise ValueError(f"quantized forward needs a 3-D input of width {width}, got shape {tuple(x.shape)}")
    return x.transpose(0, 1) if batch_first else x


class _QuantRNN(nn.Module):
    """Shared wrapper logic: holds the float model (same Parameters) and a frozen QuantConfig.

    ``fused``: let directions that ``fused.fused_reason`` accepts run the fused path (the default);
    False runs this module's reference loop everywhere.
    """

    def __init__(self, model: nn.Module, config: QuantConfig, fused: bool = True) -> None:
        super().__init__()
        if not isinstance(config, QuantConfig):
            raise TypeError(f"config must be a QuantConfig, got {type(config).__name__}")
        self.model, self.config, self.fused = model, config, fused

    def path_reason(self, direction: nn.Module, stats: OverflowStats | None = None) -> str | None:
        """None when ``direction`` runs the fused path, else why it runs the reference loop."""
        return _fused.fused_reason(direction, self.config, stats) if self.fused else "fused=False"

    def forward(self, x: Tensor, hx: object = None, stats: OverflowStats | None = None,
                lengths: object = None) -> tuple:
        """As the float model's forward. All points off: *is* the float model's forward (exact).

        Quantized: zero initial state, output float64 on the grid of the last point; overflow
        counts per point name are added to ``stats``. ``lengths`` (B,): sequence b of the padded batch
        is frames 0..lengths[b]-1, as for the float model: its outputs beyond are zero, its final
        states those of its last frame, its reverse directions start there.
        """
        if self.config.is_float:
            return self.model(x, hx) if lengths is None else self.model(x, hx, lengths=lengths)
        if hx is not None:
            raise ValueError("quantized forward supports only a zero initial state (hx=None)")
        return self.forward_quant(x, stats, lengths)

    def forward_quant(self, x: Tensor, stats: OverflowStats | None = None, lengths: object = None) -> tuple:
        """The quantized dataflow, used even when every point is off (then float64, same ops).

        With unequal ``lengths`` the fused path runs the batch at once; the reference loop (a direction
        off the fused path) runs the sequences one by one."""
        m = self.model
        seq = _check_seq(x, m.input_size, m.batch_first)
        lens = check_lengths(lengths, seq.shape[0], seq.shape[1])
        if lens is not None and not self._all_fused(stats):
            return self._one_by_one(x, stats, lens)
        ctx = QuantContext(self.config, stats)
        seq = ctx.q(seq.double(), QPoint.INPUT)
        finals = []
        for layer, directions in enumerate(m.layers):
            outs = []
            for d, direction in enumerate(directions):
                y, final = self._direction(direction, seq, ctx, d == 1, lens)
                outs.append(y)
                finals.append(final)
            seq = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
            if m.dropout > 0 and self.training and layer < m.num_layers - 1:
                seq = nn.functional.dropout(seq, m.dropout, training=True)
        out = seq.transpose(0, 1) if m.batch_first else seq
        return out, self._stack_finals(finals)

    def _all_fused(self, stats: OverflowStats | None) -> bool:
        return all(self.path_reason(d, stats) is None for layer in self.model.layers for d in layer)

    def _one_by_one(self, x: Tensor, stats: OverflowStats | None, lens: Tensor) -> tuple:
        """forward_quant per sequence over its own frames, outputs zero-padded, finals along the batch."""
        bf = self.model.batch_first
        seq_dim, frames = (1, 0) if bf else (0, 1)
        total = x.shape[seq_dim]
        outs, finals = [], []
        for b, n in enumerate(lens.tolist()):
            one = x.narrow(frames, b, 1).narrow(seq_dim, 0, n)
            y, final = self.forward_quant(one, stats)
            pad = [0, 0] * (2 - seq_dim) + [0, total - n]
            outs.append(nn.functional.pad(y, pad))
            finals.append(final)
        return torch.cat(outs, dim=frames), _cat_finals(finals)


def _cat_finals(finals: list) -> Tensor | tuple[Tensor, ...]:
    """Per-sequence final states (layers x directions, 1, width) joined along the batch."""
    if isinstance(finals[0], tuple):
        return tuple(torch.cat(parts, dim=1) for parts in zip(*finals, strict=True))
    return torch.cat(finals, dim=1)


class QuantLSTM(_QuantRNN):
    """Fake-quantized :class:`rnnaccel.nn.LSTM` (peepholes, projection, circulant or dense roles)."""

    def __init__(self, model: LSTM, config: QuantConfig, fused: bool = True) -> None:
        if not isinstance(model, LSTM):
            raise TypeError(f"QuantLSTM wraps an rnnaccel.nn.LSTM, got {type(model).__name__}")
        super().__init__(model, config, fused)

    @staticmethod
    def _stack_finals(finals: list) -> tuple[Tensor, Tensor]:
        return torch.stack([h for h, _ in finals]), torch.stack([c for _, c in finals])

    def _direction(self, direction: nn.Module, x: Tensor, ctx: QuantContext, reverse: bool,
                   lengths: Tensor | None = None):
        if self.path_reason(direction, ctx.stats) is None:
            return _fused.lstm_direction(direction, x, ctx, reverse, lengths)
        ih, hh = prepare_role(direction.ih, ctx), prepare_role(direction.hh, ctx)
        proj = None if direction.proj is None else prepare_role(direction.proj, ctx)
        peep = direction.peephole()
        peep = None if peep is None else tuple(ctx.q(w.double(), QPoint.WEIGHT) for w in peep)
        sig, tanh = _act(ctx, "sigmoid"), _act(ctx, "tanh")
        gates_x = ih(x)
        out_w = direction.proj_size or direction.hidden_size
        h = x.new_zeros(x.shape[1], out_w)
        c = x.new_zeros(x.shape[1], direction.hidden_size)
        outs = []
        for t in _steps(x.shape[0], reverse):
            h, c = _lstm_step(gates_x[t] + hh(h), c, peep, ctx, sig, tanh, proj)
            outs.append(h)
        return torch.stack(outs[::-1] if reverse else outs), (h, c)


def _lstm_step(pre: Tensor, c_prev: Tensor, peep, ctx: QuantContext, sig, tanh, proj):
    """Elementwise LSTM update (mirrors rnnaccel.nn.cells.lstm_update op for op)."""
    a_i, a_f, a_g, a_o = pre.chunk(4, dim=-1)
    if peep is not None:
        a_i = torch.addcmul(a_i, peep[0], c_prev)
        a_f = torch.addcmul(a_f, peep[1], c_prev)
    i, f = sig(ctx.q(a_i, QPoint.GATE_ACC)), sig(ctx.q(a_f, QPoint.GATE_ACC))
    g = tanh(ctx.q(a_g, QPoint.GATE_ACC))
    c = ctx.q(f * c_prev + i * g, QPoint.CELL)
    if peep is not None:
        a_o = torch.addcmul(a_o, peep[2], c)
    m = ctx.q(sig(ctx.q(a_o, QPoint.GATE_ACC)) * tanh(c), QPoint.HIDDEN)
    return (m if proj is None else ctx.q(proj(m), QPoint.PROJ)), c


class QuantGRU(_QuantRNN):
    """Fake-quantized :class:`rnnaccel.nn.GRU` (circulant or dense roles)."""

    def __init__(self, model: GRU, config: QuantConfig, fused: bool = True) -> None:
        if not isinstance(model, GRU):
            raise TypeError(f"QuantGRU wraps an rnnaccel.nn.GRU, got {type(model).__name__}")
        super().__init__(model, config, fused)

    @staticmethod
    def _stack_finals(finals: list) -> Tensor:
        return torch.stack(finals)

    def _direction(self, direction: nn.Module, x: Tensor, ctx: QuantContext, reverse: bool,
                   lengths: Tensor | None = None):
        if self.path_reason(direction, ctx.stats) is None:
            return _fused.gru_direction(direction, x, ctx, reverse, lengths)
        ih, hh = prepare_role(direction.ih, ctx), prepare_role(direction.hh, ctx)
        sig, tanh = _act(ctx, "sigmoid"), _act(ctx, "tanh")
        gates_x = ih(x)
        h = x.new_zeros(x.shape[1], direction.hidden_size)
        outs = []
        for t in _steps(x.shape[0], reverse):
            h = _gru_step(gates_x[t], hh(h), h, ctx, sig, tanh)
            outs.append(h)
        return torch.stack(outs[::-1] if reverse else outs), h


def _gru_step(gates_x: Tensor, gates_h: Tensor, h_prev: Tensor, ctx: QuantContext, sig, tanh) -> Tensor:
    """GRU update (mirrors rnnaccel.nn.cells.gru_update op for op)."""
    x_r, x_z, x_n = gates_x.chunk(3, dim=-1)
    h_r, h_z, h_n = gates_h.chunk(3, dim=-1)
    r = sig(ctx.q(x_r + h_r, QPoint.GATE_ACC))
    z = sig(ctx.q(x_z + h_z, QPoint.GATE_ACC))
    n = tanh(ctx.q(torch.addcmul(x_n, r, ctx.q(h_n, QPoint.GATE_ACC)), QPoint.GATE_ACC))
    return ctx.q(torch.lerp(n, h_prev, z), QPoint.HIDDEN)


def quantize(model: nn.Module, config: QuantConfig, fused: bool = True) -> _QuantRNN:
    """Wrap an :class:`rnnaccel.nn.LSTM` or :class:`rnnaccel.nn.GRU` (shares its Parameters);
    ``fused=False`` keeps every direction on the reference loop (see ``_QuantRNN``)."""
    if isinstance(model, LSTM):
        return QuantLSTM(model, config, fused)
    if isinstance(model, GRU):
        return QuantGRU(model, config, fused)
    raise TypeError(f"quantize expects an rnnaccel.nn LSTM or GRU, got {type(model).__name__}")
