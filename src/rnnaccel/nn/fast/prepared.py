"""What one ``rnnaccel.nn.LSTM``/``GRU`` needs for inference: per direction a compiled and a torch runner.

Built by :func:`of` once per parameter version (``cache.cached``); read by ``select_path``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from rnnaccel.nn.fast import MAX_COMPILED_BATCH, PathChoice
from rnnaccel.nn.fast.cache import cached
from rnnaccel.nn.fast.compiled import CompiledGRU, CompiledLSTM, load_kernels_reason, run_stack
from rnnaccel.nn.fast.torch_runner import TorchGRU, TorchLSTM

__all__ = ["Prepared", "of"]


@dataclass(frozen=True)
class Prepared:
    """``compiled[l][d] = (kernel runner, input role or None when fused)`` when every direction has one;
    ``torch[l][d]``: a torch runner or None (that direction runs its reference forward)."""

    dtype: torch.dtype
    compiled: list[list[tuple[CompiledLSTM | CompiledGRU, nn.Module | None]]] | None
    torch: list[list[TorchLSTM | TorchGRU | None]]
    compiled_choice: PathChoice
    compiled_runner: Callable | None
    why_not_compiled: str | None

    @classmethod
    def build(cls, model: nn.Module) -> Prepared:
        lstm = hasattr(model, "proj_size")
        compiled_type, torch_type = (CompiledLSTM, TorchLSTM) if lstm else (CompiledGRU, TorchGRU)
        runners = [[torch_type.build(d) for d in dirs] for dirs in model.layers]
        why = load_kernels_reason() or _structure_reason(model)
        compiled = None if why is not None else _compiled(model, compiled_type)
        if why is None and compiled is None:
            why = "parameters are not CPU float32/float64"
        dtype = next(model.parameters()).dtype
        choice = PathChoice("compiled", f"numba kernels, CPU {str(dtype).removeprefix('torch.')}, batch <= "
                                        f"{MAX_COMPILED_BATCH}")
        run = None if compiled is None else partial(run_stack, compiled)
        return cls(dtype, compiled, runners, choice, run, why)

    def fallback(self, x: Tensor, states: tuple[Tensor, ...]) -> PathChoice:
        """The choice when the compiled path is not taken for ``x``, with the reason."""
        if self.why_not_compiled is not None:
            why = self.why_not_compiled
        elif not x.is_cpu:
            why = f"input on {x.device}, the compiled kernels run on the CPU"
        elif x.dtype != self.dtype or any(s.dtype != x.dtype for s in states):
            why = f"input/state dtype differs from the module's {self.dtype}"
        else:
            why = f"batch {x.shape[1]} > {MAX_COMPILED_BATCH}: batched torch matmuls are faster"
        if any(r is not None for dirs in self.torch for r in dirs):
            return PathChoice("torch", why)
        return PathChoice("reference", f"{why}; no direction has a frequency-domain form")


def _compiled(model: nn.Module, compiled_type: type) -> list | None:
    plans = [[(compiled_type.build(d), d.ih) for d in dirs] for dirs in model.layers]
    if any(p is None for dirs in plans for p, _ in dirs):
        return None
    return [[(p, None if p.fused_input else ih) for p, ih in dirs] for dirs in plans]


def _structure_reason(model: nn.Module) -> str | None:
    """Why some direction has no compiled form (None: every direction has one)."""
    from rnnaccel.nn.circulant import BlockCirculantLinear

    for layer, dirs in enumerate(model.layers):
        for d, direction in enumerate(dirs):
            hh, k = direction.hh, getattr(direction.hh, "block_size", None)
            where = f"layer {layer} direction {d}"
            if not isinstance(hh, BlockCirculantLinear) or direction.hidden_size % k:
                return f"{where}: the recurrent role is not block-circulant with a block size dividing H"
            proj = getattr(direction, "proj", None)
            if proj is not None and (getattr(proj, "block_size", None) != k or direction.proj_size % k):
                return f"{where}: the projection is not block-circulant with the recurrent block size"
    return None


def of(model: nn.Module) -> Prepared:
    """The model's prepared runners, rebuilt when its parameters change."""
    return cached(model, "_prepared_cache", Prepared.build)
