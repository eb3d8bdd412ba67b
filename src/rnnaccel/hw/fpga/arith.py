"""Primitive counts of the FFT-based PE, written as explicit enumerations (the scalar reference).

The vectorized model (:mod:`rnnaccel.hw.fpga.vector`) uses closed forms of the same quantities; the
tests check the two against each other and against hand calculations.
"""

from __future__ import annotations

import math

from rnnaccel.hw.spec import BramSpec
from rnnaccel.shape import requirements

__all__ = [
    "VALID_BLOCKS",
    "block_product_adders",
    "block_product_mults",
    "bram18_for",
    "fft_adders",
    "fft_butterflies",
    "fft_nontrivial_twiddles",
    "fft_ops",
    "freq_bins",
    "log2_block",
    "stored_values",
]

_FPGA = requirements("fpga")
VALID_BLOCKS: tuple[int, ...] = tuple(2**i for i in range(_FPGA.max_block.bit_length()))
"""Block sizes the FPGA model builds (``rnnaccel.shape.REQUIREMENTS["fpga"]``; 1 = dense)."""


def log2_block(k: int, key: str = "block size") -> int:
    """log2 of a block size the FPGA model builds; ValueError naming ``key`` for anything else."""
    return _FPGA.check_block(k, key).bit_length() - 1


def freq_bins(k: int) -> tuple[int, int]:
    """(real bins, complex bins) of a real length-k rfft: DC and Nyquist are real, k/2-1 are complex.

    k = 1 is the dense (no FFT) case: one real "bin", the weight itself.
    """
    log2_block(k)
    if k == 1:
        return 1, 0
    return 2, k // 2 - 1


def block_product_mults(k: int, complex_mult: int) -> int:
    """Real multiplies for one frequency-domain block product FFT(w) o FFT(x): 1 per real bin,
    ``complex_mult`` (4 schoolbook, 3 Gauss) per complex bin."""
    real, cplx = freq_bins(k)
    return real + complex_mult * cplx


def block_product_adders(k: int, complex_mult: int) -> int:
    """Real adders for one block product and its frequency-domain accumulation.

    Complex multiply: 2 adders (4-mult: ac-bd, ad+bc) or 5 (3-mult Gauss: a+b, d-c, c+d and the two
    combines); accumulation: 1 per real bin, 2 per complex bin.
    """
    real, cplx = freq_bins(k)
    combine = 2 if complex_mult == 4 else 5
    return real + cplx * (combine + 2)


def stored_values(k: int) -> int:
    """Stored weight values per block: k reals, as the RTL's weight word holds them
    (:func:`rnnaccel.rtl.mac.weight_words`): DC and Nyquist as their real parts (their imaginary
    parts are zero for a real block and are not stored) and bins 1..k/2-1 as (re, im); 1 for dense.
    (A kernel that kept all k/2+1 bins complex would store k+2.)"""
    log2_block(k)
    return k


def _fft_stages(k: int):
    """Yield (stage size N, twiddle exponent m) for every butterfly of a radix-2 DIT FFT-k."""
    for stage in range(1, log2_block(k) + 1):
        size = 1 << stage
        for _group in range(k // size):
            for m in range(size // 2):
                yield size, m


def fft_butterflies(k: int) -> int:
    """Radix-2 butterflies in a length-k FFT: (k/2) log2 k, counted one by one."""
    return sum(1 for _ in _fft_stages(k))


def fft_nontrivial_twiddles(k: int) -> int:
    """Butterflies whose twiddle W_N^m is not one of 1, -j (m*4 % N != 0): the ones needing a multiply."""
    return sum(1 for size, m in _fft_stages(k) if (4 * m) % size != 0)


def fft_adders(k: int, complex_mult: int) -> int:
    """Real adders of one unrolled FFT-k: 4 per butterfly (complex add + sub) plus the twiddle combines."""
    combine = 2 if complex_mult == 4 else 5
    return 4 * fft_butterflies(k) + combine * fft_nontrivial_twiddles(k)


def fft_ops(k: int) -> int:
    """Real operations of one FFT-k: 4 adds per butterfly, 6 (4 mul + 2 add) per nontrivial twiddle."""
    return 4 * fft_butterflies(k) + 6 * fft_nontrivial_twiddles(k)


def bram18_for(width_bits: int, depth: int, bram: BramSpec) -> int:
    """RAMB18s for a width x depth memory: the best aspect ratio, tiled in width and depth (UG473/UG573)."""
    if width_bits < 1 or depth < 1:
        raise ValueError(f"memory must have width and depth >= 1, got {width_bits}x{depth}")
    best = None
    for cfg_depth, cfg_width in bram.configs:
        count = math.ceil(width_bits / cfg_width) * math.ceil(depth / cfg_depth)
        best = count if best is None else min(best, count)
    return best
