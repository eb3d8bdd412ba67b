"""Validated configuration of a model-selection sweep (``rnnaccel compress --config FILE``).

TOML or YAML; unknown keys are errors (pydantic ``extra="forbid"``). See configs/compress_default.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rnnaccel.configfile import load_config_file

__all__ = ["ADMMSettings", "CompressConfig", "GridConfig", "TrainSettings", "load_compress_config"]

LayerBlockSpec = int | dict[str, int | None] | None
BlockSpec = int | dict[str, int | None] | list[LayerBlockSpec]  # list: one spec per layer
QUANT_PRESETS: tuple[str, ...] = ("float", "16bit", "12bit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainSettings(_Strict):
    """Training of every trial (shared corpus and optimizer; epochs per flow)."""

    corpus: str = "data/synth-timit"
    cache_dir: str | None = "cache/features"
    max_train_utterances: int | None = Field(default=600, ge=1)
    eval_split: Literal["dev", "test", "core_test"] = "dev"
    num_layers: int = Field(default=1, ge=1)
    bidirectional: bool = True
    batch_size: int = Field(default=16, ge=1)
    lr: float = Field(default=3e-3, gt=0)
    seed: int = 0
    dense_epochs: int = Field(default=14, ge=1)
    direct_epochs: int = Field(default=6, ge=1)
    prune_epochs: int = Field(default=6, ge=1)
    prune_sparsity: float = Field(default=0.9, ge=0, lt=1)
    prune_n_pe: int = Field(default=8, ge=1)
    qat_epochs: int = Field(default=1, ge=0)
    qat_train_utterances: int | None = Field(default=160, ge=1)


class ADMMSettings(_Strict):
    """ADMM schedule (assumed defaults: E-RNN's ρ and epochs are not published)."""

    iterations: int = Field(default=4, ge=1)
    epochs_per_iteration: int = Field(default=1, ge=1)
    rho0: float = Field(default=0.02, gt=0)
    rho_growth: float = Field(default=3.0, ge=1)
    rho_max: float = Field(default=10.0, gt=0)
    finetune_epochs: int = Field(default=2, ge=0)


class GridConfig(_Strict):
    """The trial grid: cell types × hidden sizes × block sizes × quantization presets."""

    cells: list[Literal["lstm", "gru"]] = ["lstm", "gru"]
    hidden_sizes: list[int] = [64, 96]
    block_sizes: list[BlockSpec] = [4, 8, 16]
    quant: list[Literal["float", "16bit", "12bit"]] = ["float", "16bit", "12bit"]
    method: Literal["admm", "direct"] = "admm"
    reference_cell: Literal["lstm", "gru"] = "lstm"
    reference_hidden: int = 64

    @field_validator("hidden_sizes")
    @classmethod
    def _hidden(cls, v: list[int]) -> list[int]:
        if not v or any(h < 1 for h in v):
            raise ValueError(f"hidden_sizes must be a non-empty list of positive ints, got {v!r}")
        return v

    @field_validator("block_sizes")
    @classmethod
    def _blocks(cls, v: list[BlockSpec]) -> list[BlockSpec]:
        for spec in v:
            layers = spec if isinstance(spec, list) else [spec]
            sizes = [s for layer in layers for s in (layer.values() if isinstance(layer, dict) else [layer])]
            if any(s is not None and s < 1 for s in sizes):
                raise ValueError(f"block sizes must be positive ints, got {spec!r}")
        if not v:
            raise ValueError("block_sizes must not be empty")
        return v

    @field_validator("quant")
    @classmethod
    def _float_first(cls, v: list[str]) -> list[str]:
        if "float" not in v:
            raise ValueError(f"quant must include 'float' (the unquantized trial), got {v!r}")
        return v


class CompressConfig(_Strict):
    """A model-selection sweep: grid, accuracy budget, strategy, training and output files."""

    max_per_degradation: float = Field(default=1.0, ge=0, description="PER points vs the dense baseline")
    cost: Literal["storage_bytes", "mults_per_frame"] = "storage_bytes"
    strategy: Literal["reduced", "full"] = "reduced"
    out_dir: str = "runs/compress"
    results: str = "results/compress.json"
    grid: GridConfig = GridConfig()
    train: TrainSettings = TrainSettings()
    admm: ADMMSettings = ADMMSettings()


def load_compress_config(path: str | Path) -> CompressConfig:
    """Parse and validate a sweep config; errors name the file and the bad key/value."""
    return load_config_file(path, CompressConfig, "compress config")
