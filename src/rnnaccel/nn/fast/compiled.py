"""Compiled runners: the weights of an LSTM/GRU direction prepared for ``compiled_kernels`` (numba).

Built once per parameter version (cached by ``rnnaccel.nn.fast.prepared``). numba is a dependency;
``load_kernels()`` returns None when it cannot be imported (or finds no cache directory) and
``select_path`` then takes the torch runners.
Frequency-domain weights, DFT tables and kernel constants are computed in float64 and stored in the
module's dtype (float32 or float64), laid out for unit-stride inner loops (see ``compiled_kernels``).
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import torch
from torch import Tensor, nn

from rnnaccel.nn.circulant import BlockCirculantLinear

__all__ = ["CompiledGRU", "CompiledLSTM", "StepPack", "kernel_constants", "load_kernels",
           "load_kernels_reason", "run_stack", "unfused_input"]

_DTYPES = {torch.float32: (np.float32, np.int32, 127, 23), torch.float64: (np.float64, np.int64, 1023, 52)}
_LN2_HI = 0.693145751953125  # 15 significant bits: n * _LN2_HI is exact for the |n| <= 127 used here
_LN2_LO = 1.42860682030941723212e-06  # ln 2 - _LN2_HI (from the decimal expansion, not log(2) - _LN2_HI)


def load_kernels() -> ModuleType | None:
    """The compiled kernels module, or None when it cannot load (``load_kernels_reason`` says why)."""
    try:
        return importlib.import_module("rnnaccel.nn.fast.compiled_kernels")
    except (ImportError, RuntimeError):
        return None


def load_kernels_reason() -> str | None:
    """None when the compiled kernels load, else why not."""
    try:
        importlib.import_module("rnnaccel.nn.fast.compiled_kernels")
    except ImportError as err:
        return f"numba cannot be imported ({err}); install numba (a dependency of rnnaccel)"
    except RuntimeError as err:  # numba found no writable cache location for ``cache=True``
        return f"numba cannot cache compiled code ({err})"
    return None


def kernel_constants(dtype: torch.dtype) -> np.ndarray:
    """Exp constants: clamp range, log2(e), ln2 split (Cody-Waite), 1/2, 1, 1/i! (i = 2..13), exponent field.

    The clamp [-87, 88] keeps ``2**n`` (|n| <= 127) a normal float32; beyond it sigmoid is off by less
    than sigmoid(-87) = 1.7e-38 absolute and tanh is exactly +-1.
    """
    np_dtype, _, bias, shift = _DTYPES[dtype]
    consts = [-87.0, 88.0, 1.0 / math.log(2.0), _LN2_HI, _LN2_LO, 0.5, 1.0]
    consts += [1.0 / math.factorial(i) for i in range(2, 14)]
    return np.array(consts + [float(bias), float(2**shift)], dtype=np_dtype)


def dft_tables(k: int, np_dtype: type) -> np.ndarray:
    """``(4, F, k)``: forward cos, -sin (rfft), and the transposed inverse tables (irfft weights 1/k, 2/k)."""
    f = np.arange(k // 2 + 1)[:, None]
    ang = 2.0 * np.pi * f * np.arange(k)[None, :] / k
    weight = np.where((f == 0) | (2 * f == k), 1.0, 2.0) / k
    return np.stack([np.cos(ang), -np.sin(ang), weight * np.cos(ang), -weight * np.sin(ang)]).astype(np_dtype)


def spectra(role: BlockCirculantLinear) -> tuple[np.ndarray, np.ndarray]:
    """``rfft`` of the defining vectors as real/imag ``(F, q, p)`` arrays (float64)."""
    spec = np.fft.rfft(role.weight.detach().double().cpu().numpy(), axis=-1).transpose(2, 1, 0)
    return np.ascontiguousarray(spec.real), np.ascontiguousarray(spec.imag)


def gate_major(vec: Tensor | np.ndarray, gates: int, k: int) -> np.ndarray:
    """Natural ``(G*m*k,)`` -> gate-major t-major ``(G, k, m)`` (float64)."""
    arr = vec.detach().double().cpu().numpy() if isinstance(vec, Tensor) else np.asarray(vec, np.float64)
    return arr.reshape(gates, -1, k).transpose(0, 2, 1)


def _block(role: nn.Module | None, width: int) -> int | None:
    if isinstance(role, BlockCirculantLinear) and width % role.block_size == 0:
        return role.block_size
    return None


def _supported(module: nn.Module) -> bool:
    params = list(module.parameters())
    return bool(params) and params[0].dtype in _DTYPES and params[0].device.type == "cpu"


def _numpy(t: Tensor) -> np.ndarray:
    """A C-contiguous numpy view (copy only when needed): the kernels are compiled for C layouts only."""
    try:
        arr = t.numpy()
    except RuntimeError:  # requires grad (a leaf passed in under no_grad)
        arr = t.detach().numpy()
    return arr if arr.flags.c_contiguous else np.ascontiguousarray(arr)


@dataclass(frozen=True)
class _Common:
    """Arrays every kernel call needs: DFT tables, exp constants, an empty int array naming the bit type."""

    dft: np.ndarray
    cst: np.ndarray
    ilike: np.ndarray
    no_input: np.ndarray  # (0, 0, 0): the kernel's ``gx`` when the input role is fused

    @classmethod
    def build(cls, k: int, dtype: torch.dtype) -> _Common:
        np_dtype, int_dtype, _, _ = _DTYPES[dtype]
        return cls(dft_tables(k, np_dtype), kernel_constants(dtype), np.empty(0, int_dtype),
                   np.empty((0, 0, 0), np_dtype))


@dataclass(frozen=True)
class CompiledLSTM:
    """LSTM(P) direction for ``compiled_kernels.lstm_run``: ``hh`` (and ``proj``) circulant, one k dividing
    H (and P).

    When ``ih`` is circulant with the same k its spectra are merged with ``hh``'s (one IFFT per gate
    block for both); otherwise its output (all timesteps in one batched op) is added in the time domain.
    """

    run_kernel: object
    dtype: torch.dtype
    common: _Common
    wzr: np.ndarray  # (F, q_in + q_h, 4H/k): input (when fused) then recurrent spectra
    wzi: np.ndarray
    wpr: np.ndarray  # (F, P/k, H/k): output blocks first (``_mac_dot``); P/k = 0 without projection
    wpi: np.ndarray
    bias: np.ndarray  # (4, k, H/k): b_hh (+ b_ih when fused)
    peep: np.ndarray  # (3, k, H/k), zeros without peepholes
    fused_input: bool
    hidden: int
    out: int

    @classmethod
    def build(cls, d: nn.Module) -> CompiledLSTM | None:
        kernels, k = load_kernels(), _block(d.hh, d.hidden_size)
        if kernels is None or k is None or not _supported(d):
            return None
        if d.proj is not None and _block(d.proj, d.proj_size) != k:
            return None
        np_dtype = _DTYPES[d.hh.weight.dtype][0]
        fused = _block(d.ih, 4 * d.hidden_size) == k
        wr, wi = spectra(d.hh)
        if fused:
            ir, ii = spectra(d.ih)
            wr, wi = np.concatenate([ir, wr], axis=1), np.concatenate([ii, wi], axis=1)
        no_proj = (np.zeros((k // 2 + 1, 0, d.hidden_size // k)),) * 2
        pr, pi = no_proj if d.proj is None else (s.transpose(0, 2, 1) for s in spectra(d.proj))
        bias = np.zeros(4 * d.hidden_size)
        for role in (d.hh, d.ih) if fused else (d.hh,):
            bias = bias + (0 if role.bias is None else role.bias.detach().double().cpu().numpy())
        peep = np.zeros((3, d.hidden_size)) if d.w_ci is None else torch.stack([d.w_ci, d.w_cf, d.w_co])
        arrays = [wr, wi, pr, pi, gate_major(bias, 4, k), gate_major(peep.reshape(-1), 3, k)]
        arrays = [np.ascontiguousarray(a, dtype=np_dtype) for a in arrays]
        dtype = d.hh.weight.dtype
        return cls(kernels.lstm_run, dtype, _Common.build(k, dtype), *arrays, fused,
                   d.hidden_size, d.proj_size or d.hidden_size)

    @property
    def state_widths(self) -> tuple[int, int]:
        return self.out, self.hidden

    def kernel_args(self, x: np.ndarray, gx: np.ndarray | None, states: tuple[np.ndarray, ...],
                    y: tuple[np.ndarray, int], outs: tuple[np.ndarray, ...], idx: int, lengths: np.ndarray,
                    reverse: bool) -> list:
        """``lstm_run``'s arguments: output columns ``y[1]:`` of ``y[0]``; ``states``/``outs`` = (h, c),
        each ``(L*D, B, width)`` with this direction at ``idx``; ``gx`` is ``ih(x)`` for an unfused input
        role (None when fused); ``lengths`` (B,) int64 frames per sequence."""
        cm = self.common
        return [x, cm.no_input if gx is None else gx, states[0], states[1], y[0], y[1], outs[0], outs[1], idx,
                self.wzr, self.wzi, self.wpr, self.wpi, self.bias, self.peep, cm.dft, cm.cst, cm.ilike,
                lengths, reverse]

    def step_pack(self) -> StepPack:
        """Weights, scratch and state of ``compiled_kernels.lstm_step`` (fused input role only) in one buffer:
        ``views[21]`` is the natural-order output ``h``, ``views[22]`` the cell state ``c``."""
        cm, k = self.common, self.common.dft.shape[2]
        nbins, q, pg = self.wzr.shape
        m, q_in, pp, dt = pg // 4, q - self.out // k, self.wpr.shape[1], cm.cst.dtype
        scratch = [(nbins, q), (nbins, q), (nbins, pg), (nbins, pg), (4, k, m), (k, m), (2, 2 * k * m),
                   (k, q_in), (1, k, self.out // k), (nbins, m), (nbins, m), (nbins, pp), (nbins, pp),
                   (self.out,), (self.hidden,), (k, pg)]
        arrays = [self.wzr, self.wzi, self.wpr, self.wpi, self.bias, self.peep, cm.dft, cm.cst]
        return StepPack.build(arrays + [np.zeros(shape, dt) for shape in scratch], work=14, ilike=cm.ilike,
                              outputs=(21, 22))


def unfused_input(ih: nn.Module, x: Tensor) -> np.ndarray:
    """The time-domain input part ``ih(x)`` (all timesteps, one batched op) as the kernels' ``gx``."""
    return _numpy(ih(x))


@functools.lru_cache(maxsize=64)
def full_lengths(batch: int, length: int) -> np.ndarray:
    """``(batch,)`` int64 all ``length``, shared between calls (the kernels only read it; a read-only
    array would be another numba specialization)."""
    return np.full(batch, length, np.int64)


def run_stack(layers: list[list[tuple[CompiledLSTM | CompiledGRU, nn.Module | None]]], x: Tensor,
              states: tuple[Tensor, ...], lengths: Tensor | None = None, reverse: bool = False
              ) -> tuple[Tensor, tuple[Tensor, ...]]:
    """All layers and directions of an LSTM/GRU in eval mode: ``(output (T, B, D*out), final states)``.

    ``layers[l][d] = (plan, ih)`` with ``ih`` the input role when it is not fused into the kernel;
    ``states`` are ``(L*D, B, width)`` ((h, c) or (h,)); direction 1 runs reversed (``reverse`` flips a
    single direction). Kernels write straight into the output and state arrays (no per-direction
    stack/cat or slicing): when streaming one frame per call such Python work costs as much as the kernel.
    ``lengths`` (B,): sequence ``b`` runs over frames ``0..lengths[b]-1`` only (outputs beyond are zero).
    """
    length, batch, idx = x.shape[0], x.shape[1], 0
    lens = full_lengths(batch, length) if lengths is None else lengths.numpy()
    first = layers[0][0][0]
    dtype, n_states = first.common.cst.dtype, len(layers) * len(layers[0])
    outs = tuple(np.empty((n_states, batch, width), dtype) for width in first.state_widths)
    ins = tuple(_numpy(s) for s in states)
    for directions in layers:
        yn = np.empty((length, batch, first.out * len(directions)), dtype)
        xn = _numpy(x)
        for d, (plan, ih) in enumerate(directions):
            gx = None if ih is None else unfused_input(ih, x)
            args = plan.kernel_args(xn, gx, ins, (yn, d * first.out), outs, idx, lens, reverse or d == 1)
            plan.run_kernel(*args)
            idx += 1
        x = torch.from_numpy(yn)
    return x, tuple(torch.from_numpy(o) for o in outs)


@dataclass(frozen=True)
class CompiledGRU:
    """GRU direction for ``compiled_kernels.gru_run``: ``hh`` circulant with a k dividing H.

    An input role circulant with the same k is fused (its DFT/MACs/IDFT run in the kernel, per step);
    otherwise its output for all timesteps is one batched op passed to the kernel.
    """

    run_kernel: object
    dtype: torch.dtype
    common: _Common
    wxr: np.ndarray  # (F, q_in, 3H/k); q_in = 0 when the input role is not fused
    wxi: np.ndarray
    b_ih: np.ndarray  # (3, k, H/k), zeros when not fused (then inside ``ih(x)``) or without bias
    whr: np.ndarray  # (F, H/k, 3H/k)
    whi: np.ndarray
    b_hh: np.ndarray  # (3, k, H/k)
    fused_input: bool
    hidden: int

    @classmethod
    def build(cls, d: nn.Module) -> CompiledGRU | None:
        kernels, k = load_kernels(), _block(d.hh, d.hidden_size)
        if kernels is None or k is None or not _supported(d):
            return None
        np_dtype, hidden = _DTYPES[d.hh.weight.dtype][0], d.hidden_size
        fused = _block(d.ih, 3 * hidden) == k
        wx = spectra(d.ih) if fused else (np.zeros((k // 2 + 1, 0, 3 * hidden // k)),) * 2
        biases = [role.bias if fused or role is d.hh else None for role in (d.ih, d.hh)]
        biases = [gate_major(np.zeros(3 * hidden) if b is None else b, 3, k) for b in biases]
        arrays = [*wx, biases[0], *spectra(d.hh), biases[1]]
        arrays = [np.ascontiguousarray(a, dtype=np_dtype) for a in arrays]
        dtype = d.hh.weight.dtype
        return cls(kernels.gru_run, dtype, _Common.build(k, dtype), *arrays, fused, hidden)

    @property
    def out(self) -> int:
        return self.hidden

    @property
    def state_widths(self) -> tuple[int]:
        return (self.hidden,)

    def kernel_args(self, x: np.ndarray, gx: np.ndarray | None, states: tuple[np.ndarray, ...],
                    y: tuple[np.ndarray, int], outs: tuple[np.ndarray, ...], idx: int, lengths: np.ndarray,
                    reverse: bool) -> list:
        """``gru_run``'s arguments, as ``CompiledLSTM.kernel_args`` with states ``(h,)``."""
        cm = self.common
        return [x, cm.no_input if gx is None else gx, states[0], y[0], y[1], outs[0], idx, self.wxr, self.wxi,
                self.b_ih, self.whr, self.whi, self.b_hh, cm.dft, cm.cst, cm.ilike, lengths, reverse]

    def step_pack(self) -> StepPack:
        """As ``CompiledLSTM.step_pack`` for ``compiled_kernels.gru_step``; ``views[19]``: output ``h``."""
        cm, k = self.common, self.common.dft.shape[2]
        nbins, m, pg = self.whr.shape
        q_in, dt = self.wxr.shape[1], cm.cst.dtype
        scratch = [(nbins, m), (nbins, m), (nbins, pg), (nbins, pg), (nbins, q_in), (nbins, q_in), (k, q_in),
                   (3, k, m), (3, k, m), (k, m), (2, 2 * k * m), (self.hidden,), (k, pg)]
        arrays = [self.wxr, self.wxi, self.b_ih, self.whr, self.whi, self.b_hh, cm.dft, cm.cst]
        return StepPack.build(arrays + [np.zeros(shape, dt) for shape in scratch], work=18, ilike=cm.ilike,
                              outputs=(19,))


@dataclass(frozen=True)
class StepPack:
    """Arrays packed into one 64-byte-aligned buffer for the streaming step kernels (one layer).

    ``meta[i] = (offset, d0, d1, d2)`` (shape padded with 1s) locates ``views[i]`` in ``buf``; ``bits`` is
    the exponent scratch (row 1 of the ``work`` array viewed as ints); ``outputs`` index the natural-order
    state views (``h`` first).
    """

    buf: np.ndarray
    meta: np.ndarray
    views: tuple[np.ndarray, ...]
    bits: np.ndarray
    outputs: tuple[int, ...]

    @classmethod
    def build(cls, arrays: list[np.ndarray], work: int, ilike: np.ndarray, outputs: tuple[int, ...]
              ) -> StepPack:
        dtype = arrays[-1].dtype
        align = 64 // dtype.itemsize
        sizes = [-(-a.size // align) * align for a in arrays]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        raw = np.zeros(sum(sizes) + align, dtype)
        start = (-raw.ctypes.data % 64) // dtype.itemsize
        buf = raw[start:start + sum(sizes)]
        views = []
        for a, o in zip(arrays, offsets, strict=True):
            view = buf[o:o + a.size].reshape(a.shape)
            view[...] = a
            views.append(view)
        meta = np.array([(o, *a.shape, *(1,) * (3 - a.ndim)) for a, o in zip(arrays, offsets, strict=True)],
                        np.int64)
        return cls(buf, meta, tuple(views), views[work][1].view(ilike.dtype), outputs)
