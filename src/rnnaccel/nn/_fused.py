"""Fused inference plans for LSTM/GRU directions with block-circulant recurrent weights.

Used by ``LSTMDirection``/``GRUDirection.forward`` in eval mode with grad disabled when the compiled
kernels (``_nbplan``) are unavailable or the batch is large; ``cached_plan`` holds both. The input part of all
timesteps is computed by the ``ih`` role in one batched op (E-PUR's MWL split); the recurrence then runs
in the t-major layout of ``_freq`` so that each step is: one ``bmm`` (recurrent frequency MACs), one
``addmm`` (inverse DFT + input part), the elementwise cell, one DFT ``mm`` and, for the LSTMP, one
``bmm`` (projection MACs) whose frequency-domain output feeds the next step's recurrent MACs directly
(no inverse/forward DFT in between). Outputs are inverse-transformed for all steps at once.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnaccel.nn._freq import CirculantPlan, from_tmajor, to_tmajor
from rnnaccel.nn.circulant import BlockCirculantLinear

__all__ = ["MAX_COMPILED_BATCH", "GRUPlan", "LSTMPlan", "Plans", "Watch", "cached_plan", "last_frame"]


# The compiled kernel runs the samples of a batch one after the other (weights streamed once per sample);
# on the Google LSTM (1 thread) it beat the torch plan's batched matmuls up to batch 32 by 1.7-2.5x and was
# on par at batch 128, so larger batches take the torch plan (which also uses all torch threads).
MAX_COMPILED_BATCH = 64


@dataclass(frozen=True)
class Plans:
    """A direction's inference plans: compiled (numba, None when unavailable) and torch fused."""

    compiled: object | None
    fused: LSTMPlan | GRUPlan | None

    def pick(self, x: Tensor) -> object | None:
        """The plan for input ``x`` (T, B, in) (None: no fused form, use the training path)."""
        compiled = self.compiled
        if compiled is not None and x.shape[1] <= MAX_COMPILED_BATCH and x.dtype == compiled.dtype \
                and x.is_cpu:
            return compiled
        return self.fused


@dataclass(frozen=True)
class Watch:
    """What a cached plan was built from: every parameter/submodule slot, and each parameter's state.

    Cheaper per forward than ``param_key(*module.parameters())`` (no recursive generator, C-level
    iteration): catches in-place updates (version counter), ``.to()``/``.double()``/``load_state_dict``
    (storage, version) and reassigned parameters or submodules (slot identity).
    """

    tables: tuple[dict, ...]
    names: tuple[str, ...]
    objs: tuple[object, ...]
    params: tuple[Tensor, ...]
    state: list

    @classmethod
    def of(cls, module: nn.Module) -> Watch:
        slots = [(table, name, obj) for mod in module.modules()
                 for table in (mod._parameters, mod._modules) for name, obj in table.items()]
        params = tuple(module.parameters())
        return cls(*(tuple(col) for col in zip(*slots, strict=True)), params, _param_state(params))

    def fresh(self) -> bool:
        return (all(map(operator.is_, map(dict.get, self.tables, self.names), self.objs))
                and _param_state(self.params) == self.state)


def _param_state(params: tuple[Tensor, ...]) -> list:
    # data_ptr changes with any cast or move (new storage); called every forward, so kept minimal
    try:
        return [(p._version, p.data_ptr()) for p in params]
    except RuntimeError:  # inference tensors have no version counter (immutable outside inference mode)
        return [(p.is_inference() or p._version, p.data_ptr()) for p in params]


def cached_plan(module: nn.Module, plan_type: type, compiled_type: type) -> Plans:
    """The module's plans, rebuilt when parameters change (in place, replaced, moved, cast)."""
    cache = module._fast_cache
    if cache is None or not cache[0].fresh():
        cache = (Watch.of(module), Plans(compiled_type.build(module), plan_type.build(module)))
        module._fast_cache = cache
    return cache[1]


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
class LSTMPlan:
    """Fused LSTM(P) direction: ``hh`` (and ``proj``) circulant with one block size dividing H (and P)."""

    hh: CirculantPlan
    proj: CirculantPlan | None
    ih: CirculantPlan | None  # when the input role is circulant with the same k: straight to t-major
    bias: Tensor | None  # b_ih + b_hh, t-major (k, 4H/k, 1) when ``ih`` is set, else b_hh natural (4H,)
    w_if: Tensor | None  # t-major (k, 2, H/k, 1): peepholes of i and f
    w_o: Tensor | None  # t-major (k, H/k, 1)

    @classmethod
    def build(cls, d: nn.Module) -> LSTMPlan | None:
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
class GRUPlan:
    """Fused GRU direction: ``hh`` circulant with a block size dividing H."""

    hh: CirculantPlan
    b_hh: Tensor | None  # t-major (k, 3H/k, 1)

    @classmethod
    def build(cls, d: nn.Module) -> GRUPlan | None:
        k = _circ_k(d.hh, d.hidden_size)
        if k is None:
            return None
        return cls(_plan(d.hh), _tmajor_vec(d.hh.bias, k))

    def run(self, x: Tensor, ih: nn.Module, h0: Tensor, reverse: bool, lengths: Tensor | None = None
            ) -> tuple[Tensor, Tensor]:
        """``x`` (T, B, in), ``ih`` the input role (applied to all timesteps at once), ``h0`` (B, H)."""
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
        return y, from_tmajor(h)
