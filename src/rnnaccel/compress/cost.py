"""Cost of a compressed model: parameters, storage bytes and multiplies per frame of its RNN weights.

What is counted (the same for every trial, so trials compare fairly):
- only the RNN's weight matrices (roles ih/hh/proj of every layer and direction); biases, peepholes and
  the output layer are the same size in every trial and are left out;
- **params**: stored reals — dense ``m·n``; block-circulant ``p·q·k`` (the defining vectors; the
  hardware's ``k/2+1`` complex bins hold the same ``k`` real degrees of freedom, DC and Nyquist being
  real, so the count is identical); pruned: non-zeros;
- **storage bytes**: dense/circulant ``params · weight_bits / 8``; pruned: ESE relative-index encoding
  (:func:`rnnaccel.compress.prune.ese_storage_bits`, values at ``weight_bits``);
- **mults per frame**: dense ``m·n``; circulant ``p·q·(k/2+1)·4`` (``rnnaccel.nn.circulant_mults``,
  FFTs not counted); pruned: non-zeros (one multiply each).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from torch import nn

from rnnaccel.compress.prune import ese_storage_bits
from rnnaccel.compress.roles import iter_roles
from rnnaccel.nn import BlockCirculantLinear, circulant_mults

__all__ = ["ModelCost", "model_cost"]


@dataclass(frozen=True)
class ModelCost:
    """Parameters, storage and multiplies per frame of a model's RNN weight matrices."""

    params: int
    storage_bytes: int
    mults_per_frame: int
    weight_bits: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _role_cost(module: nn.Module, weight_bits: int, sparse: bool, index_bits: int,
               pointer_bits: int) -> tuple[int, int, int]:
    """(params, storage bits, mults) of one role module."""
    if isinstance(module, BlockCirculantLinear):
        n = module.weight.numel()
        return n, n * weight_bits, circulant_mults(module.out_features, module.in_features, module.block_size)
    if not isinstance(module, nn.Linear):
        raise TypeError(f"expected torch.nn.Linear or BlockCirculantLinear, got {type(module).__name__}")
    w = module.weight.detach()
    if not sparse:
        return w.numel(), w.numel() * weight_bits, w.numel()
    nnz = int((w != 0).sum())
    return nnz, ese_storage_bits(w, weight_bits, index_bits, pointer_bits), nnz


def model_cost(model: nn.Module, weight_bits: int = 32, *, sparse: bool = False, index_bits: int = 4,
               pointer_bits: int = 16) -> ModelCost:
    """Cost of the model's RNN weights; ``sparse`` counts dense roles by their non-zeros (pruned model)."""
    if isinstance(weight_bits, bool) or not isinstance(weight_bits, int) or weight_bits < 1:
        raise ValueError(f"weight_bits must be a positive int, got {weight_bits!r}")
    params = bits = mults = 0
    for role in iter_roles(model):
        p, b, m = _role_cost(role.module, weight_bits, sparse, index_bits, pointer_bits)
        params, bits, mults = params + p, bits + b, mults + m
    return ModelCost(params, math.ceil(bits / 8), mults, weight_bits)
