"""Torch runners: an LSTM/GRU direction with block-circulant recurrent weights in frequency-domain torch ops.

The path for batches above ``MAX_COMPILED_BATCH``, for devices other than the CPU and when the compiled
kernels cannot load (``rnnaccel.nn.fast.select_path``). The input part of all timesteps is computed by
the ``ih`` role in one batched op (E-PUR's MWL split); the recurrence then runs in the t-major layout of
``dft`` so that each step is: one ``bmm`` (recurrent frequency MACs), one ``addmm`` (inverse DFT + input
part), the elementwise cell, one DFT ``mm`` and, for the LSTMP, one ``bmm`` (projection MACs) whose
frequency-domain output feeds the next step's recurrent MACs directly (no inverse/forward DFT in
between). Outputs are inverse-transformed for all steps at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnaccel.nn.circulant import BlockCirculantLinear
from rnnaccel.nn.fast.dft import CirculantPlan, from_tmajor, to_tmajor

__all__ = ["TorchGRU", "TorchLSTM", "last_frame"]


def _circ_k(role: nn.Module | None, width: int) -> int | None:
    """Block size of a circulant role whose ``width`` is a multiple of it, else None."""
    if isinstance(role, BlockCirculantLinear) and width % role.block_size == 0:
        return role.block_size
    return None


def _plan(role: BlockCirculantLinear, with_bias: bool = False) -> CirculantPlan:
    return CirculantPlan.build(role.weight.detach(), role.bias if with_bias else None, role.out_features,
                               role.in_features)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _tmajor_vec(w: Tensor | None, k: int) -> Tensor | None:
    """Natural ``(H,)`` -> t-major ``(k, H/k, 1)``."""
    return None if w is None else to_tmajor(w.detach().unsqueeze(0), k)


def _lstm_update(g: Tensor, c: Tensor, w_if: Tensor | None, w_o: Tensor | None) -> tuple[Tensor, Tensor]:
    """``lstm_update`` in t-major layout: ``g`` (k, 4, H/k, B), ``c`` (k, H/k, B)."""
    a_if = g[:, :2] if w_if is None else torch.addcmul(g[:, :2], w_if, c.unsqueeze(1))
    s_if = torch.sigmoid(a_if)
    c = torch.addcmul(s_if[:, 1] * c, s_if[:, 0], torch.tanh(g[:, 2]))
    a_o = g[:, 3] if w_o is None else torch.addcmul(g[:, 3], w_o, c)
    return torch.sigmoid(a_o).mul_(torch.tanh(c)), c


@dataclass(frozen=True)
class TorchLSTM:
    """LSTM(P) direction: ``hh`` (and ``proj``) circulant with one block size dividing H (and P)."""

    hh: CirculantPlan
    proj: CirculantPlan | None
    ih: CirculantPlan | None  # when the input role is circulant with the same k: straight to t-major
    bias: Tensor | None  # b_ih + b_hh, t-major (k, 4H/k, 1) when ``ih`` is set, else b_hh natural (4H,)
    w_if: Tensor | None  # t-major (k, 2, H/k, 1): peepholes of i and f
    w_o: Tensor | None  # t-major (k, H/k, 1)

    @classmethod
    def build(cls, d: nn.Module) -> TorchLSTM | None:
        k = _circ_k(d.hh, d.hidden_size)
        if k is None or (d.proj is not None and _circ_k(d.proj, d.proj_size) != k):
            return None
        w_if = None if d.w_ci is None else torch.stack([_tmajor_vec(d.w_ci, k), _tmajor_vec(d.w_cf, k)], 1)
        proj = None if d.proj is None else _plan(d.proj)
        ih = _plan(d.ih) if _circ_k(d.ih, 4 * d.hidden_size) == k else None
        bias = None if d.hh.bias is None else d.hh.bias.detach() + (0 if ih is None else d.ih.bias.detach())
        bias = _tmajor_vec(bias, k) if ih is not None else bias
        return cls(_plan(d.hh), proj, ih, bias, w_if, _tmajor_vec(d.w_co, k))

    def input_part(self, x: Tensor, ih: nn.Module) -> Tensor:
        """``W_ih x_t + b_ih + b_hh`` for all timesteps in one batched op, t-major ``(T, k, 4H/k, B)``."""
        length, batch = x.shape[:2]
        if self.ih is None:
            gates_x = ih(x)
            return to_tmajor(gates_x if self.bias is None else gates_x + self.bias, self.hh.k)
        plan = self.ih
        y = plan.inverse(plan.mac(plan.freq(plan.pad_tmajor(x.reshape(length * batch, -1)))))
        y = y.view(plan.k, plan.p, length, batch).permute(2, 0, 1, 3)
        return (y if self.bias is None else y + self.bias).contiguous()

    def run(self, x: Tensor, ih: nn.Module, state: tuple[Tensor, Tensor], reverse: bool,
            lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x`` (T, B, in), ``ih`` the input role -> ``(output (T, B, out), (h_T, c_T))``.

        ``lengths`` (B,): steps past a sequence's end keep its state and output zero (``rnn.step_masks``).
        """
        hh, proj, k = self.hh, self.proj, self.hh.k
        length, batch = x.shape[:2]
        xt = self.input_part(x, ih)
        rec, c = hh.freq(to_tmajor(state[0], k)), to_tmajor(state[1], k)
        alive = _alive(lengths, length, x.device)
        outs = []
        for t in _steps(length, reverse):
            g = hh.inverse(hh.mac(rec), add=xt[t]).view(k, 4, -1, batch)
            m, c_t = _lstm_update(g, c, self.w_if, self.w_o)
            rec_t = hh.freq(m) if proj is None else proj.mac(proj.freq(m))
            out = m if proj is None else rec_t
            if alive is None:
                c, rec = c_t, rec_t
            else:
                c, rec = torch.where(alive[t], c_t, c), torch.where(alive[t], rec_t, rec)
                out = torch.where(alive[t], out, 0.0)
            outs.append(out)
        stacked = torch.stack(outs[::-1] if reverse else outs)
        if proj is not None:  # one inverse DFT for all timesteps
            stacked = (proj.gm @ stacked.view(length, 2 * proj.bins, -1)).view(length, k, proj.p, batch)
        y = from_tmajor(stacked)
        return y, (last_frame(y, lengths, reverse), from_tmajor(c))


def _alive(lengths: Tensor | None, length: int, device: torch.device) -> Tensor | None:
    """``(T, B)`` bool ``t < lengths[b]`` (broadcasts over the batch-last t-major layouts), or None."""
    if lengths is None:
        return None
    return torch.arange(length, device=device)[:, None] < lengths.to(device)[None, :]


def last_frame(y: Tensor, lengths: Tensor | None, reverse: bool) -> Tensor:
    """The final state of a direction from its output ``y`` (T, B, n): the last real frame of each
    sequence (frame 0 for the reverse direction)."""
    if reverse:
        return y[0]
    if lengths is None:
        return y[-1]
    index = (lengths.to(y.device) - 1).view(1, -1, 1).expand(1, y.shape[1], y.shape[2])
    return y.gather(0, index)[0]


@dataclass(frozen=True)
class TorchGRU:
    """GRU direction: ``hh`` circulant with a block size dividing H."""

    hh: CirculantPlan
    b_hh: Tensor | None  # t-major (k, 3H/k, 1)

    @classmethod
    def build(cls, d: nn.Module) -> TorchGRU | None:
        k = _circ_k(d.hh, d.hidden_size)
        if k is None:
            return None
        return cls(_plan(d.hh), _tmajor_vec(d.hh.bias, k))

    def run(self, x: Tensor, ih: nn.Module, state: tuple[Tensor], reverse: bool, lengths: Tensor | None = None
            ) -> tuple[Tensor, tuple[Tensor]]:
        """``x`` (T, B, in), ``ih`` the input role (applied to all timesteps at once), ``state = (h0,)``
        with ``h0`` (B, H) -> ``(output (T, B, H), (h_T,))``."""
        (h0,) = state
        gates_x = ih(x)
        hh, k = self.hh, self.hh.k
        length, batch = gates_x.shape[:2]
        xt = to_tmajor(gates_x, k).view(length, k, 3, -1, batch)
        h, outs = to_tmajor(h0, k), []
        b_hh = None if self.b_hh is None else self.b_hh.expand(k, hh.p, batch).reshape(k, -1)
        alive = _alive(lengths, length, x.device)
        for t in _steps(length, reverse):
            gh = hh.inverse(hh.mac(hh.freq(h)), add=b_hh).view(k, 3, -1, batch)
            rz = torch.sigmoid(xt[t, :, :2] + gh[:, :2])
            n = torch.tanh(torch.addcmul(xt[t, :, 2], rz[:, 0], gh[:, 2]))
            h_t = torch.lerp(n, h, rz[:, 1])
            h = h_t if alive is None else torch.where(alive[t], h_t, h)
            outs.append(h_t if alive is None else torch.where(alive[t], h_t, 0.0))
        y = from_tmajor(torch.stack(outs[::-1] if reverse else outs))
        return y, (from_tmajor(h),)
