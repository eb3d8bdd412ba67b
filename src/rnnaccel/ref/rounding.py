"""The datapath's rounding step, :func:`rnnaccel.quant.qformat.requantize`, with fewer passes over
the data when nothing overflows (the common case), for the integer engine's hot loops.

Every rounding mode is monotone non-decreasing, so the rounded codes of an array all lie between
the rounded codes of its min and max: when those two fit the format, no code overflows and the
overflow pass can be skipped. Otherwise (and for the 2**53 check) ``requantize`` itself decides.
"""

from __future__ import annotations

import numpy as np

from rnnaccel.quant.qformat import QFormat, _shift_round, requantize

__all__ = ["requantize_fast"]


def requantize_fast(v: np.ndarray, src_frac: int, fmt: QFormat) -> tuple[np.ndarray, int]:
    """Same codes and overflow count as ``requantize(v, src_frac, fmt)`` for int64 ``v``."""
    if v.size == 0:
        return requantize(v, src_frac, fmt)
    _, n_ends = requantize(np.array([v.min(), v.max()]), src_frac, fmt)  # raises as requantize would
    if n_ends:
        return requantize(v, src_frac, fmt)
    shift = src_frac - fmt.frac
    if shift > 0:
        return _shift_round(v, shift, fmt.rounding), 0
    return (v << -shift if shift < 0 else v), 0
