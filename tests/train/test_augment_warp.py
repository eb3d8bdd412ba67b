"""Vocal-tract-length perturbation (``augment.warp``): the feature-domain warp moves a tone's energy
where the tone at α·f has it, training with it is deterministic and resumable, and the training set's
normalized features do not change when it is switched on."""

import math

import numpy as np
import pytest
import torch

from rnnaccel.data.features import FeatureSettings, compute_features, warp_features, warp_matrix
from rnnaccel.train import Config, load_data, train
from rnnaccel.train.augment import warped_utterance
from rnnaccel.train.augment_config import AugmentConfig
from rnnaccel.train.loop import _augmented


def _tones(scale: float) -> np.ndarray:
    t = np.arange(8000) / 16000
    return 0.5 * np.sin(2 * math.pi * 1000 * scale * t) + 0.3 * np.sin(2 * math.pi * 2500 * scale * t)


@pytest.mark.parametrize("kind", ["mfcc", "fbank"])
def test_warp_of_a_tone_approaches_the_scaled_tone(kind):
    s = FeatureSettings(kind=kind, n_mels=26 if kind == "mfcc" else 40)
    base = s.n_ceps if kind == "mfcc" else s.n_mels
    assert torch.equal(warp_matrix(s, 1.0), torch.eye(base, dtype=torch.float64))
    for alpha in (0.9, 1.12):
        x, y = compute_features(_tones(1.0), s), compute_features(_tones(alpha), s)
        w = warp_features(x, s, alpha)
        if kind == "mfcc":
            assert torch.equal(w[:, 0], x[:, 0])  # c0 (log energy) is kept
        # the warped features are far closer to the tone at alpha*f than the unwarped ones
        assert (w - y)[:, 1:base].abs().mean() < 0.5 * (x - y)[:, 1:base].abs().mean()
        if kind == "fbank":
            assert int(w[40, :base].argmax()) == int(y[40, :base].argmax()) != int(x[40, :base].argmax())


def test_warp_is_linear_per_frame_so_deltas_follow_exactly():
    s = FeatureSettings(kind="fbank", n_mels=40)
    x = compute_features(_tones(1.0), s).double()
    w = warp_features(x, s, 1.1)
    m = warp_matrix(s, 1.1)
    for block in range(3):
        sl = slice(40 * block, 40 * (block + 1))
        assert torch.allclose(w[:, sl], x[:, sl] @ m.T)
    with pytest.raises(ValueError, match=r"warp factor must be in \[0.5, 2\], got 3"):
        warp_matrix(s, 3)


def test_warp_config_is_validated():
    assert AugmentConfig(warp=0.1).active and not AugmentConfig().active
    for bad in (-0.1, 0.5, float("nan")):
        with pytest.raises(ValueError, match="warp"):
            AugmentConfig(warp=bad)


def _config(corpus, out_dir, warp=0.15, epochs=2):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["test"], "cmvn": "utterance"},
        "model": {"hidden_size": 8, "num_layers": 1},
        "optim": {"epochs": epochs, "batch_size": 4, "lr": 0.05},
        "augment": {"warp": warp, "time_masks": 1},
        "out_dir": str(out_dir)})


def test_warp_keeps_the_normalized_features_and_replays_on_resume(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, tmp_path / "full", epochs=3)
    data = load_data(cfg)
    plain = load_data(_config(tiny_corpus, tmp_path / "x", warp=0.0))
    assert data[0].raw is not None and plain[0].raw is None
    assert all(torch.equal(a, b) for a, b in zip(data[0].feats, plain[0].feats, strict=True))
    gen = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    a, b = _augmented(data[0], [0, 1], cfg, gen()), _augmented(data[0], [0, 1], cfg, gen())
    assert all(torch.equal(x, y) for x, y in zip(a[0], b[0], strict=True))
    same = warped_utterance(data[0].raw[0], cfg.data.feature_settings(), AugmentConfig(warp=0.0),
                            lambda x: x, gen())
    assert torch.equal(same, data[0].raw[0])  # warp 0: alpha = 1, the identity
    full = train(cfg, data=data)
    train(_config(tiny_corpus, tmp_path / "cut", epochs=1), data=data)
    resumed = train(_config(tiny_corpus, tmp_path / "cut", epochs=3), data=data, resume=True)
    assert [r.loss for r in resumed.history] == [r.loss for r in full.history]
    for p, q in zip(full.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="augment.warp needs the training split's un-normalized"):
        train(_config(tiny_corpus, tmp_path / "y"), data=plain)
