"""Per-block views of the integer engine's circulant datapath: the bit-exact models of the RTL
components (:mod:`rnnaccel.rtl`). Each wraps the engine's own code, so hardware and software share
one spec: :func:`rnnaccel.ref.fft.rfft_int` / :func:`~rnnaccel.ref.fft.irfft_int` for FFT-k and
IFFT-k, the engine's ``_freq_mac`` plus the ``freq_acc`` rounding for the MAC bank, and
``_circulant_cols`` for the whole processing element.

Blocks are rows: ``(n, k)`` real codes, ``(n, k/2+1)`` bins.
"""

from __future__ import annotations

import numpy as np

from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import requantize
from rnnaccel.ref.engine import Engine, _circulant_cols, _freq_mac
from rnnaccel.ref.export import IntCirculant
from rnnaccel.ref.fft import irfft_int, rfft_int

__all__ = ["fft_block", "ifft_block", "mac_block", "pe_block"]


def fft_block(x: np.ndarray, in_frac: int, config: QuantConfig, stats: OverflowStats | None = None):
    """Real blocks (n, k) at ``in_frac`` -> (re, im) bins (n, k/2+1) of the ``fft`` point."""
    x = np.asarray(x, np.int64)
    plan = FFTPlan(x.shape[-1], config.twiddle)
    re, im, _ = rfft_int(x.T, in_frac, plan, config.fft, stats if stats is not None else OverflowStats())
    return re.T, im.T


def ifft_block(re: np.ndarray, im: np.ndarray, config: QuantConfig, stats: OverflowStats | None = None):
    """Bins (n, k/2+1) of the ``freq_acc`` point -> real blocks (n, k) of ``ifft`` codes (frac
    ``ifft.frac + log2 k``)."""
    re, im = np.asarray(re, np.int64), np.asarray(im, np.int64)
    plan = FFTPlan(2 * (re.shape[-1] - 1), config.twiddle)
    stats = stats if stats is not None else OverflowStats()
    y, _ = irfft_int(re.T, im.T, config.freq_acc.frac, plan, config.ifft, stats)
    return y.T


def mac_block(
    role: IntCirculant,
    re: np.ndarray,
    im: np.ndarray,
    config: QuantConfig,
    stats: OverflowStats | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bins of the q input blocks (n, q, k/2+1) in the ``fft`` format -> the ``freq_acc`` codes of
    sum_j W_ij X_j for every output block, (n, p, k/2+1) re and im."""
    re, im = np.asarray(re, np.int64), np.asarray(im, np.int64)
    z = np.stack([re, im], 1).transpose(3, 1, 2, 0)  # (F, 2, q, n) as the engine stacks them
    exact = _freq_mac(role, z, config.fft)  # (F, 2p, n)
    codes, n_over = requantize(exact, config.fft.frac + config.weight.frac, config.freq_acc)
    if stats is not None:
        stats.add(QPoint.FREQ_ACC.value, n_over)
    out = codes.reshape(codes.shape[0], 2, role.p, -1).transpose(3, 1, 2, 0)  # (n, 2, p, F)
    return out[:, 0], out[:, 1]


def pe_block(role: IntCirculant, x: np.ndarray, in_frac: int, config: QuantConfig) -> tuple[np.ndarray, int]:
    """The whole processing element: input features (n, q*k) at ``in_frac`` -> exact ``W x`` codes
    (n, p*k) of the ``ifft`` point and their frac, as the engine computes a circulant role."""
    eng = Engine(config)
    y, frac = _circulant_cols(role, np.asarray(x, np.int64), in_frac, eng)
    return y, frac
