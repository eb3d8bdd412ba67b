"""Validated training configuration (TOML or YAML); unknown keys and bad values are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator

from rnnaccel.configfile import load_config_file
from rnnaccel.data.features import FeatureSettings
from rnnaccel.shape import RnnShape
from rnnaccel.train.augment_config import AugmentConfig, ScheduleConfig

__all__ = ["Config", "DataConfig", "ModelConfig", "OptimConfig", "load_config"]

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Corpus and features. ``corpus`` is a TIMIT-layout directory (real TIMIT or synthetic)."""

    corpus: str = "data/synth-timit"
    features: Literal["mfcc", "fbank"] = "mfcc"
    cache_dir: str | None = "cache/features"
    train_split: Literal["train", "dev", "core_test", "test", "test_seen"] = "train"
    eval_splits: list[Literal["train", "dev", "core_test", "test", "test_seen"]] = ["dev", "test"]
    max_train_utterances: int | None = Field(default=None, ge=1)
    cmvn: Literal["none", "utterance"] = "none"  # per-utterance mean/variance normalization

    def feature_settings(self) -> FeatureSettings:
        """MFCC: 13 + Δ + ΔΔ over 26 filters; fbank: 40 log-mel + Δ + ΔΔ; ``cmvn`` per utterance."""
        if self.features == "mfcc":
            return FeatureSettings(kind="mfcc", cmvn=self.cmvn)
        return FeatureSettings(kind="fbank", n_mels=40, cmvn=self.cmvn)


class ModelConfig(_Strict):
    """Stacked (bi)LSTM/GRU from ``rnnaccel.nn`` + a linear output layer over 61 phones + blank.

    The network's fields are those of :class:`rnnaccel.shape.RnnShape` (same names, same order; the
    input size comes from the features); the whole shape is validated when the config is loaded.
    ``block_size`` is the block-size config form (None | int | per-role mapping | per-layer list).
    """

    cell: Literal["lstm", "gru"] = "lstm"
    hidden_size: StrictInt = Field(default=128, ge=1)
    proj_size: StrictInt = Field(default=0, ge=0)
    num_layers: StrictInt = Field(default=2, ge=1)
    bidirectional: StrictBool = True
    peepholes: StrictBool = False
    block_size: Any = None
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _valid_shape(self) -> ModelConfig:
        self.shape(1)  # no rule depends on the input size (it comes from the features)
        return self

    def shape(self, input_size: int) -> RnnShape:
        """The network on ``input_size`` features (ValueError naming the key otherwise)."""
        try:
            return RnnShape(self.cell, input_size, self.hidden_size, proj_size=self.proj_size,
                            num_layers=self.num_layers, bidirectional=self.bidirectional,
                            peepholes=self.peepholes, block_sizes=self.block_size)
        except TypeError as exc:  # pydantic reports ValueErrors only
            raise ValueError(str(exc)) from None

    def with_block_size(self, block_size: object) -> ModelConfig:
        """The same model with other block sizes, validated."""
        return ModelConfig.model_validate({**self.model_dump(), "block_size": block_size})


class OptimConfig(_Strict):
    """Adam + gradient-norm clipping; CTC (default) or framewise cross-entropy."""

    loss: Literal["ctc", "ce"] = "ctc"
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=16, ge=1)
    lr: float = Field(default=2e-3, gt=0.0)
    clip: float = Field(default=1.0, gt=0.0)
    seed: int = 0
    decode: Literal["greedy", "beam"] = "greedy"
    beam_width: int = Field(default=8, ge=1)
    # weight of the per-frame KL(teacher || model) added to the loss when train() gets a teacher
    # (the flow's block-circulant direct stage passes the dense model); no teacher: unused
    distill: float = Field(default=0.0, ge=0.0, allow_inf_nan=False)


class Config(_Strict):
    """A training run: data, model, optimizer and where checkpoints go."""

    PATH_KEYS: ClassVar[tuple[str, ...]] = ("out_dir", "data.corpus", "data.cache_dir")  # config-relative

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optim: OptimConfig = OptimConfig()
    augment: AugmentConfig = AugmentConfig()  # on-the-fly feature augmentation (augment_config.py)
    schedule: ScheduleConfig = ScheduleConfig()  # learning-rate schedule, early stopping
    out_dir: str = "runs/bilstm"

    @property
    def shape(self) -> RnnShape:
        """The network, on the input size of the configured features."""
        return self.model.shape(self.data.feature_settings().dim)


def load_config(path: str | Path) -> Config:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a validated ``Config``."""
    return load_config_file(path, Config)
