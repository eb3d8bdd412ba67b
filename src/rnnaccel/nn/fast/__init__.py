"""Inference fast paths of ``rnnaccel.nn.LSTM``/``GRU``, chosen in one place: :func:`select_path`.

Paths (``PathChoice.name``), all computing the reference forward of ``rnnaccel.nn.rnn`` to float
rounding (docs/nn.md states the tolerances):

- ``"compiled"``: one numba call per direction runs all timesteps (``compiled_kernels``, weights prepared
  by ``compiled``); for streaming, ``streamer.Streamer`` runs one packed step kernel per layer
  (``compiled_kernels.lstm_step``/``gru_step``) with the whole state kept in its buffer.
- ``"torch"``: the same frequency-domain decomposition in torch ops (``torch_runner``); directions with
  no frequency-domain form run their reference forward inside it.
- ``"reference"``: the modules' own forward, the one that trains.

Modules: ``dft`` (real DFT matrices, ``CirculantPlan``), ``torch_runner``, ``compiled`` (weights laid out
for the kernels, the stack runner), ``compiled_kernels`` (numba), ``prepared`` (what one model needs,
cached), ``streamer``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

__all__ = ["MAX_COMPILED_BATCH", "PathChoice", "kernel_status", "select_path"]

# The compiled kernel runs the samples of a batch one after the other (weights streamed once per sample);
# on the Google LSTM (1 thread) it beat the torch runner's batched matmuls up to batch 32 by 1.7-2.5x and
# was on par at batch 128, so larger batches take the torch runner (which also uses all torch threads).
MAX_COMPILED_BATCH = 64


@dataclass(frozen=True)
class PathChoice:
    """Which inference path a forward takes (``name``: compiled | torch | reference) and why."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


_TRAINING = PathChoice("reference", "training mode: gradients flow through the reference forward")
_GRAD = PathChoice("reference", "grad enabled: fast paths run under torch.no_grad()/inference_mode()")
_TRACING = PathChoice("reference", "tracing (torch.export/torch.compile): the reference forward traces")


def select_path(model: nn.Module, x: Tensor, states: tuple[Tensor, ...]
                ) -> tuple[PathChoice, Callable | None]:
    """The path for ``model(x, states)`` (time-major ``x`` (T, B, in)) and its runner.

    The runner is ``run(x, states, lengths) -> (output, final states)``; None means the reference forward.
    The rule, in order: training mode, grad enabled or tracing -> reference. Otherwise the model's
    prepared weights (built once per parameter version, ``prepared.of``) decide: compiled when every
    direction has a compiled form, ``x`` and the states are CPU tensors of the module's dtype and the
    batch is at most ``MAX_COMPILED_BATCH``; else torch when some direction has a torch runner; else
    reference.
    ``PathChoice.reason`` says which condition decided.
    """
    if model.training:
        return _TRAINING, None
    if torch.is_grad_enabled():
        return _GRAD, None
    if torch.compiler.is_compiling():
        return _TRACING, None
    from rnnaccel.nn.fast import prepared

    prep = prepared.of(model)
    if prep.compiled is not None and x.dtype == prep.dtype and x.is_cpu and x.shape[1] <= MAX_COMPILED_BATCH \
            and all(s.dtype == x.dtype for s in states):
        return prep.compiled_choice, prep.compiled_runner
    choice = prep.fallback(x, states)
    return choice, (partial(model.run_layers, runners=prep.torch) if choice.name == "torch" else None)


def kernel_status() -> tuple[bool, str]:
    """Whether the compiled kernels load here, and why not (numba missing, no cache directory)."""
    from rnnaccel.nn.fast.compiled import load_kernels_reason

    reason = load_kernels_reason()
    return reason is None, reason or "numba kernels load"
