"""Validated configuration of a model-selection sweep (``rnnaccel compress --config FILE``).

TOML or YAML; unknown keys are errors (pydantic ``extra="forbid"``). See configs/compress_default.toml.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from rnnaccel.compress.admm import ADMMSchedule
from rnnaccel.configfile import load_config_file
from rnnaccel.shape import ROLES, BlockSizes, RnnShape

__all__ = ["ADMMSettings", "CompressConfig", "GridConfig", "TrainSettings", "load_compress_config"]

QUANT_PRESETS: tuple[str, ...] = ("float", "16bit", "12bit")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrainSettings(_Strict):
    """Training of every trial (shared corpus and optimizer; epochs per flow)."""

    corpus: str = "data/synth-timit"
    cache_dir: str | None = "cache/features"
    max_train_utterances: int | None = Field(default=600, ge=1)
    eval_split: Literal["dev", "test", "core_test"] = "dev"
    num_layers: StrictInt = Field(default=1, ge=1)
    bidirectional: StrictBool = True
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


ADMMSettings = ADMMSchedule  # the one ADMM schedule type (rnnaccel.compress.admm); old name kept


class GridConfig(_Strict):
    """The trial grid: cell types × hidden sizes × block sizes × quantization presets."""

    cells: list[Literal["lstm", "gru"]] = ["lstm", "gru"]
    hidden_sizes: list[StrictInt] = [64, 96]
    block_sizes: list[Any] = [4, 8, 16]  # block-size config form (rnnaccel.shape); list: one per layer
    quant: list[Literal["float", "16bit", "12bit"]] = ["float", "16bit", "12bit"]
    method: Literal["admm", "direct"] = "admm"
    reference_cell: Literal["lstm", "gru"] = "lstm"
    reference_hidden: StrictInt = Field(default=64, ge=1)

    @field_validator("hidden_sizes")
    @classmethod
    def _hidden(cls, v: list[int]) -> list[int]:
        if not v or any(h < 1 for h in v):
            raise ValueError(f"hidden_sizes must be a non-empty list of positive ints, got {v!r}")
        return v

    @field_validator("block_sizes")
    @classmethod
    def _blocks(cls, v: list) -> list:
        """Each entry's values and roles (its layer count is checked against ``train.num_layers`` by
        :class:`CompressConfig`)."""
        if not v:
            raise ValueError("block_sizes must not be empty")
        for i, spec in enumerate(v):
            layers = len(spec) if isinstance(spec, list) and spec else 1
            try:
                BlockSizes.parse(spec, layers, key=f"block_sizes[{i}]", roles=ROLES[:2])
            except TypeError as exc:  # pydantic reports ValueErrors only
                raise ValueError(str(exc)) from None
        return v

    @field_validator("quant")
    @classmethod
    def _float_first(cls, v: list[str]) -> list[str]:
        if "float" not in v:
            raise ValueError(f"quant must include 'float' (the unquantized trial), got {v!r}")
        return v


class CompressConfig(_Strict):
    """A model-selection sweep: grid, accuracy budget, strategy, training and output files."""

    PATH_KEYS: ClassVar[tuple[str, ...]] = ("out_dir", "results", "train.corpus", "train.cache_dir")

    max_per_degradation: float = Field(default=1.0, ge=0, description="PER points vs the dense baseline")
    cost: Literal["storage_bytes", "mults_per_frame"] = "storage_bytes"
    strategy: Literal["reduced", "full"] = "reduced"
    out_dir: str = "runs/compress"
    results: str = "results/compress.json"
    grid: GridConfig = GridConfig()
    train: TrainSettings = TrainSettings()
    admm: ADMMSchedule = ADMMSchedule()

    @model_validator(mode="after")
    def _buildable(self) -> CompressConfig:
        """Every trial network is built by rnnaccel.nn and, with a quantized preset, by the fixed-point
        engine: one that cannot be fails here, before any training."""
        for shape, key in self.trial_shapes():
            try:
                shape.check_buildable(*self.targets, key=key)
            except ValueError as exc:
                raise ValueError(f"{exc} (cell {shape.cell}, hidden {shape.hidden_size})") from None
        return self

    @property
    def targets(self) -> tuple[str, ...]:
        """The stages that build the trial networks (``rnnaccel.shape.REQUIREMENTS``)."""
        return ("nn", "fixed_point") if set(self.grid.quant) - {"float"} else ("nn",)

    def trial_shapes(self, input_size: int = 39) -> list[tuple[RnnShape, str]]:
        """(network, config key of its block sizes) of every circulant trial of the grid; the input size
        (39 = the default MFCC features) plays no part in any rule."""
        g, t = self.grid, self.train
        out = []
        for i, spec in enumerate(g.block_sizes):
            key = f"grid.block_sizes[{i}]"
            try:  # trial networks have no projection
                blocks = BlockSizes.parse(spec, t.num_layers, key=key, roles=ROLES[:2])
            except TypeError as exc:  # pydantic reports ValueErrors only
                raise ValueError(str(exc)) from None
            for cell in dict.fromkeys([*g.cells, g.reference_cell]):
                for hidden in dict.fromkeys([*g.hidden_sizes, g.reference_hidden]):
                    shape = RnnShape(cell, input_size, hidden, num_layers=t.num_layers,
                                     bidirectional=t.bidirectional, block_sizes=blocks)
                    out.append((shape, key))
        return out


def load_compress_config(path: str | Path) -> CompressConfig:
    """Parse and validate a sweep config; errors name the file and the bad key/value."""
    return load_config_file(path, CompressConfig, "compress config")
