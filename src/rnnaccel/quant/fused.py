"""The fused QAT path: a fake-quantized direction as two autograd Functions over compiled kernels.

:mod:`rnnaccel.quant.model` is the readable definition (one torch op per rounding, a Python loop
over timesteps); a QAT step through it costs 84x (LSTM) / 25x (GRU) a float training step
(benchmarks/bench_qat.py, 2x128 k = 8), almost all of it per-op overhead and autograd's per-timestep
bookkeeping; through this path 2.1-2.3x / 0.6-0.8x (1 thread, batch 8 x 200 frames, equal or
unequal lengths, load 2-4). It computes the same values, bit for bit, and the same straight-through
gradients (to float64 rounding), with

* the input role ``W_ih x_t`` for all timesteps at once (:class:`_CircRole`, time-major output; the
  recurrence kernels add the biases): FFT stages and
  roundings in numba, the frequency-domain MACs as one float64 ``bmm`` (exact: every product and
  partial sum is on a grid below 2**53, so BLAS's order does not matter);
* the recurrence (:class:`_LSTMRec`, :class:`_GRURec`): one numba call per direction forward, one
  backward; the forward saves the STE masks, PWL slopes and FFT bins, the backward runs the steps in
  reverse and the recurrent weight gradient is one ``bmm`` over all steps afterwards;
* activation tables (value and STE derivative per input code) for inputs of at most 16 bits;
* a batch of unequal lengths in one call: step ``s`` of sequence ``b`` processes frame
  :func:`step_frames` ``[s, b]`` (a reverse direction from the sequence's own last frame), a step
  past its end keeps its state and outputs nothing (zeros), as ``rnnaccel.nn.sequences``.

The kernels are in :mod:`rnnaccel.quant._qat_kernels`. :func:`fused_reason` decides, in one place,
whether a direction runs here; otherwise the model's reference loop runs.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache, lru_cache
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn

from rnnaccel.nn.circulant import BlockCirculantLinear
from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import _quantize_codes
from rnnaccel.quant.fft import FFTPlan, check_fft_size
from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import Overflow, QFormat, Rounding
from rnnaccel.quant.roles import QuantContext, quantized_freq_weight

__all__ = ["FusedTables", "circ_role", "complex_weight", "fused_reason", "gru_direction", "gru_recurrence",
           "lstm_direction", "lstm_recurrence", "step_frames"]

_MODE = {Rounding.TRN: 0.0, Rounding.RND: 1.0, Rounding.RND_CONV: 2.0}
_POINTS = (QPoint.WEIGHT, QPoint.BIAS, QPoint.TWIDDLE, QPoint.FFT, QPoint.FREQ_ACC, QPoint.IFFT,
           QPoint.GATE_ACC, QPoint.SIGMOID, QPoint.TANH, QPoint.HIDDEN)
_CELL_POINTS = (QPoint.GATE_ACC, QPoint.SIGMOID, QPoint.TANH, QPoint.CELL, QPoint.HIDDEN)


@cache
def _kernels() -> ModuleType | None:
    try:
        return importlib.import_module("rnnaccel.quant._qat_kernels")
    except (ImportError, RuntimeError):  # numba missing, or no writable cache directory
        return None


def fused_reason(direction: nn.Module, config: QuantConfig, stats: object = None) -> str | None:
    """None when ``direction`` (an LSTM/GRU direction of rnnaccel.nn) runs the fused path under
    ``config``, else why the reference loop of :mod:`rnnaccel.quant.model` runs it."""
    if stats is not None:
        return "overflow statistics are counted by the reference path"
    if _kernels() is None:
        return "numba cannot be imported (or has no cache directory)"
    missing = [p.value for p in _POINTS if config[p] is None]
    if hasattr(direction, "proj") and config.cell is None:
        missing.append("cell")
    if missing:
        return f"points without a format: {missing}"
    if config.sigmoid_pwl is None or config.tanh_pwl is None:
        return "exact sigmoid/tanh (no PWL): only the PWL activations are exact in float64"
    if getattr(direction, "proj", None) is not None:
        return "LSTM projection"
    if not all(p.is_cpu for p in direction.parameters()):
        return "parameters not on the CPU (the kernels are numba CPU code)"
    for name in ("ih", "hh"):
        role = getattr(direction, name)
        if not isinstance(role, BlockCirculantLinear):
            return f"{name} role is dense"
        if role.bias is None:
            return f"{name} role has no bias"
    return None


def _fmt_row(fmt: QFormat) -> np.ndarray:
    return np.array([2.0**fmt.frac, fmt.lsb, float(fmt.code_min), float(fmt.code_max), _MODE[fmt.rounding],
                     1.0 if fmt.overflow is Overflow.SAT else 0.0, float(2**fmt.bits)])


_LUT_MAX_BITS = 16  # activation tables for input formats up to 16 bits (65,536 rows, 1 MiB)


def _act_tables(pwl: PWLActivation, in_fmt: QFormat, out_fmt: QFormat) -> tuple[np.ndarray, ...]:
    """The kernels' activation tuple: PWL tables in value units, and for inputs of at most
    ``_LUT_MAX_BITS`` bits the value and derivative for every input code, computed by the reference
    functions themselves (``PWLActivation.__call__``, fake-quant rounding and its STE mask)."""
    t = pwl.table
    lsb = 2.0**-t.frac
    pieces = tuple(np.ascontiguousarray(a * lsb, dtype=np.float64)
                   for a in (t.breaks, t.starts, t.bases, t.slopes))
    if in_fmt.bits > _LUT_MAX_BITS:
        return (*pieces, np.zeros((0, 2)), np.zeros(2))
    x = torch.arange(in_fmt.code_min, in_fmt.code_max + 1, dtype=torch.float64) * in_fmt.lsb
    codes, bad = _quantize_codes(pwl(x), out_fmt)
    region = torch.searchsorted(torch.from_numpy(pieces[0]), x, right=True)
    slope = torch.from_numpy(pieces[3])[region]
    if out_fmt.overflow is Overflow.SAT:
        slope = slope.masked_fill(bad, 0.0)
    lut = torch.stack([codes * out_fmt.lsb, slope], 1).numpy()
    return (*pieces, np.ascontiguousarray(lut), np.array([2.0**in_fmt.frac, float(in_fmt.code_min)]))


@dataclass(frozen=True)
class FusedTables:
    """What the kernels need of one role's FFT and of the cell's points (numpy, built per forward)."""

    k: int
    fx: tuple  # rev, tops, bots, twr, twi, fft fmt, freq_acc fmt, ifft fmt
    real: np.ndarray  # uint8 (k/2+1,): 1 on DC and Nyquist, whose Wi and imaginary bins are exactly 0
    cell: np.ndarray  # format rows: gate_acc, sigmoid, tanh, cell (or hidden again), hidden
    sig: tuple  # sigmoid of gate_acc inputs (quant._qat_kernels._act_rows)
    tanh: tuple  # tanh of gate_acc inputs
    tanh_c: tuple  # tanh of cell-state inputs (LSTM)
    fast: bool  # every format the kernels round to is RND with SAT: they take their branch-free rounding

    @classmethod
    @lru_cache(maxsize=32)
    def build(cls, k: int, config: QuantConfig) -> FusedTables:
        check_fft_size(k)
        plan = FFTPlan(k, config.twiddle)
        stages = plan.stages
        half = max(k // 2, 1)
        tops = np.array([st[0] for st in stages], np.int64).reshape(len(stages), half)
        bots = np.array([st[1] for st in stages], np.int64).reshape(len(stages), half)
        twr = np.array([st[2] for st in stages], np.float64).reshape(len(stages), half)
        twi = np.array([st[3] for st in stages], np.float64).reshape(len(stages), half)
        fx = (np.ascontiguousarray(plan.bit_reverse, np.int64), tops, bots, twr, twi,
              _fmt_row(config.fft), _fmt_row(config.freq_acc), _fmt_row(config.ifft))
        cell_fmt = config.cell or config.hidden
        cell = np.stack([_fmt_row(f) for f in (config.gate_acc, config.sigmoid, config.tanh, cell_fmt,
                                               config.hidden)])
        real = np.zeros(k // 2 + 1, np.uint8)
        real[0] = 1
        real[-1] |= k % 2 == 0
        acts = (_act_tables(config.sigmoid_pwl, config.gate_acc, config.sigmoid),
                _act_tables(config.tanh_pwl, config.gate_acc, config.tanh),
                _act_tables(config.tanh_pwl, cell_fmt, config.tanh))
        fmts = (config.fft, config.freq_acc, config.ifft, config.gate_acc, config.sigmoid, config.tanh,
                cell_fmt, config.hidden)
        fast = all(f.rounding is Rounding.RND and f.overflow is Overflow.SAT for f in fmts)
        return cls(k, fx, real, cell, *acts, fast)

    @property
    def stages(self) -> int:
        return self.fx[1].shape[0]

    @property
    def real_bins(self) -> tuple[int, ...]:
        return tuple(int(f) for f in np.flatnonzero(self.real))

    @property
    def complex_bins(self) -> tuple[int, int]:
        """[lo, hi) of the bins between DC and Nyquist."""
        return 1, max(1, self.k // 2 + 1 - int(self.k % 2 == 0))


def _np(t: Tensor) -> np.ndarray:
    return t.detach().contiguous().numpy()


def complex_weight(wr: Tensor, wi: Tensor) -> Tensor:
    """Per bin f the real (2p, 2q) matrix [[Wr, -Wi], [Wi, Wr]] of the complex MACs: (nb, 2p, 2q)
    (differentiable: autograd takes dW2 back to Wr and Wi)."""
    r, i = wr.permute(2, 0, 1), wi.permute(2, 0, 1)
    return torch.cat([torch.cat([r, -i], 2), torch.cat([i, r], 2)], 1).contiguous()


def _stage_masks(steps: int, blocks: int, tab: FusedTables, n: int) -> np.ndarray:
    return np.empty((steps, blocks, tab.stages, 2, tab.k, n), np.uint8)


def _binwise(a: Tensor, b: Tensor, tab: FusedTables, weight_grad: bool = False) -> Tensor:
    """``a[f] @ b[f]`` per bin f (float64, exact on grid values). On DC and Nyquist the imaginary
    halves are zero (see ``FusedTables.real``), so there only the real blocks are multiplied and the
    rest is 0, which is what the full product gives: for the MACs and their input gradient
    ``a[f, :r/2, :i/2] @ b[f, :i/2]``, for the weight gradient ``a[f, :r/2] @ b[f, :, :c/2]``."""
    nb, rows, inner, cols = a.shape[0], a.shape[1], a.shape[2], b.shape[2]
    out = a.new_empty(nb, rows, cols)
    lo, hi = tab.complex_bins
    if hi > lo:
        torch.bmm(a[lo:hi], b[lo:hi], out=out[lo:hi])
    i_end, c_end = (inner, cols // 2) if weight_grad else (inner // 2, cols)
    for f in tab.real_bins:
        out[f].zero_()
        out[f, : rows // 2, :c_end] = a[f, : rows // 2, :i_end] @ b[f, :i_end, :c_end]
    return out


def _w2_grad(dacc: np.ndarray, xs: np.ndarray, tab: FusedTables) -> Tensor:
    """dW2 = sum over steps and batch of dA X^T per bin, (nb, 2p, 2q), from bin-major ``dacc``
    (nb, 2p, ...) and ``xs`` (nb, 2q, ...): one bmm over all columns."""
    nb = dacc.shape[0]
    a = torch.from_numpy(dacc).view(nb, dacc.shape[1], -1)
    return _binwise(a, torch.from_numpy(xs).view(nb, xs.shape[1], -1).transpose(1, 2), tab, weight_grad=True)


class _CircRole(torch.autograd.Function):
    """Exact ``W x`` of a circulant role (no bias) for all steps at once, x (T, B, in) -> (T, out, B)
    (the values of roles._circulant_role)."""

    @staticmethod
    def forward(ctx, x: Tensor, w2: Tensor, tab: FusedTables, out_features: int) -> Tensor:
        kern, (rev, tops, bots, twr, twi, ffft, facc, fifft) = _kernels(), tab.fx
        nb, rows, cols = w2.shape
        steps, n, width = x.shape
        m = steps * n
        xs = np.empty((1, nb, cols, m))
        mfft = _stage_masks(1, cols // 2, tab, m)[0]
        kern.fft_fwd(x.detach().permute(2, 0, 1).reshape(width, m).numpy(), rev, tops, bots, twr, twi, ffft,
                     xs, 0, mfft, tab.fast)
        acc = _binwise(w2.detach(), torch.from_numpy(xs[0]), tab).numpy().reshape(1, nb, rows, m)
        y = np.empty((steps, out_features, n))
        macc = np.empty(acc.shape, np.uint8)
        mifft = _stage_masks(1, rows // 2, tab, m)[0]
        kern.ifft_fwd(acc, 0, rev, tops, bots, twr, twi, facc, fifft, macc, 0, mifft, y, tab.fast)
        ctx.save_for_backward(w2)
        ctx.saved = (xs, mfft, macc, mifft, tab, width, steps)
        return torch.from_numpy(y)

    @staticmethod
    def backward(ctx, dy: Tensor):  # type: ignore[override]
        kern = _kernels()
        (w2,) = ctx.saved_tensors
        xs, mfft, macc, mifft, tab, width, steps = ctx.saved
        rev, tops, bots, twr, twi = tab.fx[:5]
        dacc = np.empty(macc.shape)
        kern.ifft_bwd(_np(dy), rev, tops, bots, twr, twi, macc, 0, mifft, dacc, 0)
        dx = None
        if ctx.needs_input_grad[0]:
            dxs = _binwise(w2.detach().transpose(1, 2), torch.from_numpy(dacc[0]), tab)
            dxs = dxs.numpy().reshape(xs.shape)
            dxt = np.empty((width, xs.shape[3]))
            kern.fft_bwd(dxs, 0, rev, tops, bots, twr, twi, mfft, dxt)
            dx = torch.from_numpy(dxt).view(width, steps, -1).permute(1, 2, 0)
        return dx, _w2_grad(dacc[0], xs[0], tab), None, None


def circ_role(x: Tensor, w2: Tensor, bias: Tensor | None, tab: FusedTables, out_features: int) -> Tensor:
    """``W x + b`` of a quantized circulant role on x (T, B, in) float64, as (T, out, B) (batch
    innermost, the layout of the recurrence kernels); the values of roles._circulant_role. ``bias``
    None: ``W x`` alone (the recurrence kernels add the biases)."""
    y = _CircRole.apply(x, w2, tab, out_features)
    return y if bias is None else y + bias[None, :, None]


def mac_weights(w2: Tensor) -> tuple[np.ndarray, ...]:
    """(W2, W2^T, Wr, Wr^T) per bin, contiguous, for the recurrence kernels' BLAS MACs (Wr: the
    (p, q) real block, all that DC and Nyquist use)."""
    w = _np(w2)
    p, q = w.shape[1] // 2, w.shape[2] // 2
    wr = np.ascontiguousarray(w[:, :p, :q])
    return (w, np.ascontiguousarray(w.transpose(0, 2, 1)), wr, np.ascontiguousarray(wr.transpose(0, 2, 1)))


def _rec_buffers(steps: int, n: int, w2: Tensor, tab: FusedTables) -> tuple:
    """Bins (bin-major (nb, 2q, T, B), for the weight gradient), FFT masks, accumulator masks, IFFT
    masks of the recurrent role per step (the stage masks with the blocks side by side,
    (T, S, 2, k, blocks*B), as the step kernels run them)."""
    nb, rows, cols = w2.shape
    return (np.empty((nb, cols, steps, n)), np.empty((steps, tab.stages, 2, tab.k, cols // 2 * n), np.uint8),
            np.empty((steps, nb, rows, n), np.uint8),
            np.empty((steps, tab.stages, 2, tab.k, rows // 2 * n), np.uint8))


def step_frames(steps: int, batch: int, lengths: Tensor | None, reverse: bool) -> np.ndarray:
    """(T, B) int64: the frame that step ``s`` of a direction processes in sequence ``b``, -1 once the
    sequence has ended (``lengths`` None: every sequence has ``steps`` frames). A reverse direction
    starts at each sequence's own last frame, ``lengths[b] - 1``."""
    s = np.arange(steps)[:, None]
    n = np.full((1, batch), steps) if lengths is None else lengths.numpy().reshape(1, batch)
    return np.ascontiguousarray(np.where(s < n, n - 1 - s if reverse else s, -1), dtype=np.int64)


def _outputs(tix: np.ndarray, *shape: int) -> np.ndarray:
    """A per-frame array that the kernels fill at every processed frame (zeros elsewhere)."""
    return np.zeros(shape) if bool((tix < 0).any()) else np.empty(shape)


def _grad_in(g: Tensor | None, shape: tuple[int, ...], transpose: bool = False) -> np.ndarray:
    """An incoming gradient as contiguous float64 numpy (zeros for None), (N, H) ones transposed."""
    if g is None:
        return np.zeros(shape[::-1] if transpose else shape)
    return _np(g.T if transpose else g)


class _LSTMRec(torch.autograd.Function):
    """The LSTM recurrence of QuantLSTM._direction (no projection) from its input part ``gx`` =
    W_ih x (T, 4H, B) and ``bias`` = b_ih + b_hh, the frames of each step ``tix`` (``step_frames``)."""

    @staticmethod
    def forward(ctx, gx: Tensor, w2: Tensor, bias: Tensor, peep: Tensor, has_peep: bool,
                tix: np.ndarray, tab: FusedTables):  # type: ignore[override]
        steps, gates, n = gx.shape
        hidden = gates // 4
        shape = (steps, hidden, n)
        sv = (np.empty(shape), np.empty((steps, gates, n)), np.empty((steps, gates, n)),
              np.empty(shape), np.empty(shape), np.empty(shape), np.empty(shape),
              *_rec_buffers(steps, n, w2, tab))
        y, h, c = _outputs(tix, steps, n, hidden), np.empty((hidden, n)), np.empty((hidden, n))
        mw = mac_weights(w2)
        _kernels().lstm_fwd(_np(gx), tix, tab.fx, mw, tab.real, _np(bias), _np(peep), has_peep, tab.cell,
                            tab.sig, tab.tanh, tab.tanh_c, sv, y, h, c, tab.fast)
        ctx.save_for_backward(w2, peep)
        ctx.saved = (sv, has_peep, tix, tab, mw)
        return torch.from_numpy(y), torch.from_numpy(h).T, torch.from_numpy(c).T

    @staticmethod
    def backward(ctx, dy: Tensor, dh: Tensor, dc: Tensor):  # type: ignore[override]
        w2, peep = ctx.saved_tensors
        sv, has_peep, tix, tab, mw = ctx.saved
        steps, hidden, n = sv[0].shape
        dgx = _outputs(tix, steps, 4 * hidden, n)
        dacc = np.empty(sv[9].shape[1:3] + (steps, n))
        dpeep, dbias = np.zeros((3, hidden)), np.zeros(4 * hidden)
        _kernels().lstm_bwd(_grad_in(dy, (steps, n, hidden)), tix, _grad_in(dh, (n, hidden), True),
                            _grad_in(dc, (n, hidden), True), tab.fx, mw, tab.real, _np(peep), has_peep,
                            sv, dgx, dacc, dpeep, dbias)
        return (torch.from_numpy(dgx), _w2_grad(dacc, sv[7], tab), torch.from_numpy(dbias),
                torch.from_numpy(dpeep) if has_peep else None, None, None, None)


class _GRURec(torch.autograd.Function):
    """The GRU recurrence of QuantGRU._direction from its input part ``gx`` = W_ih x (T, 3H, B),
    ``bias`` b_hh and ``bias_ih`` b_ih."""

    @staticmethod
    def forward(ctx, gx: Tensor, w2: Tensor, bias: Tensor, bias_ih: Tensor, tix: np.ndarray,
                tab: FusedTables):  # type: ignore[override]
        steps, gates, n = gx.shape
        hidden = gates // 3
        shape = (steps, hidden, n)
        sv = (np.empty(shape), np.empty((steps, 4 * hidden, n)), np.empty((steps, 4 * hidden, n)),
              np.empty(shape), *_rec_buffers(steps, n, w2, tab))
        y, h = _outputs(tix, steps, n, hidden), np.empty((hidden, n))
        mw = mac_weights(w2)
        _kernels().gru_fwd(_np(gx), tix, tab.fx, mw, tab.real, _np(bias), _np(bias_ih), tab.cell, tab.sig,
                           tab.tanh, sv, y, h, tab.fast)
        ctx.save_for_backward(w2)
        ctx.saved = (sv, tix, tab, mw)
        return torch.from_numpy(y), torch.from_numpy(h).T

    @staticmethod
    def backward(ctx, dy: Tensor, dh: Tensor):  # type: ignore[override]
        (w2,) = ctx.saved_tensors
        sv, tix, tab, mw = ctx.saved
        steps, hidden, n = sv[0].shape
        dgx, dgh = _outputs(tix, steps, 3 * hidden, n), np.empty((steps, 3 * hidden, n))
        dacc = np.empty(sv[6].shape[1:3] + (steps, n))
        dbias, dbias_ih = np.zeros(3 * hidden), np.zeros(3 * hidden)
        _kernels().gru_bwd(_grad_in(dy, (steps, n, hidden)), tix, _grad_in(dh, (n, hidden), True), tab.fx,
                           mw, tab.real, sv, dgx, dgh, dacc, dbias, dbias_ih)
        return (torch.from_numpy(dgx), _w2_grad(dacc, sv[4], tab), torch.from_numpy(dbias),
                torch.from_numpy(dbias_ih), None, None)


def lstm_recurrence(gx: Tensor, w2: Tensor, bias: Tensor, peep: tuple[Tensor, ...] | None,
                    reverse: bool, tab: FusedTables, lengths: Tensor | None = None
                    ) -> tuple[Tensor, Tensor, Tensor]:
    """(y (T, B, H), h_T, c_T) of the quantized LSTM recurrence from ``gx`` = W_ih x (T, 4H, B) and
    ``bias`` = b_ih + b_hh;
    ``lengths`` (B,): sequence b is frames 0..lengths[b]-1 (its outputs beyond are zero, its final
    states those at its last processed frame)."""
    hidden = gx.shape[1] // 4
    pv = torch.stack(peep) if peep is not None else torch.zeros(3, hidden, dtype=torch.float64)
    tix = step_frames(gx.shape[0], gx.shape[2], lengths, reverse)
    return _LSTMRec.apply(gx, w2, bias, pv, peep is not None, tix, tab)


def gru_recurrence(gx: Tensor, w2: Tensor, bias: Tensor, bias_ih: Tensor, reverse: bool, tab: FusedTables,
                   lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """(y (T, B, H), h_T) of the quantized GRU recurrence from ``gx`` = W_ih x (T, 3H, B), ``bias``
    b_hh and ``bias_ih`` b_ih; ``lengths`` as for :func:`lstm_recurrence`."""
    tix = step_frames(gx.shape[0], gx.shape[2], lengths, reverse)
    return _GRURec.apply(gx, w2, bias, bias_ih, tix, tab)


def _role_inputs(role: BlockCirculantLinear, ctx: QuantContext) -> tuple[Tensor, Tensor, FusedTables]:
    """Quantized frequency weights as W2, quantized bias (differentiable, as roles.py) and the tables."""
    w2 = complex_weight(*quantized_freq_weight(role, ctx))
    return w2, ctx.q(role.bias.double(), QPoint.BIAS), FusedTables.build(role.block_size, ctx.config)


def _input_part(direction: nn.Module, x: Tensor, ctx: QuantContext) -> tuple[Tensor, Tensor]:
    """W_ih x (T, gates, B) and the quantized b_ih (added in the recurrence kernels)."""
    w2, bias, tab = _role_inputs(direction.ih, ctx)
    return circ_role(x, w2, None, tab, direction.ih.out_features), bias


def lstm_direction(direction: nn.Module, x: Tensor, ctx: QuantContext, reverse: bool,
                   lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """QuantLSTM._direction on the fused path (``fused_reason`` is None): same values, same STE;
    ``lengths`` as for :func:`lstm_recurrence`."""
    gx, bias_ih = _input_part(direction, x, ctx)
    w2, bias, tab = _role_inputs(direction.hh, ctx)
    peep = direction.peephole()
    peep = None if peep is None else tuple(ctx.q(w.double(), QPoint.WEIGHT) for w in peep)
    y, h, c = lstm_recurrence(gx, w2, bias_ih + bias, peep, reverse, tab, lengths)
    return y, (h, c)


def gru_direction(direction: nn.Module, x: Tensor, ctx: QuantContext, reverse: bool,
                  lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """QuantGRU._direction on the fused path (``lengths`` as for :func:`lstm_recurrence`)."""
    gx, bias_ih = _input_part(direction, x, ctx)
    w2, bias, tab = _role_inputs(direction.hh, ctx)
    return gru_recurrence(gx, w2, bias, bias_ih, reverse, tab, lengths)
