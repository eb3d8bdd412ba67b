"""Frame-by-frame inference (the latency case): one compiled call per layer with the whole state kept inside.

``model(frame, state)`` per frame validates shapes, checks that the prepared weights are current and
allocates its outputs, which at batch 1 costs as much as the kernel. A :class:`Streamer` does that once:
it snapshots the prepared weights. When every layer's input role is fused into its kernel, each layer is
one ``compiled_kernels.lstm_step``/``gru_step`` call on a ``compiled.StepPack`` (weights, scratch and the
state in the kernels' layouts in one buffer: three array arguments to unbox, nothing allocated), and the
first layer reads the frame in place through its address; otherwise each layer runs the sequence kernel on
one frame with a prebuilt argument list (the input role's torch op per step).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from rnnaccel.nn.fast.compiled import load_kernels, unfused_input

__all__ = ["Streamer"]


class Streamer:
    """``Streamer(model)``: ``step(frame)`` runs one frame of a unidirectional compiled model (batch 1).

    The weights are those of ``model`` when the streamer was made (make a new one after changing them).
    ``step`` returns a view of the streamer's output buffer, overwritten by the next step (``clone()`` it
    to keep it); ``state`` is the current ``(h, c)`` (or ``(h,)``) in torch's layout
    ``(num_layers, 1, width)`` (a copy; set it with ``reset``). ``fused`` says whether the packed step
    kernels run (every layer's input role circulant with the recurrent block size).
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
        self._n_in = model.input_size
        plans = [dirs[0] for dirs in prep.compiled]
        self.fused = all(ih is None for _, ih in plans)
        np_dtype = np.dtype(str(prep.dtype).removeprefix("torch."))
        self._frame = np.zeros(model.input_size, np_dtype)
        self._frame_t = torch.from_numpy(self._frame)
        if self.fused:
            self._build_packed(plans)
        else:
            self._build_sequence(plans, np_dtype)
        self.reset(state)
        how = "packed step kernels" if self.fused else "sequence kernels one frame at a time"
        self.path = fast.PathChoice("compiled", f"Streamer: {how}, state kept in place")

    def _build_packed(self, plans: list) -> None:
        kernels = load_kernels()
        lstm = self.model_type == "LSTM"
        run, init = ((kernels.lstm_step, kernels.lstm_step_init) if lstm
                     else (kernels.gru_step, kernels.gru_step_init))
        self._packs = [plan.step_pack() for plan, _ in plans]
        self._inits = [(init, pack) for pack in self._packs]
        self._syncs = [(kernels.lstm_step_cell, pack) for pack in self._packs] if lstm else []
        self._state_views = [[pack.views[i] for i in pack.outputs] for pack in self._packs]
        first = self._packs[0]
        self._run0 = (run, first.buf, first.bits, first.meta)
        outs = [pack.views[pack.outputs[0]] for pack in self._packs]
        self._rest = [(run, [out.ctypes.data, out.size, pack.buf, pack.bits, pack.meta])
                      for out, pack in zip(outs, self._packs[1:], strict=False)]
        self._out = torch.from_numpy(self._state_views[-1][0])

    def _build_sequence(self, plans: list, np_dtype: np.dtype) -> None:
        widths = plans[0][0].state_widths
        states = tuple(np.zeros((len(plans), 1, w), np_dtype) for w in widths)
        frame = self._frame.reshape(1, 1, -1)
        ys = [np.zeros((1, 1, plan.out), np_dtype) for plan, _ in plans]
        lens = np.ones(1, np.int64)
        self._steps = [(plan.kernel_args(x, None, states, (y, 0), states, idx, lens, False), ih,
                        plan.run_kernel)
                       for idx, ((plan, ih), x, y) in enumerate(zip(plans, [frame, *ys], ys, strict=False))]
        self._inits, self._syncs = [], []
        self._state_views = [[s[layer, 0] for s in states] for layer in range(len(plans))]
        self._out = torch.from_numpy(ys[-1]).view(-1)

    def reset(self, state: tuple[Tensor, ...] | Tensor | None = None) -> None:
        """Set the state (torch layout, batch 1) or zero it."""
        given = (state,) if isinstance(state, Tensor) else state
        layers, widths = len(self._state_views), [v.size for v in self._state_views[0]]
        for i, width in enumerate(widths):
            shape = (layers, 1, width)
            if given is not None and given[i].numel() != layers * width:
                raise ValueError(f"state {i} has shape {tuple(given[i].shape)}, expected {shape}")
            src = None if given is None else given[i].detach().reshape(layers, width).cpu().numpy()
            for layer, views in enumerate(self._state_views):
                views[i][...] = 0 if src is None else src[layer]
        for init, pack in self._inits:
            init(pack.buf, pack.meta)

    @property
    def state(self) -> tuple[Tensor, ...]:
        for sync, pack in self._syncs:  # the natural-order cell state is not written per step
            sync(pack.buf, pack.meta)
        return tuple(torch.from_numpy(np.stack([views[i] for views in self._state_views])[:, None].copy())
                     for i in range(len(self._state_views[0])))

    def step(self, frame: Tensor) -> Tensor:
        """Output ``(out,)`` for one input frame (``(in,)``, ``(1, in)`` or ``(1, 1, in)``)."""
        if frame.numel() != self._n_in:
            raise ValueError(f"frame has shape {tuple(frame.shape)}, expected ({self._n_in},)")
        if not self.fused:
            return self._step_sequence(frame)
        run, buf, bits, meta = self._run0
        if frame.dtype == self.dtype and frame.is_cpu and frame.is_contiguous():
            run(frame.data_ptr(), self._n_in, buf, bits, meta)  # read in place: checked dtype, size, layout
        else:
            self._frame_t.copy_(frame.reshape(-1))
            run(self._frame.ctypes.data, self._n_in, buf, bits, meta)
        for run, args in self._rest:
            run(*args)
        return self._out

    def _step_sequence(self, frame: Tensor) -> Tensor:
        self._frame_t.copy_(frame.reshape(-1))
        for args, ih, run in self._steps:
            if ih is not None:  # an input role the kernel does not fuse: its torch op, per step
                args[1] = unfused_input(ih, torch.from_numpy(args[0]))
            run(*args)
        return self._out
