"""Multiply counts per frame (E-RNN/C-LSTM arithmetic, papers.md "Block-circulant mat-vec").

Dense ``(m, n)`` mat-vec: ``m*n`` multiplies. Block-circulant with block size ``k``: ``p*q`` blocks of
``k//2 + 1`` complex multiply-accumulates (4 real multiplies each) = ``mn(2/k + 4/k^2)`` when k divides
m and n; the small per-block FFTs are not counted (as in the papers' 1.33x / 3.2x / 7.1x figures).
"""

from __future__ import annotations

import math

from rnnaccel.nn.blocksize import BlockSizeSpec, resolve_block_sizes
from rnnaccel.nn.circulant import check_block_size

__all__ = ["circulant_mults", "dense_mults", "mults_per_frame"]


def dense_mults(out_features: int, in_features: int) -> int:
    """Real multiplies of a dense ``(out, in)`` mat-vec."""
    return out_features * in_features


def circulant_mults(out_features: int, in_features: int, block_size: int) -> int:
    """Real multiplies of the frequency-domain MACs of a block-circulant ``(out, in)`` mat-vec."""
    k = check_block_size(block_size)
    return math.ceil(out_features / k) * math.ceil(in_features / k) * (k // 2 + 1) * 4


def _role_mults(out_features: int, in_features: int, block_size: int | None) -> int:
    if block_size is None:
        return dense_mults(out_features, in_features)
    return circulant_mults(out_features, in_features, block_size)


def mults_per_frame(cell: str, input_size: int, hidden_size: int, proj_size: int = 0,
                    block_size: BlockSizeSpec = None) -> int:
    """Matrix multiplies per frame of one layer and direction of an LSTM(P) or GRU.

    Roles: input ``(G*H, in)``, recurrent ``(G*H, P or H)``, projection ``(P, H)`` (LSTM only), with
    ``G = 4`` (LSTM) or 3 (GRU). Elementwise work (peepholes, gates) is not counted.
    """
    from rnnaccel.shape import Cell  # the one gates-per-cell definition

    try:
        gates = Cell.parse(cell).gates
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    if proj_size and cell != "lstm":
        raise ValueError(f"proj_size is only defined for the LSTM, got proj_size={proj_size} for {cell!r}")
    sizes = resolve_block_sizes(block_size, 1)[0]
    out = proj_size or hidden_size
    total = _role_mults(gates * hidden_size, input_size, sizes["input"])
    total += _role_mults(gates * hidden_size, out, sizes["recurrent"])
    return total + (_role_mults(proj_size, hidden_size, sizes["projection"]) if proj_size else 0)
