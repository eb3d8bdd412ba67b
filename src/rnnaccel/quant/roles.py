"""Fake-quantized role layers (ih, hh, proj): dense mat-vec or the fixed-point block-circulant pipeline.

A role returns the *exact* value of ``W x + b`` for quantized operands (no rounding at its output):
the consumer adds roles and rounds once at the gate accumulator, as a wide hardware accumulator does.
Circulant roles follow C-LSTM's decoupled dataflow (papers.md): q input FFTs (stage rounding to
"fft"), complex MACs with the stored k/2+1 frequency bins (rounded to "freq_acc" after the sum over
input blocks), one IFFT per output block (stage rounding to "ifft", then an exact /k).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnnaccel.nn.circulant import BlockCirculantLinear
from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats, fake_quant
from rnnaccel.quant.fft import FFTPlan, check_fft_size, irfft_q, rfft_q

__all__ = ["QuantContext", "prepare_role", "role_points", "quantized_freq_weight", "quantized_dense_weight"]

Role = Callable[[Tensor], Tensor]
_CIRC_POINTS = (QPoint.WEIGHT, QPoint.BIAS, QPoint.TWIDDLE, QPoint.FFT, QPoint.FREQ_ACC, QPoint.IFFT)
_DENSE_POINTS = (QPoint.WEIGHT, QPoint.BIAS)


@dataclass(frozen=True)
class QuantContext:
    """The config and the (optional) overflow counter of one forward pass."""

    config: QuantConfig
    stats: OverflowStats | None = None

    def q(self, x: Tensor, point: QPoint) -> Tensor:
        """Fake-quantize ``x`` at ``point`` (identity when the point is off)."""
        return fake_quant(x, self.config[point], self.stats, point.value)


def role_points(module: nn.Module) -> tuple[QPoint, ...]:
    """The quantization points a role module passes through."""
    if isinstance(module, BlockCirculantLinear):
        return _CIRC_POINTS
    if isinstance(module, nn.Linear):
        return _DENSE_POINTS
    raise TypeError(f"expected torch.nn.Linear or BlockCirculantLinear, got {type(module).__name__}")


def _nyquist_mask(k: int) -> Tensor:
    """1 on bins whose imaginary part is free, 0 on DC (and Nyquist for even k): real by symmetry."""
    mask = torch.ones(k // 2 + 1, dtype=torch.float64)
    mask[0] = 0.0
    if k % 2 == 0:
        mask[-1] = 0.0
    return mask


def quantized_freq_weight(module: BlockCirculantLinear, ctx: QuantContext) -> tuple[Tensor, Tensor]:
    """Stored frequency-domain weights (re, im) of shape (p, q, k/2+1), on the "weight" grid."""
    wf = torch.fft.rfft(module.weight.double(), dim=-1)
    re, im = wf.real, wf.imag * _nyquist_mask(module.block_size)
    return ctx.q(re, QPoint.WEIGHT), ctx.q(im, QPoint.WEIGHT)


def quantized_dense_weight(module: nn.Module, ctx: QuantContext) -> Tensor:
    """Dense ``(out, in)`` weight (pruned ones keep their zeros) on the "weight" grid."""
    return ctx.q(module.weight.double(), QPoint.WEIGHT)


def _bias(module: nn.Module, ctx: QuantContext) -> Tensor | None:
    return None if module.bias is None else ctx.q(module.bias.double(), QPoint.BIAS)


def _circulant_role(module: BlockCirculantLinear, ctx: QuantContext) -> Role:
    k, p, q = module.block_size, module.p, module.q
    check_fft_size(k)
    plan = FFTPlan(k, ctx.config.twiddle)
    wr, wi = quantized_freq_weight(module, ctx)
    bias = _bias(module, ctx)
    cfg = ctx.config

    def apply(x: Tensor) -> Tensor:
        lead = x.shape[:-1]
        xp = nn.functional.pad(x, (0, q * k - x.shape[-1])).reshape(*lead, q, k)
        xr, xi = rfft_q(xp, plan, cfg.fft, ctx.stats, QPoint.FFT.value)
        ar = torch.einsum("...jf,ijf->...if", xr, wr) - torch.einsum("...jf,ijf->...if", xi, wi)
        ai = torch.einsum("...jf,ijf->...if", xi, wr) + torch.einsum("...jf,ijf->...if", xr, wi)
        ar, ai = ctx.q(ar, QPoint.FREQ_ACC), ctx.q(ai, QPoint.FREQ_ACC)
        y = irfft_q(ar, ai, plan, cfg.ifft, ctx.stats, QPoint.IFFT.value)
        y = y.reshape(*lead, p * k)[..., : module.out_features]
        return y if bias is None else y + bias

    return apply


def _dense_role(module: nn.Linear, ctx: QuantContext) -> Role:
    w, b = quantized_dense_weight(module, ctx), _bias(module, ctx)
    return lambda x: nn.functional.linear(x, w, b)


def prepare_role(module: nn.Module, ctx: QuantContext) -> Role:
    """A function x (float64) -> exact ``W x + b`` with quantized operands, weights quantized once.

    A role whose points are all off runs the float module itself (its own dtype) and casts to float64.
    """
    if all(ctx.config[p] is None for p in role_points(module)):
        dtype = next(module.parameters()).dtype
        return lambda x: module(x.to(dtype)).double()
    if isinstance(module, BlockCirculantLinear):
        return _circulant_role(module, ctx)
    return _dense_role(module, ctx)
