"""LSTM and GRU with the interface of torch.nn.LSTM/GRU, optional peepholes and block-circulant weights.

Layout (a stable contract): ``rnn.layers[l][d]`` is the direction module of layer ``l`` (``d = 1`` is the
reverse direction) with role submodules ``ih`` (input -> gates, bias ``b_ih``), ``hh`` (recurrent ->
gates, bias ``b_hh``) and, for the LSTM, ``proj`` (H -> P, no bias, ``None`` without projection) and
peephole vectors ``w_ci, w_cf, w_co`` (``None`` without peepholes). Each role module is a
``torch.nn.Linear`` or a ``BlockCirculantLinear``. In eval mode with grad disabled, ``forward`` takes a
frequency-domain fast path where the structure allows it: compiled kernels (``_nbplan``/``_nbkernels``,
numba) or, without numba, the torch fused path (``_fused``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnaccel.nn import _fused, _nbplan
from rnnaccel.nn.blocksize import BlockSizeSpec, resolve_block_sizes
from rnnaccel.nn.cells import gru_cell_step, lstm_cell_step
from rnnaccel.nn.circulant import BlockCirculantLinear, block_circulant_vectors

__all__ = ["GRU", "LSTM", "GRUDirection", "LSTMDirection", "make_role"]


def make_role(in_features: int, out_features: int, block_size: int | None, bias: bool,
              factory: dict) -> nn.Module:
    """A dense ``torch.nn.Linear`` (``block_size=None``) or a ``BlockCirculantLinear``."""
    if block_size is None:
        return nn.Linear(in_features, out_features, bias=bias, **factory)
    return BlockCirculantLinear(in_features, out_features, block_size, bias=bias, **factory)


def load_role(role: nn.Module, weight: Tensor, bias: Tensor | None) -> None:
    """Copy a dense weight (projected onto the block-circulant set when ``role`` is circulant) and bias."""
    with torch.no_grad():
        if isinstance(role, BlockCirculantLinear):
            role.weight.copy_(block_circulant_vectors(weight.detach(), role.block_size))
        else:
            role.weight.copy_(weight)
        if bias is not None:
            role.bias.copy_(bias)


def _fast_ok(module: nn.Module) -> bool:
    return not module.training and not torch.is_grad_enabled()


class LSTMDirection(nn.Module):
    """One direction of one LSTM layer (roles ``ih``, ``hh``, ``proj``; peepholes ``w_ci, w_cf, w_co``)."""

    def __init__(self, input_size: int, hidden_size: int, proj_size: int, bias: bool, peephole: bool,
                 sizes: dict[str, int | None], factory: dict) -> None:
        super().__init__()
        out = proj_size or hidden_size
        self.hidden_size, self.proj_size = hidden_size, proj_size
        self.ih = make_role(input_size, 4 * hidden_size, sizes["input"], bias, factory)
        self.hh = make_role(out, 4 * hidden_size, sizes["recurrent"], bias, factory)
        self.proj = (make_role(hidden_size, proj_size, sizes["projection"], False, factory)
                     if proj_size else None)
        peep = (lambda: nn.Parameter(torch.empty(hidden_size, **factory))) if peephole else (lambda: None)
        self.w_ci, self.w_cf, self.w_co = peep(), peep(), peep()
        self._fast_cache: tuple | None = None

    def peephole(self) -> tuple[Tensor, Tensor, Tensor] | None:
        return None if self.w_ci is None else (self.w_ci, self.w_cf, self.w_co)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor], reverse: bool = False,
                lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """``x`` (T, B, in), ``state = (h0 (B, out), c0 (B, H))`` -> ``(output (T, B, out), (h_T, c_T))``.

        ``lengths`` (B,) int64: sequence ``b`` occupies frames ``0..lengths[b]-1`` (see ``step_masks``).
        """
        if _fast_ok(self) and state[0].dtype == state[1].dtype == x.dtype:
            plan = _fused.cached_plan(self, _fused.LSTMPlan, _nbplan.NumbaLSTMPlan).pick(x)
            if plan is not None:
                return plan.run(x, self.ih, state, reverse, lengths)
        return self._run_steps(self.ih(x), state, reverse, lengths)

    def _run_steps(self, gates_x: Tensor, state: tuple[Tensor, Tensor], reverse: bool,
                   lengths: Tensor | None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        (h, c), outs, peep = state, [], self.peephole()
        masks = step_masks(lengths, gates_x.shape[0], gates_x.device)
        for t in _steps(gates_x.shape[0], reverse):
            h_t, c_t = lstm_cell_step(gates_x[t], h, c, self.hh, self.proj, peep)
            if masks is not None:
                h_t, c_t = torch.where(masks[t], h_t, h), torch.where(masks[t], c_t, c)
            h, c = h_t, c_t
            outs.append(h_t if masks is None else torch.where(masks[t], h_t, 0.0))
        return _stack(outs, reverse), (h, c)


class GRUDirection(nn.Module):
    """One direction of one GRU layer (roles ``ih``: in -> 3H, bias ``b_ih``; ``hh``: H -> 3H, ``b_hh``)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, sizes: dict[str, int | None],
                 factory: dict) -> None:
        super().__init__()
        self.hidden_size = hidden_size
        self.ih = make_role(input_size, 3 * hidden_size, sizes["input"], bias, factory)
        self.hh = make_role(hidden_size, 3 * hidden_size, sizes["recurrent"], bias, factory)
        self._fast_cache: tuple | None = None

    def forward(self, x: Tensor, h: Tensor, reverse: bool = False, lengths: Tensor | None = None
                ) -> tuple[Tensor, Tensor]:
        """``x`` (T, B, in), ``h`` (B, H) -> ``(output (T, B, H), h_T)``; ``lengths`` as for the LSTM."""
        if _fast_ok(self) and h.dtype == x.dtype:
            plan = _fused.cached_plan(self, _fused.GRUPlan, _nbplan.NumbaGRUPlan).pick(x)
            if plan is not None:
                return plan.run(x, self.ih, h, reverse, lengths)
        gates_x, outs = self.ih(x), []
        masks = step_masks(lengths, gates_x.shape[0], gates_x.device)
        for t in _steps(gates_x.shape[0], reverse):
            h_t = gru_cell_step(gates_x[t], h, self.hh)
            h = h_t if masks is None else torch.where(masks[t], h_t, h)
            outs.append(h_t if masks is None else torch.where(masks[t], h_t, 0.0))
        return _stack(outs, reverse), h


def step_masks(lengths: Tensor | None, length: int, device: torch.device) -> Tensor | None:
    """``(T, B, 1)`` bool: frame ``t`` of sequence ``b`` is real (``t < lengths[b]``); None for no lengths.

    A step past a sequence's end leaves its state unchanged and outputs zero, so the forward direction's
    final state is the one at the sequence's last frame and the reverse direction starts there (as
    ``torch.nn.LSTM``/``GRU`` on a ``PackedSequence``).
    """
    if lengths is None:
        return None
    return (torch.arange(length, device=device)[:, None] < lengths.to(device)[None, :]).unsqueeze(-1)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _stack(outs: list[Tensor], reverse: bool) -> Tensor:
    return torch.stack(outs[::-1] if reverse else outs)


def _check_lengths(lengths: object, length: int, batch: int) -> Tensor | None:
    """Validated ``(B,)`` int64 CPU lengths in ``[1, T]``; None when absent or all equal to ``T``."""
    if lengths is None:
        return None
    try:
        lens = torch.as_tensor(lengths)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"lengths must be a sequence of ints, got {lengths!r}") from err
    if lens.dtype.is_floating_point or lens.dtype.is_complex or lens.dtype == torch.bool:
        raise TypeError(f"lengths must be integers, got dtype {lens.dtype}")
    if tuple(lens.shape) != (batch,):
        raise ValueError(f"lengths has shape {tuple(lens.shape)}, expected ({batch},) (one per sequence)")
    lens = lens.to("cpu", torch.int64)
    if int(lens.min()) < 1 or int(lens.max()) > length:
        raise ValueError(f"lengths must lie in [1, {length}] (the padded length), got {lens.tolist()}")
    return None if int(lens.min()) == length else lens


def _repack(y: Tensor, like: PackedSequence) -> PackedSequence:
    """Time-major padded output ``y`` (original batch order) as a PackedSequence laid out like ``like``."""
    if like.sorted_indices is not None:
        y = y.index_select(1, like.sorted_indices.to(y.device))
    sizes = like.batch_sizes.tolist()
    data = torch.cat([y[t, :size] for t, size in enumerate(sizes)])
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)


def _check_positive(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


class _RNNBase(nn.Module):
    """Shared constructor/forward logic of LSTM and GRU (torch.nn.RNNBase semantics)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bias: bool, batch_first: bool,
                 dropout: float, bidirectional: bool, block_size: BlockSizeSpec, factory: dict) -> None:
        super().__init__()
        self.input_size = _check_positive(input_size, "input_size")
        self.hidden_size = _check_positive(hidden_size, "hidden_size")
        self.num_layers = _check_positive(num_layers, "num_layers")
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout <= 1:
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.block_sizes = resolve_block_sizes(block_size, num_layers)
        self._factory = factory
        self._compiled_cache: tuple | None = None

    def _build_layers(self, out_size: int) -> None:
        layers = []
        for layer, sizes in enumerate(self.block_sizes):
            width = self.input_size if layer == 0 else out_size * self.num_directions
            layers.append(nn.ModuleList(self._make_direction(width, sizes)
                                        for _ in range(self.num_directions)))
        self.layers = nn.ModuleList(layers)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/sqrt(H), 1/sqrt(H)), as torch.nn.LSTM/GRU."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def _prepare_input(self, x: Tensor | PackedSequence, lengths: object = None
                       ) -> tuple[Tensor, bool, Tensor | None]:
        """Time-major ``(T, B, in)`` input, whether it was batched, and per-sequence lengths (None: all T)."""
        if isinstance(x, PackedSequence):
            if lengths is not None:
                raise ValueError("lengths must not be given with a PackedSequence (it carries its lengths)")
            x, lengths = pad_packed_sequence(x)  # time-major, original batch order
            self._check_width(x)
            return x, True, _check_lengths(lengths, x.shape[0], x.shape[1])
        if not isinstance(x, Tensor):
            raise TypeError(f"input must be a Tensor or a PackedSequence, got {type(x).__name__}")
        if x.dim() not in (2, 3):
            raise ValueError(f"input must be 2-D (unbatched) or 3-D, got shape {tuple(x.shape)}")
        self._check_width(x)
        if x.dim() == 2:
            if lengths is not None:
                raise ValueError("lengths needs a batched (3-D) input, got a 2-D (unbatched) one")
            return x.unsqueeze(1), False, None
        x = x.transpose(0, 1) if self.batch_first else x
        return x, True, _check_lengths(lengths, x.shape[0], x.shape[1])

    def _check_width(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input has width {x.shape[-1]}, expected input_size={self.input_size}")

    def _finish_output(self, y: Tensor, batched: bool, like: Tensor | PackedSequence
                       ) -> Tensor | PackedSequence:
        if isinstance(like, PackedSequence):
            return _repack(y, like)
        if not batched:
            return y.squeeze(1)
        return y.transpose(0, 1) if self.batch_first else y

    def _check_state(self, state: Tensor | None, name: str, batch: int, width: int, like: Tensor,
                     batched: bool) -> Tensor:
        expected = (self.num_layers * self.num_directions, batch, width)
        if state is None:
            return like.new_zeros(expected)
        got = tuple(state.shape) if batched else tuple(state.shape[:1]) + (1,) + tuple(state.shape[1:])
        if state.dim() != (3 if batched else 2) or got != expected:
            shown = expected if batched else (expected[0], expected[2])
            raise ValueError(f"{name} has shape {tuple(state.shape)}, expected {shown}")
        return state if batched else state.unsqueeze(1)

    def _compiled_plans(self, x: Tensor) -> list[list[tuple[object, nn.Module | None]]] | None:
        """``[layer][direction] = (compiled plan, unfused input role or None)`` when every direction has a
        compiled plan for this input, else None.

        Cached with one ``Watch`` over the whole stack (per-direction checks, even the ``self.layers``
        lookup, are a visible part of a streaming frame); the plans are the directions' cached ones.
        """
        cache = self._compiled_cache
        if cache is None or not cache[0].fresh():
            plans = [[(_fused.cached_plan(d, *self._plan_types).compiled, d.ih) for d in dirs]
                     for dirs in self.layers]
            usable = all(p is not None for dirs in plans for p, _ in dirs)
            plans = [[(p, None if p.fused_input else ih) for p, ih in dirs] for dirs in plans] if usable \
                else None
            cache = (_fused.Watch.of(self), plans, plans[0][0][0].dtype if usable else None)
            self._compiled_cache = cache
        if cache[1] is None or x.shape[1] > _fused.MAX_COMPILED_BATCH or x.dtype != cache[2] or not x.is_cpu:
            return None
        return cache[1]

    def _between_layers(self, y: Tensor, layer: int) -> Tensor:
        if self.dropout > 0 and self.training and layer < self.num_layers - 1:
            return nn.functional.dropout(y, self.dropout, training=True)
        return y


class LSTM(_RNNBase):
    """Drop-in ``torch.nn.LSTM`` with ``peephole`` (Sak et al. 2014) and block-circulant ``block_size``.

    ``block_size``: None | int | ``{"input"|"recurrent"|"projection": int | None}`` | one such per layer.
    """

    _plan_types = (_fused.LSTMPlan, _nbplan.NumbaLSTMPlan)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, device: torch.device | str | None = None,
                 dtype: torch.dtype | None = None, *, peephole: bool = False,
                 block_size: BlockSizeSpec = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         block_size, {"device": device, "dtype": dtype})
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or not 0 <= proj_size < hidden_size:
            raise ValueError(f"proj_size must be an int in [0, hidden_size={hidden_size}), got {proj_size!r}")
        self.proj_size, self.peephole = proj_size, bool(peephole)
        self._build_layers(proj_size or hidden_size)

    def _make_direction(self, width: int, sizes: dict[str, int | None]) -> LSTMDirection:
        return LSTMDirection(width, self.hidden_size, self.proj_size, self.bias, self.peephole, sizes,
                             self._factory)

    def forward(self, input: Tensor | PackedSequence, hx: tuple[Tensor, Tensor] | None = None, *,
                lengths: object = None) -> tuple[Tensor | PackedSequence, tuple[Tensor, Tensor]]:
        """As ``torch.nn.LSTM.forward``: returns ``(output, (h_n, c_n))``; ``input`` may be a PackedSequence.

        ``lengths`` (one int per sequence, padded batched input only): sequence ``b`` is frames
        ``0..lengths[b]-1``; outputs beyond it are zero, ``h_n``/``c_n`` are taken at its last frame and the
        reverse direction starts there (the same result as packing the batch).
        """
        x, batched, lens = self._prepare_input(input, lengths)
        h0, c0 = (None, None) if hx is None else hx
        out_size = self.proj_size or self.hidden_size
        h0 = self._check_state(h0, "h_0", x.shape[1], out_size, x, batched)
        c0 = self._check_state(c0, "c_0", x.shape[1], self.hidden_size, x, batched)
        plans = self._compiled_plans(x) if _fast_ok(self) else None
        if plans is not None and h0.dtype == c0.dtype == x.dtype:  # else the torch path reports the mismatch
            x, (h_n, c_n) = _nbplan.run_stack(plans, x, (h0, c0), lengths=lens)
            return self._finish_output(x, batched, input), (h_n, c_n) if batched else (h_n[:, 0], c_n[:, 0])
        hs, cs = [], []
        for layer, directions in enumerate(self.layers):
            outs = []
            for d, direction in enumerate(directions):
                idx = layer * self.num_directions + d
                y, (h, c) = direction(x, (h0[idx], c0[idx]), reverse=d == 1, lengths=lens)
                outs.append(y)
                hs.append(h)
                cs.append(c)
            x = self._between_layers(torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0], layer)
        h_n, c_n = torch.stack(hs), torch.stack(cs)
        if not batched:
            h_n, c_n = h_n.squeeze(1), c_n.squeeze(1)
        return self._finish_output(x, batched, input), (h_n, c_n)

    @classmethod
    def from_torch(cls, module: nn.LSTM, block_size: BlockSizeSpec = None) -> LSTM:
        """Import a trained ``torch.nn.LSTM`` (projected onto block-circulant roles where ``block_size``)."""
        if not isinstance(module, nn.LSTM):
            raise TypeError(f"expected a torch.nn.LSTM, got {type(module).__name__}")
        ref = module.weight_ih_l0
        new = cls(module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
                  module.dropout, module.bidirectional, module.proj_size, device=ref.device, dtype=ref.dtype,
                  block_size=block_size)
        _load_torch_weights(new, module)
        return new.train(module.training)


class GRU(_RNNBase):
    """Drop-in ``torch.nn.GRU`` with block-circulant ``block_size`` (roles "input", "recurrent")."""

    _plan_types = (_fused.GRUPlan, _nbplan.NumbaGRUPlan)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None, *,
                 block_size: BlockSizeSpec = None) -> None:
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         block_size, {"device": device, "dtype": dtype})
        self._build_layers(hidden_size)

    def _make_direction(self, width: int, sizes: dict[str, int | None]) -> GRUDirection:
        return GRUDirection(width, self.hidden_size, self.bias, sizes, self._factory)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None, *, lengths: object = None
                ) -> tuple[Tensor | PackedSequence, Tensor]:
        """As ``torch.nn.GRU.forward``: returns ``(output, h_n)``; ``lengths`` as for ``LSTM.forward``."""
        x, batched, lens = self._prepare_input(input, lengths)
        h0 = self._check_state(hx, "h_0", x.shape[1], self.hidden_size, x, batched)
        plans = self._compiled_plans(x) if _fast_ok(self) else None
        if plans is not None and h0.dtype == x.dtype:  # else the torch path reports the mismatch
            x, (h_n,) = _nbplan.run_stack(plans, x, (h0,), lengths=lens)
            return self._finish_output(x, batched, input), (h_n if batched else h_n[:, 0])
        hs = []
        for layer, directions in enumerate(self.layers):
            outs = []
            for d, direction in enumerate(directions):
                y, h = direction(x, h0[layer * self.num_directions + d], reverse=d == 1, lengths=lens)
                outs.append(y)
                hs.append(h)
            x = self._between_layers(torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0], layer)
        h_n = torch.stack(hs)
        return self._finish_output(x, batched, input), (h_n if batched else h_n.squeeze(1))

    @classmethod
    def from_torch(cls, module: nn.GRU, block_size: BlockSizeSpec = None) -> GRU:
        """Import a trained ``torch.nn.GRU`` (projected onto block-circulant roles where ``block_size``)."""
        if not isinstance(module, nn.GRU):
            raise TypeError(f"expected a torch.nn.GRU, got {type(module).__name__}")
        ref = module.weight_ih_l0
        new = cls(module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
                  module.dropout, module.bidirectional, device=ref.device, dtype=ref.dtype,
                  block_size=block_size)
        _load_torch_weights(new, module)
        return new.train(module.training)


_TORCH_NAMES = (("ih", "weight_ih", "bias_ih"), ("hh", "weight_hh", "bias_hh"), ("proj", "weight_hr", None))


def _load_torch_weights(rnn: _RNNBase, module: nn.RNNBase) -> None:
    """Copy ``weight_ih_l{l}[_reverse]`` etc. of a torch RNN into the role modules of ``rnn``."""
    for layer, directions in enumerate(rnn.layers):
        for d, direction in enumerate(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            for role, weight, bias in _TORCH_NAMES:
                if getattr(direction, role, None) is not None:
                    load_role(getattr(direction, role), getattr(module, weight + sfx),
                              getattr(module, bias + sfx, None) if bias else None)
