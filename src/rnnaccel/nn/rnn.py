"""LSTM and GRU with the interface of torch.nn.LSTM/GRU, optional peepholes and block-circulant weights.

Layout (a stable contract): ``rnn.layers[l][d]`` is the direction module of layer ``l`` (``d = 1`` is the
reverse direction) with role submodules ``ih`` (input -> gates, bias ``b_ih``), ``hh`` (recurrent ->
gates, bias ``b_hh``) and, for the LSTM, ``proj`` (H -> P, no bias, ``None`` without projection) and
peephole vectors ``w_ci, w_cf, w_co`` (``None`` without peepholes). Each role module is a
``torch.nn.Linear`` or a ``BlockCirculantLinear``.

The direction modules' ``forward`` is the reference forward (the one that trains). In eval mode with grad
disabled, ``LSTM``/``GRU.forward`` runs the inference path that ``rnnaccel.nn.fast.select_path`` picks
(compiled numba kernels, torch runners or the reference) and records it in ``last_path``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from rnnaccel.nn import fast, torch_compat
from rnnaccel.nn.blocksize import BlockSizeSpec, resolve_block_sizes
from rnnaccel.nn.cells import gru_cell_step, lstm_cell_step
from rnnaccel.nn.circulant import BlockCirculantLinear, block_circulant_vectors
from rnnaccel.nn.sequences import check_lengths, repack, step_masks

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

    def peephole(self) -> tuple[Tensor, Tensor, Tensor] | None:
        return None if self.w_ci is None else (self.w_ci, self.w_cf, self.w_co)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor], reverse: bool = False,
                lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        """The reference forward: ``x`` (T, B, in), ``state = (h0 (B, out), c0 (B, H))`` ->
        ``(output (T, B, out), (h_T, c_T))``; ``lengths`` (B,) as in ``sequences``."""
        (h, c), outs, peep, gates_x = state, [], self.peephole(), self.ih(x)
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

    def forward(self, x: Tensor, state: tuple[Tensor], reverse: bool = False, lengths: Tensor | None = None
                ) -> tuple[Tensor, tuple[Tensor]]:
        """The reference forward: ``x`` (T, B, in), ``state = (h0 (B, H),)`` ->
        ``(output (T, B, H), (h_T,))``; ``lengths`` as for the LSTM."""
        (h,), gates_x, outs = state, self.ih(x), []
        masks = step_masks(lengths, gates_x.shape[0], gates_x.device)
        for t in _steps(gates_x.shape[0], reverse):
            h_t = gru_cell_step(gates_x[t], h, self.hh)
            h = h_t if masks is None else torch.where(masks[t], h_t, h)
            outs.append(h_t if masks is None else torch.where(masks[t], h_t, 0.0))
        return _stack(outs, reverse), (h,)


def _steps(length: int, reverse: bool) -> range:
    return range(length - 1, -1, -1) if reverse else range(length)


def _stack(outs: list[Tensor], reverse: bool) -> Tensor:
    return torch.stack(outs[::-1] if reverse else outs)


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
        self._prepared_cache: tuple | None = None
        self.last_path: fast.PathChoice | None = None
        self.register_load_state_dict_pre_hook(torch_compat.translate_torch_keys)

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
            return x, True, check_lengths(lengths, x.shape[0], x.shape[1])
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
        return x, True, check_lengths(lengths, x.shape[0], x.shape[1])

    def _check_width(self, x: Tensor) -> None:
        if x.shape[-1] != self.input_size:
            raise ValueError(f"input has width {x.shape[-1]}, expected input_size={self.input_size}")

    def _finish_output(self, y: Tensor, batched: bool, like: Tensor | PackedSequence
                       ) -> Tensor | PackedSequence:
        if isinstance(like, PackedSequence):
            return repack(y, like)
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

    def train(self, mode: bool = True) -> _RNNBase:
        self._prepared_cache = None
        return super().train(mode)

    def _apply(self, fn: object, *args: object, **kwargs: object) -> _RNNBase:
        self._prepared_cache = None  # .to()/.double()/.cuda(): prepared weights are stale
        return super()._apply(fn, *args, **kwargs)

    def inference_path(self, batch: int = 1, dtype: torch.dtype | None = None,
                       device: torch.device | str = "cpu") -> fast.PathChoice:
        """The path (``fast.select_path``) that a no-grad forward of this batch size would take now.

        ``last_path`` records the one the latest forward took.
        """
        dtype = dtype or next(self.parameters()).dtype
        x = torch.empty(1, batch, self.input_size, dtype=dtype, device=device)
        with torch.no_grad():
            return fast.select_path(self, x, (x[0],))[0]

    def streamer(self, state: tuple[Tensor, ...] | Tensor | None = None) -> fast.streamer.Streamer:
        """A ``fast.streamer.Streamer``: frame-by-frame compiled inference with the state kept inside."""
        from rnnaccel.nn.fast.streamer import Streamer

        return Streamer(self, state)

    def to_torch(self) -> nn.LSTM | nn.GRU:
        """The equivalent ``torch.nn.LSTM``/``GRU`` (``torch_compat.to_torch``)."""
        return torch_compat.to_torch(self)

    def _forward(self, input: Tensor | PackedSequence, states: tuple[Tensor | None, ...],
                 widths: tuple[int, ...], lengths: object
                 ) -> tuple[Tensor | PackedSequence, tuple[Tensor, ...]]:
        """Shared forward: validate, pick the path (``fast.select_path``), run, restore the input's layout."""
        x, batched, lens = self._prepare_input(input, lengths)
        states = tuple(self._check_state(s, n, x.shape[1], w, x, batched)
                       for s, n, w in zip(states, ("h_0", "c_0"), widths, strict=False))
        choice, run = fast.select_path(self, x, states)
        self.__dict__["last_path"] = choice  # nn.Module.__setattr__ costs a visible part of a streamed frame
        y, finals = (self.run_layers if run is None else run)(x, states, lens)
        return self._finish_output(y, batched, input), finals if batched else tuple(f[:, 0] for f in finals)

    def run_layers(self, x: Tensor, states: tuple[Tensor, ...], lens: Tensor | None,
                   runners: list[list[object]] | None = None) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The reference stack: time-major ``x``, states ``(L*D, B, width)``; each direction runs its
        reference forward, or its torch runner when ``runners[l][d]`` is one (``fast.select_path``)."""
        finals: list[list[Tensor]] = [[] for _ in states]
        for layer, directions in enumerate(self.layers):
            outs = []
            for d, direction in enumerate(directions):
                idx = layer * self.num_directions + d
                state = tuple(s[idx] for s in states)
                runner = None if runners is None else runners[layer][d]
                y, fin = (direction(x, state, d == 1, lens) if runner is None
                          else runner.run(x, direction.ih, state, d == 1, lens))
                outs.append(y)
                for acc, f in zip(finals, fin, strict=True):
                    acc.append(f)
            x = self._between_layers(torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0], layer)
        return x, tuple(torch.stack(f) for f in finals)

    def _between_layers(self, y: Tensor, layer: int) -> Tensor:
        if self.dropout > 0 and self.training and layer < self.num_layers - 1:
            return nn.functional.dropout(y, self.dropout, training=True)
        return y


class LSTM(_RNNBase):
    """Drop-in ``torch.nn.LSTM`` with ``peephole`` (Sak et al. 2014) and block-circulant ``block_size``.

    ``block_size``: None | int | ``{"input"|"recurrent"|"projection": int | None}`` | one such per layer.
    """

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
        h0, c0 = (None, None) if hx is None else hx
        y, (h_n, c_n) = self._forward(input, (h0, c0), (self.proj_size or self.hidden_size, self.hidden_size),
                                      lengths)
        return y, (h_n, c_n)

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
        y, (h_n,) = self._forward(input, (hx,), (self.hidden_size,), lengths)
        return y, h_n

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


def _load_torch_weights(rnn: _RNNBase, module: nn.RNNBase) -> None:
    """Copy ``weight_ih_l{l}[_reverse]`` etc. of a torch RNN into the role modules of ``rnn`` (projected
    onto the block-circulant set where a role is circulant)."""
    for torch_key, our_key, role in torch_compat.torch_key_pairs(rnn):
        if our_key.endswith("weight"):
            bias_key = torch_key.replace("weight", "bias", 1)
            load_role(role, getattr(module, torch_key), getattr(module, bias_key, None)
                      if not torch_key.startswith("weight_hr") else None)
