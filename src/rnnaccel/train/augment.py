"""On-the-fly feature augmentation for training batches (``AugmentConfig``): VTLP warp, speed, masks,
noise.

All draws come from the epoch's ``torch.Generator``, so an epoch — and a resumed run — replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rnnaccel.data.features import FeatureSettings, warp_features
from rnnaccel.train.augment_config import AugmentConfig

__all__ = ["augment_utterance", "stretch_frames", "warped_utterance"]


def warped_utterance(raw: torch.Tensor, settings: FeatureSettings, cfg: AugmentConfig,
                     normalize: Callable[[torch.Tensor], torch.Tensor], gen: torch.Generator) -> torch.Tensor:
    """The normalized features of one training utterance whose un-normalized features ``raw`` are
    warped (VTLP) by α drawn uniformly in [1 − cfg.warp, 1 + cfg.warp] from ``gen``; ``normalize``
    applies the per-utterance CMVN (if configured) and the training statistics."""
    alpha = 1.0 + cfg.warp * (2.0 * float(torch.rand((), generator=gen, dtype=torch.float64)) - 1.0)
    return normalize(warp_features(raw, settings, alpha))


def stretch_frames(feats: torch.Tensor, frames: torch.Tensor,
                   factor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Speed ``factor`` (> 1 faster): ``T' = max(1, round(T / factor))`` frames by linear interpolation
    in time; frame labels follow by the nearest source frame, so a label boundary at source frame b
    moves to ≈ b / factor."""
    t = feats.shape[0]
    n = max(1, round(t / factor))
    if n == t:
        return feats, frames
    pos = torch.linspace(0.0, t - 1.0, n, dtype=torch.float64)
    lo = pos.floor().long().clamp(max=t - 1)
    hi = (lo + 1).clamp(max=t - 1)
    w = (pos - lo).to(feats.dtype)[:, None]
    out = feats[lo] * (1 - w) + feats[hi] * w
    return out, frames[pos.round().long().clamp(max=t - 1)]


def _masks(x: torch.Tensor, count: int, width: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    size = x.shape[dim]
    for _ in range(count):
        w = int(torch.randint(0, min(width, size) + 1, (1,), generator=gen))
        start = int(torch.randint(0, size - w + 1, (1,), generator=gen))
        if dim == 0:
            x[start : start + w] = 0.0
        else:
            x[:, start : start + w] = 0.0
    return x


def augment_utterance(feats: torch.Tensor, frames: torch.Tensor, cfg: AugmentConfig,
                      gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One training utterance's (normalized features, frame labels) after speed, SpecAugment time and
    frequency masks (set to 0, the normalized mean) and Gaussian noise; the input is not modified."""
    if cfg.speed:
        k = int(torch.randint(0, len(cfg.speed), (1,), generator=gen))
        feats, frames = stretch_frames(feats, frames, cfg.speed[k])
    x = feats.clone()
    x = _masks(x, cfg.time_masks, cfg.time_mask_frames, 0, gen)
    x = _masks(x, cfg.freq_masks, cfg.freq_mask_bins, 1, gen)
    if cfg.noise_std:
        x = x + cfg.noise_std * torch.randn(x.shape, generator=gen, dtype=x.dtype)
    return x, frames
