"""Training options beyond the optimizer: on-the-fly augmentation, learning-rate schedule, early stopping.

Sections ``[augment]`` and ``[schedule]`` of a training config; unknown keys and bad values are errors.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["AugmentConfig", "ScheduleConfig"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AugmentConfig(_Strict):
    """On-the-fly feature augmentation of every training batch (off by default), drawn from the
    epoch's generator so a resumed run replays it exactly.

    ``speed``: factors, one drawn per utterance, resampling the feature sequence in time (linear
    interpolation; CTC targets unchanged, frame labels follow by nearest frame) — speed perturbation in
    the feature domain. ``time_masks`` × up to ``time_mask_frames`` frames and ``freq_masks`` × up to
    ``freq_mask_bins`` feature dimensions set to 0 (the normalized mean; SpecAugment, Park et al. 2019).
    ``noise_std``: Gaussian noise added to the normalized features.
    ``warp``: vocal-tract-length perturbation, a factor α drawn per utterance uniformly in
    [1 − warp, 1 + warp] (first, before speed), moving the formants by α in the un-normalized features
    (``rnnaccel.data.features.warp_features``) before per-utterance CMVN and the training statistics.
    """

    warp: float = Field(default=0.0, ge=0.0, le=0.4, allow_inf_nan=False)
    speed: list[float] = []
    time_masks: int = Field(default=0, ge=0)
    time_mask_frames: int = Field(default=10, ge=1)
    freq_masks: int = Field(default=0, ge=0)
    freq_mask_bins: int = Field(default=8, ge=1)
    noise_std: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)

    @field_validator("speed")
    @classmethod
    def _factors(cls, v: list[float]) -> list[float]:
        if any(not 0.5 <= s <= 2.0 for s in v):
            raise ValueError(f"speed factors must be in [0.5, 2], got {v}")
        return v

    @property
    def active(self) -> bool:
        return bool(self.speed or self.time_masks or self.freq_masks or self.noise_std or self.warp)


class ScheduleConfig(_Strict):
    """Learning-rate schedule and early stopping on ``monitor`` (an eval split; dev by default).

    ``lr``: ``constant``; ``cosine`` from optim.lr to ``min_lr_ratio``·lr over the epochs; ``plateau``:
    ×``factor`` after each ``plateau_patience`` epochs without a new best PER on ``monitor``.
    ``early_stop_patience``: stop after that many epochs without a new best (None: never);
    ``restore_best``: the returned model has the best epoch's weights (kept in ``out_dir/best.safetensors``).
    Every rule is a function of the epoch history, so ``--resume`` reproduces it.
    """

    lr: Literal["constant", "cosine", "plateau"] = "constant"
    min_lr_ratio: float = Field(default=0.05, gt=0.0, le=1.0)
    factor: float = Field(default=0.5, gt=0.0, lt=1.0)
    plateau_patience: int = Field(default=2, ge=1)
    early_stop_patience: int | None = Field(default=None, ge=1)
    monitor: Literal["train", "dev", "core_test", "test", "test_seen"] = "dev"
    restore_best: bool = False
