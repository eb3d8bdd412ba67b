"""Variable-length batches: ``PackedSequence`` and explicit lengths for ``rnnaccel.nn.LSTM``/``GRU``.

A sequence ``b`` of a padded batch occupies frames ``0..lengths[b]-1``. Every path (reference, torch,
compiled) runs it over exactly those frames: a step past its end leaves its state unchanged and outputs
zero, so the forward direction's final state is taken at its last frame and the reverse direction starts
there, as ``torch.nn.LSTM``/``GRU`` do on a ``PackedSequence``.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence

__all__ = ["check_lengths", "repack", "step_masks"]


def step_masks(lengths: Tensor | None, length: int, device: torch.device) -> Tensor | None:
    """``(T, B, 1)`` bool: frame ``t`` of sequence ``b`` is real (``t < lengths[b]``); None for no lengths."""
    if lengths is None:
        return None
    return (torch.arange(length, device=device)[:, None] < lengths.to(device)[None, :]).unsqueeze(-1)


def check_lengths(lengths: object, length: int, batch: int) -> Tensor | None:
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


def repack(y: Tensor, like: PackedSequence) -> PackedSequence:
    """Time-major padded output ``y`` (original batch order) as a PackedSequence laid out like ``like``."""
    if like.sorted_indices is not None:
        y = y.index_select(1, like.sorted_indices.to(y.device))
    sizes = like.batch_sizes.tolist()
    data = torch.cat([y[t, :size] for t, size in enumerate(sizes)])
    return PackedSequence(data, like.batch_sizes, like.sorted_indices, like.unsorted_indices)
