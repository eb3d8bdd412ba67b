"""Block-circulant linear layer (E-RNN §III, C-LSTM): weights stored as defining vectors, applied by FFT.

Convention (first column): block ``(i, j)`` of the padded ``(p*k, q*k)`` matrix is ``circ(w[i, j])`` with
``C[r, c] = w[i, j, (r - c) mod k]``, so ``C @ x = irfft(rfft(w) * rfft(x))``. Sizes that are not
multiples of ``k`` are zero-padded inside and the result cropped: the layer represents the *cropped*
block-circulant ``(out, in)`` matrix.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from rnnaccel.nn.fast.dft import CirculantPlan


__all__ = [
    "BlockCirculantLinear",
    "block_circulant_vectors",
    "check_block_size",
    "dense_weight",
    "expand_block_circulant",
]


def check_block_size(block_size: object, what: str = "block_size") -> int:
    """Validate a block size: a positive int (bool is rejected)."""
    if isinstance(block_size, bool) or not isinstance(block_size, int):
        raise TypeError(f"{what} must be an int >= 1, got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"{what} must be >= 1, got {block_size}")
    return block_size


def _diag_index(k: int, device: torch.device | None = None) -> Tensor:
    """``D[r, c] = (r - c) mod k``: which entry of the defining vector sits at (r, c) of a block."""
    r = torch.arange(k, device=device)
    return (r[:, None] - r[None, :]) % k


def _to_blocks(matrix: Tensor, k: int) -> Tensor:
    """Zero-pad an ``(m, n)`` matrix to multiples of k and split it into ``(p, q, k, k)`` blocks."""
    m, n = matrix.shape
    p, q = math.ceil(m / k), math.ceil(n / k)
    padded = matrix.new_zeros(p * k, q * k)
    padded[:m, :n] = matrix
    return padded.view(p, k, q, k).permute(0, 2, 1, 3)


def block_circulant_vectors(weight: Tensor, block_size: int) -> Tensor:
    """Defining vectors ``(p, q, k)`` of the Euclidean projection of ``weight`` onto the block-circulant set.

    Each wrapped diagonal ``d = (r - c) mod k`` of each block is replaced by the mean of its entries that
    lie inside the ``(m, n)`` matrix (papers.md, "Euclidean projection"): the circulant basis matrices
    have disjoint supports, so the projection is this per-diagonal mean. Diagonals with no entry inside
    the matrix (only possible in edge blocks) do not affect the cropped matrix and are set to 0.
    """
    k = check_block_size(block_size)
    if weight.dim() != 2:
        raise ValueError(f"weight must be a 2-D (out, in) matrix, got shape {tuple(weight.shape)}")
    onehot = nn.functional.one_hot(_diag_index(k, weight.device).reshape(-1), k).to(weight.dtype)
    blocks, inside = _to_blocks(weight, k), _to_blocks(torch.ones_like(weight), k)
    sums = blocks.reshape(*blocks.shape[:2], k * k) @ onehot
    counts = inside.reshape(*inside.shape[:2], k * k) @ onehot
    return sums / counts.clamp(min=1)


def expand_block_circulant(vectors: Tensor, out_features: int, in_features: int) -> Tensor:
    """The cropped ``(out, in)`` dense matrix whose blocks are ``circ(vectors[i, j])`` (first column)."""
    p, q, k = vectors.shape
    blocks = vectors[:, :, _diag_index(k, vectors.device)]  # (p, q, k, k): blocks[i, j, r, c]
    return blocks.permute(0, 2, 1, 3).reshape(p * k, q * k)[:out_features, :in_features]


def _rfft_apply(x: Tensor, freq_weight: Tensor, k: int, out_features: int) -> Tensor:
    """Reference FFT path: q input rffts, frequency-domain accumulation, one irfft per output block."""
    q = freq_weight.shape[1]
    xp = nn.functional.pad(x, (0, q * k - x.shape[-1]))
    xf = torch.fft.rfft(xp.reshape(*x.shape[:-1], q, k), dim=-1)
    yf = torch.einsum("...jf,ijf->...if", xf, freq_weight)
    y = torch.fft.irfft(yf, n=k, dim=-1)
    return y.reshape(*x.shape[:-1], -1)[..., :out_features]


class BlockCirculantLinear(nn.Module):
    """``y = C x + b`` with C a (cropped) block-circulant matrix stored as defining vectors.

    Parameters: ``weight`` of shape ``(p, q, k)``, ``p = ceil(out/k)``, ``q = ceil(in/k)``; optional
    ``bias`` of shape ``(out,)``. Training forward uses rfft/irfft (autograd); in eval mode without
    grad the frequency-domain weights are cached in real block form and applied with real matmuls.
    """

    def __init__(self, in_features: int, out_features: int, block_size: int, bias: bool = True,
                 dtype: torch.dtype | None = None, device: torch.device | str | None = None) -> None:
        super().__init__()
        self.block_size = check_block_size(block_size)
        self.in_features = _check_features(in_features, "in_features")
        self.out_features = _check_features(out_features, "out_features")
        self.p = math.ceil(out_features / block_size)
        self.q = math.ceil(in_features / block_size)
        kw = {"dtype": dtype, "device": device}
        self.weight = nn.Parameter(torch.empty(self.p, self.q, block_size, **kw))
        self.bias = nn.Parameter(torch.empty(out_features, **kw)) if bias else None
        self._fast_cache: tuple | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(in), 1/sqrt(in)) on every entry, like torch.nn.Linear's fan-in bound."""
        bound = 1.0 / math.sqrt(self.in_features)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"block_size={self.block_size}, bias={self.bias is not None}")

    def freq_weight(self) -> Tensor:
        """Frequency-domain weights ``rfft(weight)``: complex ``(p, q, k//2 + 1)``, what hardware stores."""
        return torch.fft.rfft(self.weight, dim=-1)

    def to_dense(self) -> Tensor:
        """The equivalent ``(out, in)`` dense matrix."""
        return expand_block_circulant(self.weight, self.out_features, self.in_features)

    @classmethod
    def from_dense(cls, weight: Tensor, block_size: int, bias: Tensor | None = None) -> BlockCirculantLinear:
        """Euclidean projection of a dense ``(out, in)`` matrix onto the block-circulant set."""
        vectors = block_circulant_vectors(weight.detach(), block_size)
        out_f, in_f = weight.shape
        layer = cls(in_f, out_f, block_size, bias=bias is not None, dtype=weight.dtype, device=weight.device)
        with torch.no_grad():
            layer.weight.copy_(vectors)
            if bias is not None:
                layer.bias.copy_(_check_bias(bias, out_f))
        return layer

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"input has width {x.shape[-1]}, expected in_features={self.in_features}")
        if self.training or torch.is_grad_enabled():
            y = _rfft_apply(x, self.freq_weight(), self.block_size, self.out_features)
            return y if self.bias is None else y + self.bias
        return self.fast_plan().apply(x)

    def fast_plan(self) -> CirculantPlan:
        """Real-arithmetic frequency-domain plan (``fast.dft``), cached until the parameters change."""
        from rnnaccel.nn.fast.cache import cached

        return cached(self, "_fast_cache", _build_plan)

    def _apply(self, fn: object, *args: object, **kwargs: object) -> BlockCirculantLinear:
        self._fast_cache = None  # .to()/.double(): the cached plan is stale
        return super()._apply(fn, *args, **kwargs)


def _build_plan(layer: BlockCirculantLinear) -> CirculantPlan:
    from rnnaccel.nn.fast.dft import CirculantPlan

    return CirculantPlan.build(layer.weight.detach(), layer.bias, layer.out_features, layer.in_features)


def _check_features(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive int, got {value!r}")
    return value


def _check_bias(bias: Tensor, out_features: int) -> Tensor:
    if tuple(bias.shape) != (out_features,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}, expected ({out_features},)")
    return bias.detach()


def dense_weight(module: nn.Module) -> Tensor:
    """The ``(out, in)`` dense matrix of a role module (``torch.nn.Linear`` or ``BlockCirculantLinear``)."""
    if isinstance(module, BlockCirculantLinear):
        return module.to_dense()
    if isinstance(module, nn.Linear):
        return module.weight
    raise TypeError(f"expected torch.nn.Linear or BlockCirculantLinear, got {type(module).__name__}")
