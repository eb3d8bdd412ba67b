"""Validated training configuration (TOML or YAML); unknown keys and bad values are errors."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rnnaccel.configfile import load_config_file
from rnnaccel.data.features import FeatureSettings

__all__ = ["Config", "DataConfig", "ModelConfig", "OptimConfig", "load_config"]

BlockSpec = int | dict[str, int | None] | list[int | dict[str, int | None] | None] | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Corpus and features. ``corpus`` is a TIMIT-layout directory (real TIMIT or synthetic)."""

    corpus: str = "data/synth-timit"
    features: Literal["mfcc", "fbank"] = "mfcc"
    cache_dir: str | None = "cache/features"
    train_split: Literal["train", "dev", "core_test", "test"] = "train"
    eval_splits: list[Literal["train", "dev", "core_test", "test"]] = ["dev", "test"]
    max_train_utterances: int | None = Field(default=None, ge=1)

    def feature_settings(self) -> FeatureSettings:
        """MFCC: 13 + Δ + ΔΔ over 26 filters; fbank: 40 log-mel + Δ + ΔΔ."""
        if self.features == "mfcc":
            return FeatureSettings(kind="mfcc")
        return FeatureSettings(kind="fbank", n_mels=40)


class ModelConfig(_Strict):
    """Stacked (bi)LSTM/GRU from ``rnnaccel.nn`` + a linear output layer over 61 phones + blank."""

    cell: Literal["lstm", "gru"] = "lstm"
    hidden_size: int = Field(default=128, ge=1)
    num_layers: int = Field(default=2, ge=1)
    bidirectional: bool = True
    peephole: bool = False
    proj_size: int = Field(default=0, ge=0)
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    block_size: BlockSpec = None

    @field_validator("block_size")
    @classmethod
    def _positive(cls, v: BlockSpec) -> BlockSpec:
        items = v if isinstance(v, list) else [v]
        for item in items:
            sizes = item.values() if isinstance(item, dict) else [item]
            if any(s is not None and s < 1 for s in sizes):
                raise ValueError(f"block sizes must be positive integers or null, got {v!r}")
        return v


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


class Config(_Strict):
    """A training run: data, model, optimizer and where checkpoints go."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optim: OptimConfig = OptimConfig()
    out_dir: str = "runs/bilstm"


def load_config(path: str | Path) -> Config:
    """Parse a TOML (``.toml``) or YAML (``.yaml``/``.yml``) file into a validated ``Config``."""
    return load_config_file(path, Config)
