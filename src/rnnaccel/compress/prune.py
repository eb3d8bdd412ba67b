"""ESE-style load-balance-aware magnitude pruning and its sparse storage (Han et al., FPGA 2017).

Rows of a weight matrix are interleaved over ``n_pe`` processing elements (row ``r`` -> PE ``r mod
n_pe``). Plain magnitude pruning leaves PEs with unequal work; ESE's load-balance-aware pruning keeps
the **same number of non-zeros in every PE**: each PE keeps its own ``K`` largest-magnitude weights,
``K = floor((1 - sparsity) · floor(m / n_pe) · n)`` (= ``(1 - sparsity) · m·n / n_pe`` when ``n_pe``
divides ``m``, as in ESE; otherwise PEs with an extra row keep the same ``K`` as the others).
During fine-tuning the mask is enforced by zeroing the
gradients of pruned weights (with Adam and no weight decay a weight whose gradient is always 0 never
moves, so pruned weights stay exactly 0).

Storage (:func:`ese_storage_bits`): ESE stores each PE's non-zeros with a ``value_bits`` value (12 in
ESE [V]) and an ``index_bits`` relative index (4 [U, assumed]) = the number of zeros skipped since the
previous stored entry of the same row; a gap larger than ``2^index_bits − 1`` inserts a padding zero
entry. Each row also has a ``pointer_bits`` start pointer (16, assumed). All three are parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnaccel.compress.roles import iter_roles

__all__ = [
    "EncodedMatrix",
    "balanced_mask",
    "decode_relative",
    "encode_relative",
    "ese_storage_bits",
    "pe_nonzeros",
    "prune_model",
]


def _check_args(weight: Tensor, sparsity: float, n_pe: int) -> None:
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {tuple(weight.shape)}")
    if isinstance(sparsity, bool) or not isinstance(sparsity, int | float) or not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}")
    if isinstance(n_pe, bool) or not isinstance(n_pe, int) or not 1 <= n_pe <= weight.shape[0]:
        raise ValueError(f"n_pe must be an int in [1, rows={weight.shape[0]}], got {n_pe!r}")


def balanced_mask(weight: Tensor, sparsity: float, n_pe: int) -> Tensor:
    """Boolean keep-mask: every PE (rows ``r ≡ pe mod n_pe``) keeps its ``K`` largest |w| (ESE §3)."""
    _check_args(weight, sparsity, n_pe)
    m, n = weight.shape
    keep = math.floor((1 - sparsity) * (m // n_pe) * n + 1e-9)  # + eps: 0.1 * 320 is 31.999...
    mask = torch.zeros(m, n, dtype=torch.bool, device=weight.device)
    mag = weight.detach().abs()
    for pe in range(n_pe):
        rows = torch.arange(pe, m, n_pe, device=weight.device)
        flat = mag[rows].reshape(-1)
        top = torch.topk(flat, keep, sorted=False).indices
        sub = torch.zeros_like(flat, dtype=torch.bool)
        sub[top] = True
        mask[rows] = sub.view(len(rows), n)
    return mask


def pe_nonzeros(weight: Tensor, n_pe: int) -> list[int]:
    """Non-zeros held by each PE under row interleaving (equal after balanced pruning)."""
    return [int((weight[pe::n_pe] != 0).sum()) for pe in range(n_pe)]


def _mask_hook(mask: Tensor) -> Callable[[Tensor], Tensor]:
    return lambda grad: grad * mask


def prune_model(model: nn.Module, sparsity: float, n_pe: int) -> dict[str, Tensor]:
    """Prune every dense weight role of the model's RNN in place; returns the masks by role key.

    Registers gradient hooks that keep pruned weights at 0 while fine-tuning (see module docstring).
    """
    masks = {}
    for role in iter_roles(model):
        module = role.module
        if not isinstance(module, nn.Linear):
            raise TypeError(f"pruning needs dense roles; {role.key} is a {type(module).__name__}")
        mask = balanced_mask(module.weight, sparsity, n_pe)
        with torch.no_grad():
            module.weight.mul_(mask)
        module.weight.register_hook(_mask_hook(mask.to(module.weight.dtype)))
        masks[role.key] = mask
    return masks


@dataclass(frozen=True)
class EncodedMatrix:
    """ESE-style relative-index encoding of a sparse ``(rows, cols)`` matrix, row by row (CSR order).

    ``values``: stored entries (padding entries are 0); ``rel_index``: zeros skipped before each entry;
    ``row_ptr``: start of each row in ``values`` (``rows + 1`` entries).
    """

    shape: tuple[int, int]
    values: Tensor
    rel_index: Tensor
    row_ptr: Tensor

    def storage_bits(self, value_bits: int, index_bits: int, pointer_bits: int) -> int:
        """(value + relative index) per stored entry + one pointer per row."""
        return self.values.numel() * (value_bits + index_bits) + self.shape[0] * pointer_bits


def _encode_row(row: Tensor, max_gap: int) -> tuple[list[float], list[int]]:
    values, rel, last = [], [], -1
    for c in torch.nonzero(row).flatten().tolist():
        gap = c - last - 1
        while gap > max_gap:  # a padding zero entry stands at position last + max_gap + 1
            values.append(0.0)
            rel.append(max_gap)
            gap -= max_gap + 1
        values.append(float(row[c]))
        rel.append(gap)
        last = c
    return values, rel


def encode_relative(weight: Tensor, index_bits: int = 4) -> EncodedMatrix:
    """Encode ``weight`` with ``index_bits``-bit relative indices (gaps > 2^bits − 1 get padding zeros)."""
    if isinstance(index_bits, bool) or not isinstance(index_bits, int) or not 1 <= index_bits <= 16:
        raise ValueError(f"index_bits must be an int in [1, 16], got {index_bits!r}")
    max_gap = 2 ** index_bits - 1
    values: list[float] = []
    rel: list[int] = []
    ptr = [0]
    for row in weight.detach().cpu():
        v, r = _encode_row(row, max_gap)
        values += v
        rel += r
        ptr.append(len(values))
    shape = (int(weight.shape[0]), int(weight.shape[1]))
    return EncodedMatrix(shape, torch.tensor(values, dtype=torch.float32),
                         torch.tensor(rel, dtype=torch.uint8 if index_bits <= 8 else torch.int32),
                         torch.tensor(ptr, dtype=torch.int64))


def decode_relative(enc: EncodedMatrix) -> Tensor:
    """The dense matrix of an :class:`EncodedMatrix` (inverse of :func:`encode_relative`)."""
    out = torch.zeros(enc.shape, dtype=torch.float32)
    rel = enc.rel_index.tolist()
    for r in range(enc.shape[0]):
        col = -1
        for i in range(int(enc.row_ptr[r]), int(enc.row_ptr[r + 1])):
            col += rel[i] + 1
            out[r, col] = enc.values[i]
    return out


def ese_storage_bits(weight: Tensor, value_bits: int = 12, index_bits: int = 4,
                     pointer_bits: int = 16) -> int:
    """Bits to store ``weight`` sparse: ESE relative-index encoding (module docstring)."""
    return encode_relative(weight, index_bits).storage_bits(value_bits, index_bits, pointer_bits)
