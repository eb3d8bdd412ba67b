"""Walk the weight roles of an :mod:`rnnaccel.nn` model and swap their representation.

A *role* is one weight matrix of one direction of one layer: ``ih`` (input), ``hh`` (recurrent) and,
for the LSTM, ``proj`` (projection) — the parts of the network E-RNN gives their own block size.
Keys are stable strings such as ``"layers.0.1.hh"`` (layer 0, reverse direction, recurrent role).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnaccel.nn import GRU, LSTM, BlockCirculantLinear, BlockSizeSpec, resolve_block_sizes

__all__ = ["ATTR_OF_ROLE", "Role", "find_rnn", "iter_roles", "to_block_circulant"]

ATTR_OF_ROLE: dict[str, str] = {"input": "ih", "recurrent": "hh", "projection": "proj"}


@dataclass(frozen=True)
class Role:
    """One weight matrix: its key, owning direction module, attribute name, role name and block size."""

    key: str
    owner: nn.Module
    attr: str
    role: str
    block_size: int | None

    @property
    def module(self) -> nn.Module:
        return getattr(self.owner, self.attr)


def find_rnn(model: nn.Module) -> LSTM | GRU:
    """The :class:`rnnaccel.nn.LSTM`/``GRU`` of ``model``: itself, its ``.rnn`` (a PhoneRecognizer) or
    ``.rnn.model`` (a recognizer whose RNN is wrapped by ``rnnaccel.quant.quantize``)."""
    inner = getattr(model, "rnn", None)
    for candidate in (model, inner, getattr(inner, "model", None)):
        if isinstance(candidate, LSTM | GRU):
            return candidate
    raise TypeError(f"expected an rnnaccel.nn LSTM/GRU or a module with one as .rnn, "
                    f"got {type(model).__name__}")


def iter_roles(model: nn.Module, block_size: BlockSizeSpec = None) -> Iterator[Role]:
    """Every present weight role of the model's RNN, with the block size ``block_size`` assigns to it."""
    rnn = find_rnn(model)
    sizes = resolve_block_sizes(block_size, rnn.num_layers)
    for layer, directions in enumerate(rnn.layers):
        for d, direction in enumerate(directions):
            for role, attr in ATTR_OF_ROLE.items():
                if getattr(direction, attr, None) is not None:
                    yield Role(f"layers.{layer}.{d}.{attr}", direction, attr, role, sizes[layer][role])


def to_block_circulant(model: nn.Module, block_size: BlockSizeSpec,
                       vectors: dict[str, Tensor] | None = None) -> nn.Module:
    """Replace (in place) every dense role that ``block_size`` constrains by a ``BlockCirculantLinear``.

    Its defining vectors are ``vectors[key]`` when given (ADMM's Z, copied bit for bit), else the
    Euclidean projection of the dense weight (``from_dense``). Biases are kept. Returns ``model``.
    """
    for role in list(iter_roles(model, block_size)):
        dense = role.module
        if role.block_size is None or not isinstance(dense, nn.Linear):
            continue
        circ = BlockCirculantLinear.from_dense(dense.weight.detach(), role.block_size, dense.bias)
        if vectors is not None and role.key in vectors:
            with torch.no_grad():
                circ.weight.copy_(vectors[role.key])
        setattr(role.owner, role.attr, circ)
    find_rnn(model).block_sizes = resolve_block_sizes(block_size, find_rnn(model).num_layers)
    return model
