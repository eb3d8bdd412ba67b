"""Frame-by-frame inference (the latency case): one compiled call per layer with the whole state kept inside.

``model(frame, state)`` per frame validates shapes, checks that the prepared weights are current and
allocates its outputs, which at batch 1 costs as much as the kernel. A :class:`Streamer` does that once:
it snapshots the prepared weights, keeps ``h``/``c`` in its own arrays (updated in place by the kernels)
and passes each kernel a prebuilt argument list, so a step is a copy of the frame plus the kernel calls.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnnaccel.nn.fast.compiled import unfused_input

__all__ = ["Streamer"]


class Streamer:
    """``Streamer(model)``: ``step(frame)`` runs one frame of a unidirectional compiled model (batch 1).

    The weights are those of ``model`` when the streamer was made (make a new one after changing them).
    ``step`` returns a view of the streamer's output buffer, overwritten by the next step (``clone()`` it
    to keep it); ``state`` is a view of the current ``(h, c)`` (or ``(h,)``) in torch's layout
    ``(num_layers, 1, width)``.
    """

    def __init__(self, model: nn.Module, state: tuple[Tensor, ...] | Tensor | None = None) -> None:
        from rnnaccel.nn import fast
        from rnnaccel.nn.fast import prepared

        if model.bidirectional:
            raise ValueError("a bidirectional model cannot stream: its reverse direction needs the whole "
                             "sequence")
        prep = prepared.of(model)
        if prep.compiled is None:
            raise ValueError(f"no compiled path for this model: {prep.why_not_compiled}")
        self.model_type = type(model).__name__
        self.dtype = prep.dtype
        np_dtype = np.dtype(str(prep.dtype).removeprefix("torch."))
        plans = [dirs[0] for dirs in prep.compiled]
        widths = plans[0][0].state_widths
        self._states = tuple(np.zeros((len(plans), 1, w), np_dtype) for w in widths)
        self._frame = np.zeros((1, 1, model.input_size), np_dtype)
        self._frame_t = torch.from_numpy(self._frame)
        self._ys = [np.zeros((1, 1, plan.out), np_dtype) for plan, _ in plans]
        lens = np.ones(1, np.int64)
        self._steps = [(plan.kernel_args(x, None, self._states, (y, 0), self._states, idx, lens, False), ih,
                        plan.run_kernel)
                       for idx, ((plan, ih), x, y) in enumerate(zip(plans, [self._frame, *self._ys], self._ys,
                                                                    strict=False))]
        self._out = torch.from_numpy(self._ys[-1]).view(-1)
        self.reset(state)
        self.path = fast.PathChoice("compiled", "Streamer: compiled kernels, state kept in place")

    def reset(self, state: tuple[Tensor, ...] | Tensor | None = None) -> None:
        """Set the state (torch layout, batch 1) or zero it."""
        given = (state,) if isinstance(state, Tensor) else state
        for i, arr in enumerate(self._states):
            if given is None:
                arr.fill(0)
                continue
            src = given[i].detach().reshape(arr.shape) if given[i].numel() == arr.size else None
            if src is None:
                raise ValueError(f"state {i} has shape {tuple(given[i].shape)}, expected {arr.shape}")
            arr[...] = src.cpu().numpy()

    @property
    def state(self) -> tuple[Tensor, ...]:
        return tuple(torch.from_numpy(s) for s in self._states)

    def step(self, frame: Tensor) -> Tensor:
        """Output ``(out,)`` for one input frame (``(in,)``, ``(1, in)`` or ``(1, 1, in)``)."""
        if frame.numel() != self._frame.size:
            raise ValueError(f"frame has shape {tuple(frame.shape)}, expected ({self._frame.shape[-1]},)")
        self._frame_t.view(-1).copy_(frame.reshape(-1))
        for args, ih, run in self._steps:
            if ih is not None:  # an input role the kernel does not fuse: its torch op, per step
                args[1] = unfused_input(ih, torch.from_numpy(args[0]))
            run(*args)
        return self._out
