"""Euclidean projection onto the (cropped) block-circulant matrices (E-RNN's ADMM Z-step)."""

from __future__ import annotations

from torch import Tensor

from rnnaccel.nn.circulant import block_circulant_vectors, expand_block_circulant

__all__ = ["project_block_circulant"]


def project_block_circulant(weight: Tensor, block_size: int) -> Tensor:
    """The nearest (Frobenius) cropped block-circulant matrix to ``weight`` (same ``(out, in)`` shape).

    Each wrapped diagonal of each ``k x k`` block is replaced by the mean of its entries inside the
    matrix (papers.md, "Euclidean projection"); exact because the circulant basis matrices have
    disjoint supports.
    """
    vectors = block_circulant_vectors(weight, block_size)
    return expand_block_circulant(vectors, weight.shape[0], weight.shape[1])
