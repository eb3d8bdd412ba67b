"""Deterministic acoustic variation for the synthetic corpus (numpy + scipy.signal; no sox).

Every operation either keeps the time axis (noise, reverberation, band limiting: zero-delay by
construction) or changes it by a known rational factor, and then maps the phone boundaries with it
(``warp``): nothing moves a boundary without the labels following exactly.

* **Spectral warping (VTLN-like)**: resampling by α = p/q (``scipy.signal.resample_poly``, up q, down
  p) multiplies every frequency by α and every duration by 1/α. The corpus asks the synthesizer for
  duration stretch ×α and F0 /α first, so after the warp only the formants have moved (by α): a
  vocal-tract-length change. Boundaries ``b`` become ``round(b·q/p)``.
* **Noise at an SNR** (relative to the utterance's mean power): white, pink (1/f) or brown (1/f²)
  noise shaped in the frequency domain, or babble: the sum of 3-5 other utterances of the same split.
* **Reverberation**: a synthetic room impulse response, exponentially decaying Gaussian noise
  (Schroeder's model; decay 60 dB over RT60) after a unit direct path at lag 0, so the direct sound
  is not delayed; the output keeps the input's length and RMS.
* **Band limiting**: a 4th-order Butterworth band-pass run forward and backward (``sosfiltfilt``:
  zero phase, no delay), e.g. a telephone channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

__all__ = [
    "Channel",
    "add_noise",
    "babble",
    "band_limit",
    "coloured_noise",
    "reverberate",
    "synthetic_rir",
    "warp",
    "warp_ratio",
]

_RATE_HZ = 16000
NOISE_KINDS = ("white", "pink", "brown", "babble")


@dataclass(frozen=True)
class Channel:
    """A speaker's fixed acoustic setting: formant warp α, reverberation time, pass band (or None)."""

    warp: float = 1.0
    rt60_s: float | None = None
    band_hz: tuple[float, float] | None = None


def warp_ratio(alpha: float) -> tuple[int, int]:
    """(p, q) with p/q ≈ ``alpha`` (denominator ≤ 50) — the exact factor the audio and labels get."""
    if not 0.5 <= alpha <= 2.0:
        raise ValueError(f"warp factor must be in [0.5, 2], got {alpha}")
    f = Fraction(alpha).limit_denominator(50)
    return f.numerator, f.denominator


def warp(pcm: np.ndarray, ends: list[int], alpha: float) -> tuple[np.ndarray, list[int]]:
    """Frequencies ×p/q, durations ×q/p (``resample_poly``); sample boundaries ``ends`` mapped exactly
    (``round(b·q/p)``; the end of the audio maps to the new end)."""
    p, q = warp_ratio(alpha)
    if p == q:
        return pcm, list(ends)
    from scipy.signal import resample_poly

    y = resample_poly(pcm.astype(np.float64), q, p)
    n = -(-pcm.size * q // p)  # resample_poly's output length: ceil(n·q/p)
    return _to_int16(y[:n]), [n if b == pcm.size else min(n, round(b * q / p)) for b in ends]


def _to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def coloured_noise(n: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Unit-power noise: white, pink (power ∝ 1/f) or brown (∝ 1/f²), shaped in the frequency domain."""
    if kind not in ("white", "pink", "brown"):
        raise ValueError(f"noise kind must be white, pink or brown, got {kind!r}")
    spec = np.fft.rfft(rng.standard_normal(max(n, 2)))
    f = np.maximum(np.fft.rfftfreq(max(n, 2)), 1.0 / max(n, 2))
    spec = spec * f ** -{"white": 0.0, "pink": 0.5, "brown": 1.0}[kind]
    x = np.fft.irfft(spec, max(n, 2))[:n]
    return x / max(np.sqrt(np.mean(x**2)), 1e-12)


def babble(others: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-power babble: 3-5 of ``others`` (each looped to ``n`` samples from a random offset), summed."""
    if not others:
        raise ValueError("babble needs at least one other utterance")
    k = min(len(others), int(rng.integers(3, 6)))
    out = np.zeros(n)
    for i in rng.choice(len(others), size=k, replace=False):
        src = others[int(i)].astype(np.float64)
        src = src / max(np.sqrt(np.mean(src**2)), 1e-12)
        out += np.resize(np.roll(src, -int(rng.integers(0, src.size))), n)
    return out / max(np.sqrt(np.mean(out**2)), 1e-12)


def add_noise(pcm: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``pcm`` plus unit-power ``noise`` scaled to ``snr_db`` below the utterance's mean power."""
    if not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be finite, got {snr_db}")
    x = pcm.astype(np.float64)
    return _to_int16(x + noise[: x.size] * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10)))


def synthetic_rir(rt60_s: float, rng: np.random.Generator, rate_hz: int = _RATE_HZ) -> np.ndarray:
    """Unit direct path at lag 0, then Gaussian reverberant tail decaying 60 dB over ``rt60_s``."""
    if not 0.05 <= rt60_s <= 3.0:
        raise ValueError(f"rt60_s must be in [0.05, 3] s, got {rt60_s}")
    n = int(rt60_s * rate_hz)
    t = np.arange(n) / rate_hz
    tail = rng.standard_normal(n) * 10 ** (-3.0 * t / rt60_s) * 0.3
    tail[: int(0.002 * rate_hz)] = 0.0  # first reflections arrive after 2 ms
    tail[0] = 1.0
    return tail


def reverberate(pcm: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """Causal convolution with ``rir`` cut to the input length (no delay: rir[0] is the direct path);
    rescaled to the input's RMS."""
    from scipy.signal import fftconvolve

    x = pcm.astype(np.float64)
    y = fftconvolve(x, rir)[: x.size]
    return _to_int16(y * np.sqrt(np.mean(x**2) / max(np.mean(y**2), 1e-12)))


def band_limit(pcm: np.ndarray, band_hz: tuple[float, float], rate_hz: int = _RATE_HZ) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass ``band_hz`` (forward-backward, so no delay)."""
    lo, hi = band_hz
    if not 0 < lo < hi < rate_hz / 2:
        raise ValueError(f"band must satisfy 0 < low < high < {rate_hz / 2:g} Hz, got {band_hz}")
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, [lo, hi], btype="bandpass", fs=rate_hz, output="sos")
    return _to_int16(sosfiltfilt(sos, pcm.astype(np.float64)))
