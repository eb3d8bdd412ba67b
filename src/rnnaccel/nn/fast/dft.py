"""Real DFT matrices and the inference form of a block-circulant matrix (``CirculantPlan``), in torch ops.

Used by ``BlockCirculantLinear`` in eval mode and by the torch runners (``torch_runner``).

For small ``k`` the rfft of a block is a real ``(2F, k)`` matrix (``F = k//2 + 1`` bins, rows ordered
(bin, re/im)) and irfft a real ``(k, 2F)`` matrix, so "q FFTs -> complex MACs -> p IFFTs" (C-LSTM's
decoupling) becomes three real matmuls: one DFT matmul for all input blocks, one ``bmm`` over the F bins
with the precomputed weights in real 2x2-block form ``[[Re, -Im], [Im, Re]]`` (4 real multiplies per
complex MAC: ``mn(2/k + 4/k^2)`` multiplies in all), one inverse-DFT matmul for all output blocks.

Layouts. *Frequency* layout ``(F, 2q, N)``: ``X[f, ri*q + j, n]``. *t-major* layout ``(k, q, N)``:
feature ``j*k + t`` of sample ``n`` at ``[t, j, n]``. The DFT of a t-major tensor is one matmul with no
copy, and the inverse DFT of a frequency-layout tensor lands in t-major: the recurrent loop stays in
these layouts and never transposes per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["CirculantPlan", "dft_matrices", "from_tmajor", "real_block_weight", "to_tmajor"]


def dft_matrices(k: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(Fm, Gm)``: ``Fm @ x`` = rfft of a length-k column as (bin, re/im) rows; ``Gm @ X`` = irfft."""
    eye = torch.eye(k, dtype=torch.float64)
    spec = torch.fft.rfft(eye, dim=-1)  # row t = rfft(e_t)
    fm = torch.stack([spec.real, spec.imag], dim=-1).reshape(k, -1).T
    nb = k // 2 + 1
    basis = torch.eye(2 * nb, dtype=torch.float64).view(2 * nb, nb, 2)
    gm = torch.fft.irfft(torch.view_as_complex(basis.contiguous()), n=k, dim=-1).T
    return fm.to(dtype=dtype, device=device).contiguous(), gm.to(dtype=dtype, device=device).contiguous()


def real_block_weight(vectors: Tensor) -> Tensor:
    """``(F, 2p, 2q)`` real form ``[[Re W, -Im W], [Im W, Re W]]`` of ``rfft(vectors)`` per bin."""
    wf = torch.fft.rfft(vectors, dim=-1)
    wr, wi = wf.real.permute(2, 0, 1), wf.imag.permute(2, 0, 1)
    top, bottom = torch.cat([wr, -wi], dim=2), torch.cat([wi, wr], dim=2)
    return torch.cat([top, bottom], dim=1).contiguous()


def to_tmajor(x: Tensor, k: int) -> Tensor:
    """``(..., N, q*k)`` natural -> ``(..., k, q, N)`` t-major (one copy)."""
    *lead, n, width = x.shape
    return x.reshape(*lead, n, width // k, k).transpose(-3, -1).contiguous()


def from_tmajor(x: Tensor) -> Tensor:
    """``(..., k, q, N)`` t-major -> ``(..., N, q*k)`` natural (one copy)."""
    *lead, k, q, n = x.shape
    return x.transpose(-3, -1).reshape(*lead, n, q * k)


@dataclass(frozen=True)
class CirculantPlan:
    """Precomputed inference form of a block-circulant matrix (see module docstring)."""

    k: int
    p: int
    q: int
    out_features: int
    in_features: int
    fm: Tensor  # (2F, k) DFT
    gm: Tensor  # (k, 2F) inverse DFT
    weight: Tensor  # (F, 2p, 2q)
    weight_t: Tensor  # (F, 2q, 2p): row-vector orientation, ~10x faster bmm for a single sample on CPU
    bias: Tensor | None

    @classmethod
    def build(cls, vectors: Tensor, bias: Tensor | None, out_features: int, in_features: int
              ) -> CirculantPlan:
        p, q, k = vectors.shape
        fm, gm = dft_matrices(k, vectors.dtype, vectors.device)
        b = None if bias is None else bias.detach().clone()
        w = real_block_weight(vectors.detach())
        return cls(k, p, q, out_features, in_features, fm, gm, w, w.transpose(1, 2).contiguous(), b)

    @property
    def bins(self) -> int:
        return self.k // 2 + 1

    def freq(self, xt: Tensor) -> Tensor:
        """t-major ``(k, q, N)`` -> frequency layout ``(F, 2q, N)`` (one matmul, no copy)."""
        n = xt.shape[-1]
        return (self.fm @ xt.reshape(self.k, -1)).view(self.bins, 2 * self.q, n)

    def mac(self, xf: Tensor) -> Tensor:
        """Frequency-domain accumulation: ``(F, 2q, N)`` -> ``(F, 2p, N)``."""
        if xf.shape[-1] == 1:  # (F, 2q, 1) and (F, 1, 2q) are the same memory
            return torch.bmm(xf.view(self.bins, 1, -1), self.weight_t).view(self.bins, -1, 1)
        return torch.bmm(self.weight, xf)

    def inverse(self, yf: Tensor, add: Tensor | None = None) -> Tensor:
        """Frequency layout ``(F, 2p, N)`` -> t-major ``(k, p, N)``, optionally ``+ add`` (fused addmm)."""
        n = yf.shape[-1]
        flat = yf.reshape(2 * self.bins, self.p * n)
        out = self.gm @ flat if add is None else torch.addmm(add.reshape(self.k, -1), self.gm, flat)
        return out.view(self.k, self.p, n)

    def pad_tmajor(self, x: Tensor) -> Tensor:
        """Natural ``(N, in)`` -> zero-padded t-major ``(k, q, N)`` (copied straight into place)."""
        n, full = x.shape[0], self.in_features // self.k
        if full == self.q:
            return to_tmajor(x, self.k)
        buf = x.new_zeros(self.k, self.q, n)
        buf[:, :full].permute(2, 1, 0).copy_(x[:, : full * self.k].view(n, full, self.k))
        buf[: self.in_features - full * self.k, full].copy_(x[:, full * self.k:].T)
        return buf

    def apply(self, x: Tensor) -> Tensor:
        """``x @ dense.T + bias`` for natural ``(..., in)`` input."""
        lead = x.shape[:-1]
        x2 = x.reshape(math.prod(lead), x.shape[-1])
        y = from_tmajor(self.inverse(self.mac(self.freq(self.pad_tmajor(x2)))))
        y = y[:, : self.out_features]
        y = y if self.bias is None else y + self.bias
        return y.reshape(*lead, self.out_features)
