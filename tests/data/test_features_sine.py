import math

import numpy as np
import pytest
import torch

from rnnaccel.data.features import FeatureSettings, compute_features, deltas, load_features


def _hand_mfcc(x: np.ndarray) -> np.ndarray:
    """Straight-line numpy version of the documented recipe, written independently of the torch code."""
    sr, win, hop, nfft, nmel, nceps, lift = 16000, 400, 160, 512, 26, 13, 22
    y = np.append(x[0], x[1:] - 0.97 * x[:-1])
    ham = np.array([0.54 - 0.46 * math.cos(2 * math.pi * n / (win - 1)) for n in range(win)])
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    imel = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    edges = imel(np.linspace(0, mel(sr / 2), nmel + 2))
    freqs = np.arange(nfft // 2 + 1) * sr / nfft
    out = []
    for t in range(1 + (len(y) - win) // hop):
        frame = y[t * hop : t * hop + win] * ham
        power = np.abs(np.fft.rfft(frame, nfft)) ** 2 / nfft
        energies = []
        for m in range(1, nmel + 1):
            lo, c, hi = edges[m - 1], edges[m], edges[m + 1]
            tri = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
            energies.append(math.log(max(float(tri @ power), 1e-10)))
        ceps = []
        for k in range(nceps):
            s = sum(e * math.cos(math.pi * k * (m + 0.5) / nmel) for m, e in enumerate(energies))
            scale = math.sqrt((1 if k == 0 else 2) / nmel)
            ceps.append(s * scale * (1 + lift / 2 * math.sin(math.pi * k / lift)))
        ceps[0] = math.log(max(power.sum(), 1e-10))
        out.append(ceps)
    return np.array(out)


def test_mfcc_matches_hand_computation_on_a_sine():
    t = np.arange(8000) / 16000
    x = (0.3 * np.sin(2 * math.pi * 440 * t)).astype(np.float32)
    got = compute_features(x, FeatureSettings()).numpy()
    want = _hand_mfcc(x.astype(np.float64))
    assert got.shape == (48, 39)
    np.testing.assert_allclose(got[:, :13], want, rtol=1e-3, atol=2e-3)
    # the 440 Hz tone lands in one mel band: the fbank peak is there
    fb = compute_features(x, FeatureSettings(kind="fbank", n_mels=40, delta_order=0)).numpy()
    assert fb.shape == (48, 40) and np.all(fb.argmax(1) == fb[10].argmax())


def test_deltas_of_a_ramp_are_its_slope():
    ramp = torch.arange(10, dtype=torch.float32)[:, None] * 3.0
    d = deltas(ramp)
    assert torch.allclose(d[2:-2], torch.full((6, 1), 3.0))


def test_bad_settings():
    with pytest.raises(ValueError, match="feature kind must be 'mfcc' or 'fbank'"):
        FeatureSettings(kind="plp")
    with pytest.raises(ValueError, match="n_ceps must be in 1..n_mels=26"):
        FeatureSettings(n_ceps=30)
    with pytest.raises(ValueError, match="cmvn must be 'none' or 'utterance', got 'speaker'"):
        FeatureSettings(cmvn="speaker")


def test_utterance_cmvn_removes_a_channel_gain():
    """Per-utterance CMVN: every dimension has mean 0 and variance 1; a gain (a constant offset of
    the log energy) and a constant cepstral offset leave the normalized features unchanged."""
    t = np.arange(8000) / 16000
    noise = np.random.default_rng(0).standard_normal(8000)  # energy in every mel band (no log floor)
    x = (0.1 * noise * (1.2 + np.sin(2 * math.pi * 3 * t))).astype(np.float32)
    s = FeatureSettings(cmvn="utterance")
    a, b = compute_features(x, s).numpy(), compute_features(4 * x, s).numpy()
    assert np.allclose(a.mean(0), 0, atol=1e-5) and np.allclose(a.std(0), 1, atol=1e-3)
    assert np.allclose(a, b, atol=1e-3)


def test_cache_roundtrip(mini_sphere, tmp_path):
    s = FeatureSettings()
    first = load_features(mini_sphere, "test", s, tmp_path)
    cached = list(tmp_path.glob("test-mfcc-*.safetensors"))
    assert len(cached) == 1
    again = load_features(mini_sphere, "test", s, tmp_path)
    assert again.utt_ids == first.utt_ids
    assert all(np.array_equal(a, b) for a, b in zip(first.feats, again.feats, strict=True))
    assert all(f.shape[0] == fr.shape[0] for f, fr in zip(first.feats, first.frames, strict=True))
    load_features(mini_sphere, "test", FeatureSettings(kind="fbank", n_mels=40), tmp_path)
    assert len(list(tmp_path.glob("test-*.safetensors"))) == 2  # settings are part of the key
