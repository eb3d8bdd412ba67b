"""Acoustic variation keeps the labels aligned: known boundaries through warp, reverb, band, noise."""

import numpy as np
import pytest

from rnnaccel.data import augment

RATE = 16000


def _tones(bounds: list[int], freqs: list[float]) -> np.ndarray:
    """Tone segments [bounds[i], bounds[i+1]) at freqs[i] (0 = silence), as int16."""
    x = np.zeros(bounds[-1])
    for (a, b), f in zip(zip(bounds[:-1], bounds[1:], strict=True), freqs, strict=True):
        t = np.arange(b - a) / RATE
        x[a:b] = 0.0 if f == 0 else 10000 * np.sin(2 * np.pi * f * t)
    return x.astype(np.int16)


def _zero_crossing_hz(x: np.ndarray) -> float:
    s = np.signbit(x.astype(np.float64))
    return np.count_nonzero(s[1:] != s[:-1]) / 2 / (x.size / RATE)


@pytest.mark.parametrize("alpha", [0.9, 1.0, 1.1, 0.87])
def test_warp_moves_boundaries_with_the_audio(alpha):
    bounds = [0, 4000, 9000, 12000, 16000]
    x = _tones(bounds, [500.0, 0.0, 1000.0, 0.0])
    y, ends = augment.warp(x, bounds[1:], alpha)
    p, q = augment.warp_ratio(alpha)
    assert ends[:-1] == [round(b * q / p) for b in bounds[1:-1]] and ends[-1] == y.size == -(-16000 * q // p)
    edges = [0, *ends]
    for k, f in enumerate([500.0, 0.0, 1000.0, 0.0]):
        a, b = edges[k] + 40, edges[k + 1] - 40  # the resampling filter's transient, ±40 samples
        seg = y[a:b].astype(np.float64)
        if f == 0:
            assert np.sqrt(np.mean(seg**2)) < 30  # silence stays silent up to the boundary
        else:
            assert np.sqrt(np.mean(seg**2)) > 5000
            assert _zero_crossing_hz(seg) == pytest.approx(f * p / q, rel=0.01)  # frequencies ×α


def test_channel_ops_do_not_delay():
    x = np.zeros(8000, dtype=np.int16)
    x[3000] = 20000
    banded = augment.band_limit(x, (300.0, 3400.0))
    assert banded.size == x.size and int(np.argmax(np.abs(banded))) == 3000  # zero phase
    rir = augment.synthetic_rir(0.3, np.random.default_rng(0))
    wet = augment.reverberate(_tones([0, 4000, 8000], [0.0, 800.0]), rir)
    assert wet.size == 8000 and np.all(wet[:4000] == 0) and wet[4000:4010].any()  # onset not moved


def test_noise_is_at_the_requested_snr_and_deterministic():
    x = _tones([0, 16000], [440.0])
    for kind in ("white", "pink", "brown"):
        n = augment.coloured_noise(x.size, kind, np.random.default_rng(3))
        y = augment.add_noise(x, n, 12.0)
        d = y.astype(np.float64) - x
        snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(d**2))
        assert snr == pytest.approx(12.0, abs=0.05)
        assert np.array_equal(n, augment.coloured_noise(x.size, kind, np.random.default_rng(3)))
    pink = np.abs(np.fft.rfft(augment.coloured_noise(1 << 15, "pink", np.random.default_rng(1)))) ** 2
    assert pink[100:200].mean() > 5 * pink[5000:6000].mean()  # power falls with frequency
    others = [_tones([0, 3000], [f]) for f in (300.0, 500.0, 700.0, 900.0)]
    b = augment.babble(others, 10000, np.random.default_rng(2))
    assert b.size == 10000 and np.sqrt(np.mean(b**2)) == pytest.approx(1.0)


def test_bad_values_are_errors():
    with pytest.raises(ValueError, match="warp factor must be in"):
        augment.warp(np.zeros(10, np.int16), [10], 3.0)
    with pytest.raises(ValueError, match="band must satisfy"):
        augment.band_limit(np.zeros(100, np.int16), (3000.0, 300.0))
    with pytest.raises(ValueError, match="rt60_s must be in"):
        augment.synthetic_rir(0.0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="snr_db must be finite"):
        augment.add_noise(np.ones(10, np.int16), np.ones(10), float("nan"))
    with pytest.raises(ValueError, match="noise kind must be"):
        augment.coloured_noise(10, "blue", np.random.default_rng(0))
