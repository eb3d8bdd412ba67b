"""Single-timestep LSTM/GRU cell math, public so the fixed-point models can mirror it exactly.

Gate orders follow torch: LSTM (i, f, g, o), GRU (r, z, n). The input part of the gate pre-activations
(``W_ih x_t + b_ih``) is precomputed by the caller for all timesteps at once (E-PUR's MWL split).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["gru_cell_step", "gru_update", "lstm_cell_step", "lstm_update"]

Peephole = tuple[Tensor, Tensor, Tensor]


def lstm_update(gates: Tensor, c_prev: Tensor, peephole: Peephole | None = None) -> tuple[Tensor, Tensor]:
    """Elementwise LSTM update from full gate pre-activations ``(B, 4H)``; returns ``(m_t, c_t)``.

    Sak et al. 2014 (the "Google LSTM" of ESE/C-LSTM/E-RNN): with peepholes ``(w_ci, w_cf, w_co)``,
    ``i = σ(a_i + w_ci∘c_{t-1})``, ``f = σ(a_f + w_cf∘c_{t-1})``, ``g = tanh(a_g)``,
    ``c_t = f∘c_{t-1} + i∘g``, ``o = σ(a_o + w_co∘c_t)``, ``m_t = o∘tanh(c_t)``.
    """
    a_i, a_f, a_g, a_o = gates.chunk(4, dim=-1)
    if peephole is not None:
        a_i = torch.addcmul(a_i, peephole[0], c_prev)
        a_f = torch.addcmul(a_f, peephole[1], c_prev)
    c = torch.sigmoid(a_f) * c_prev + torch.sigmoid(a_i) * torch.tanh(a_g)
    if peephole is not None:
        a_o = torch.addcmul(a_o, peephole[2], c)
    return torch.sigmoid(a_o) * torch.tanh(c), c


def lstm_cell_step(gates_x: Tensor, h_prev: Tensor, c_prev: Tensor, recurrent: Callable[[Tensor], Tensor],
                   projection: Callable[[Tensor], Tensor] | None = None,
                   peephole: Peephole | None = None) -> tuple[Tensor, Tensor]:
    """One LSTM step: ``a = gates_x + recurrent(h_prev)``; update; ``h_t = projection(m_t)`` (LSTMP).

    ``gates_x = W_ih x_t + b_ih``; ``recurrent`` applies ``W_hh`` (+ ``b_hh``). Returns ``(h_t, c_t)``.
    """
    m, c = lstm_update(gates_x + recurrent(h_prev), c_prev, peephole)
    return (m if projection is None else projection(m)), c


def gru_update(gates_x: Tensor, gates_h: Tensor, h_prev: Tensor) -> Tensor:
    """GRU update as in torch.nn.GRU (Cho et al. 2014 with the reset gate applied after ``W_hn``).

    ``r = σ(x_r + h_r)``, ``z = σ(x_z + h_z)``, ``n = tanh(x_n + r∘h_n)``, ``h_t = (1 - z)∘n + z∘h_{t-1}``
    where ``x_* = W_i* x_t + b_i*`` and ``h_* = W_h* h_{t-1} + b_h*``.
    """
    x_r, x_z, x_n = gates_x.chunk(3, dim=-1)
    h_r, h_z, h_n = gates_h.chunk(3, dim=-1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    n = torch.tanh(torch.addcmul(x_n, r, h_n))
    return torch.lerp(n, h_prev, z)


def gru_cell_step(gates_x: Tensor, h_prev: Tensor, recurrent: Callable[[Tensor], Tensor]) -> Tensor:
    """One GRU step from the precomputed input part ``gates_x = W_ih x_t + b_ih``."""
    return gru_update(gates_x, recurrent(h_prev), h_prev)
