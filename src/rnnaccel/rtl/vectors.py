"""Test vectors for the RTL components and their payload codecs: random codes, codes that drive
every quantization point into saturation, and conversions between code arrays and raw stream
payloads (shared by the tests, the cocotb testbench data and the benchmark).
"""

from __future__ import annotations

import numpy as np

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import QFormat
from rnnaccel.ref.export import IntCirculant
from rnnaccel.rtl.sim import pack, unpack

__all__ = [
    "decode_bins",
    "decode_blocks",
    "encode_bins",
    "encode_blocks",
    "pe_inputs",
    "pe_outputs",
    "random_codes",
    "random_role",
]


def random_codes(
    fmt: QFormat, shape: tuple[int, ...], rng: np.random.Generator, saturating: bool = False
) -> np.ndarray:
    """Uniform codes over the format's range; ``saturating``: only its two extreme codes (sums of
    same-sign extremes overflow every later point), half of them all-maximum rows."""
    if not saturating:
        return rng.integers(fmt.code_min, fmt.code_max + 1, shape)
    ends = rng.choice(np.array([fmt.code_min, fmt.code_max]), shape)
    flat = ends.reshape(-1, shape[-1]) if ends.ndim > 1 else ends.reshape(1, -1)
    flat[::2] = fmt.code_max
    return flat.reshape(shape)


def random_role(k: int, p: int, q: int, config: QuantConfig, rng: np.random.Generator,
                saturating: bool = False) -> IntCirculant:
    """A circulant role of random ``weight`` codes (DC and Nyquist real, as every export has)."""
    shape = (p, q, k // 2 + 1)
    wr, wi = (random_codes(config.weight, shape, rng, saturating) for _ in range(2))
    wi[..., [0, k // 2]] = 0
    return IntCirculant(wr, wi, None, k, q * k, p * k, FFTPlan(k, config.twiddle))


def encode_blocks(layout, x: np.ndarray) -> list[int]:
    """Rows of real codes -> raw payloads of an ArrayLayout of codes."""
    return [pack(layout, [int(v) for v in row]) for row in np.asarray(x)]


def decode_blocks(layout, raws) -> np.ndarray:
    return np.array([unpack(layout, r) for r in raws], np.int64)


def encode_bins(layout, re: np.ndarray, im: np.ndarray) -> list[int]:
    """Rows of complex bins -> raw payloads of an ArrayLayout of {re, im} structs."""
    return [pack(layout, [{"re": int(a), "im": int(b)} for a, b in zip(r, i, strict=True)])
            for r, i in zip(np.asarray(re), np.asarray(im), strict=True)]


def decode_bins(layout, raws) -> tuple[np.ndarray, np.ndarray]:
    rows = [unpack(layout, r) for r in raws]
    return (np.array([[b["re"] for b in row] for row in rows], np.int64),
            np.array([[b["im"] for b in row] for row in rows], np.int64))


def pe_inputs(pe, x: np.ndarray) -> list[int]:
    """Input vectors (n, q*k) -> the PE's input stream: each vector's q blocks, once per pass."""
    k, q = pe.k, pe.role.q
    blocks = [row[j * k : (j + 1) * k] for row in np.asarray(x) for _ in range(pe.passes) for j in range(q)]
    return encode_blocks(pe.i.payload.shape(), np.array(blocks))


def pe_outputs(pe, raws) -> np.ndarray:
    """The PE's output transfers (``passes`` per vector, ``lanes`` blocks each) -> (n, p*k) codes."""
    rows = np.array([np.concatenate(unpack(pe.o.payload.shape(), r)) for r in raws], np.int64)
    n = len(raws) // pe.passes
    return rows.reshape(n, pe.passes * pe.lanes * pe.k)[:, : pe.role.p * pe.k]
