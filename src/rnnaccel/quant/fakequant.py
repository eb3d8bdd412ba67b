"""Fake quantization in torch (float64) with a straight-through estimator, and overflow counting.

Values stay float64 but lie on the grid of a :class:`QFormat`; every grid value of a format up to
32 bits, and every exact sum of products of them below 2**53 lsb, is a float64 without rounding,
so this mirrors :func:`rnnaccel.quant.qformat.requantize` bit for bit. Gradients use the
straight-through estimator (Bengio et al. 2013; Jacob et al. 2018 for QAT): identity inside
[min, max], zero where a SAT format clamps.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch

from rnnaccel.quant.qformat import Overflow, QFormat, Rounding

__all__ = ["OverflowStats", "fake_quant", "round_scaled_torch"]


class OverflowStats(Mapping[str, int]):
    """Counts of saturated/wrapped values per quantization point name.

    Passed explicitly to a forward pass (no hidden global state); read it like a dict.
    """

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self.amax: dict[str, float] = {}  # largest |value| seen before rounding, per point (calibration)

    def add(self, point: str, count: int) -> None:
        self._counts[point] = self._counts.get(point, 0) + int(count)

    def add_range(self, point: str, amax: float) -> None:
        self.amax[point] = max(self.amax.get(point, 0.0), float(amax))

    def __getitem__(self, point: str) -> int:
        return self._counts[point]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)

    def __repr__(self) -> str:
        return f"OverflowStats({self._counts!r})"


def round_scaled_torch(v: torch.Tensor, mode: Rounding) -> torch.Tensor:
    """Torch twin of :func:`rnnaccel.quant.qformat.round_scaled` (exact in float64)."""
    q = torch.floor(v)
    if mode is Rounding.TRN:
        return q
    r = v - q
    if mode is Rounding.RND:
        return q + (r >= 0.5).to(v.dtype)
    odd = torch.remainder(q, 2) == 1
    return q + ((r > 0.5) | ((r == 0.5) & odd)).to(v.dtype)


def _quantize_codes(x: torch.Tensor, fmt: QFormat) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (float64 integers) of ``x`` after rounding and overflow, and the overflow mask."""
    codes = round_scaled_torch(x * 2.0**fmt.frac, fmt.rounding)
    lo, hi = float(fmt.code_min), float(fmt.code_max)
    bad = (codes < lo) | (codes > hi)
    if fmt.overflow is Overflow.SAT:
        return codes.clamp(lo, hi), bad
    return torch.remainder(codes - lo, float(2**fmt.bits)) + lo, bad


class _FakeQuantSTE(torch.autograd.Function):
    """Forward: exact grid value (one pass). Backward: straight through, zero where SAT clamped."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, fmt: QFormat) -> torch.Tensor:  # type: ignore[override]
        codes, bad = _quantize_codes(x, fmt)
        ctx.clamped = fmt.overflow is Overflow.SAT
        ctx.save_for_backward(bad)
        ctx.mark_non_differentiable(bad)
        return codes * fmt.lsb, bad

    @staticmethod
    def backward(ctx, grad: torch.Tensor, _grad_bad: torch.Tensor):  # type: ignore[override]
        (bad,) = ctx.saved_tensors
        return (grad.masked_fill(bad, 0.0) if ctx.clamped else grad), None


def fake_quant(
    x: torch.Tensor, fmt: QFormat | None, stats: OverflowStats | None = None, point: str = ""
) -> torch.Tensor:
    """Round float64 ``x`` onto ``fmt``'s grid (its rounding and overflow modes); ``None`` = identity.

    Adds the number of overflowed elements to ``stats[point]`` when ``stats`` is given.
    """
    if fmt is None:
        return x
    if x.dtype != torch.float64:
        raise TypeError(f"fake_quant needs float64 tensors for exactness, got {x.dtype}")
    if x.requires_grad:
        values, bad = _FakeQuantSTE.apply(x, fmt)
    else:
        codes, bad = _quantize_codes(x, fmt)
        values = codes * fmt.lsb
    if stats is not None:
        stats.add(point, int(bad.sum()))
        stats.add_range(point, float(x.detach().abs().max()) if x.numel() else 0.0)
    return values
