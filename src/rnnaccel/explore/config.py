"""Design-space exploration config: TOML parsed into validated pydantic models (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rnnaccel.configfile import load_config_file
from rnnaccel.hw.fpga.arith import VALID_BLOCKS
from rnnaccel.hw.spec import FPGA_DEVICE_NAMES

__all__ = ["ExploreConfig", "ModelSection", "OutputSection", "SweepSection", "load_explore_config"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ModelSection(BaseModel):
    """The network: LSTM shape; the GRU variant uses ``gru_hidden`` (default: ``hidden``), no projection."""

    model_config = _STRICT
    input_size: int = Field(153, ge=1)
    hidden: int = Field(1024, ge=1)
    proj: int = Field(512, ge=0)
    layers: int = Field(1, ge=1)
    bidirectional: bool = False
    peepholes: bool = True
    gru_hidden: int | None = Field(None, ge=1)


def _nonempty_unique(values: list, name: str) -> list:
    if not values:
        raise ValueError(f"sweep.{name} must list at least one value")
    if len(set(values)) != len(values):
        raise ValueError(f"sweep.{name} has duplicate values: {values}")
    return values


class SweepSection(BaseModel):
    """Values of every swept axis; the grid is their Cartesian product."""

    model_config = _STRICT
    cell: list[Literal["lstm", "gru"]] = ["lstm", "gru"]
    device: list[str] = list(FPGA_DEVICE_NAMES)
    block_gate: list[int] = [4, 8, 16]
    block_proj: list[int] = [4, 8, 16]
    pe_gate: list[int] = [2, 4, 8, 16]
    lanes_gate: list[int] = [8, 16]
    pe_proj: list[int] = [1, 2, 4]
    lanes_proj: list[int] = [4, 8]
    elem_lanes: list[int] = [8, 32]
    ii: list[int] = [1, 2]
    weight_bits: list[int] = [8, 12, 16]
    data_bits: list[int] = [12, 16]
    complex_mult: list[Literal[3, 4]] = [4]
    freq_mhz: list[float] = [200.0]

    @field_validator("*")
    @classmethod
    def _lists(cls, values: list, info) -> list:
        return _nonempty_unique(values, info.field_name)

    @field_validator("device")
    @classmethod
    def _devices(cls, values: list[str]) -> list[str]:
        bad = [v for v in values if v not in FPGA_DEVICE_NAMES]
        if bad:
            raise ValueError(f"unknown devices {bad}; expected some of {list(FPGA_DEVICE_NAMES)}")
        return values

    @field_validator("block_gate", "block_proj")
    @classmethod
    def _blocks(cls, values: list[int]) -> list[int]:
        bad = [v for v in values if v not in VALID_BLOCKS]
        if bad:
            raise ValueError(f"block sizes {bad} are not powers of two in {VALID_BLOCKS}")
        return values

    @field_validator("pe_gate", "lanes_gate", "pe_proj", "lanes_proj", "elem_lanes", "ii")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if min(values) < 1:
            raise ValueError(f"parallelism and II must be >= 1, got {values}")
        return values

    @field_validator("weight_bits", "data_bits")
    @classmethod
    def _bits(cls, values: list[int]) -> list[int]:
        if min(values) < 2 or max(values) > 32:
            raise ValueError(f"bit widths must be in [2, 32], got {values}")
        return values

    @field_validator("freq_mhz")
    @classmethod
    def _freq(cls, values: list[float]) -> list[float]:
        if min(values) <= 0:
            raise ValueError(f"freq_mhz must be > 0, got {values}")
        return values


class OutputSection(BaseModel):
    """Where and what to write; ``phase1_results`` is an optional Phase I JSON with PER per model."""

    model_config = _STRICT
    dir: str = "results/explore"
    resource: Literal["dsp", "bram", "lut", "ff", "max"] = "max"
    max_per: float | None = Field(None, gt=0, le=1)
    phase1_results: str | None = None
    plot: bool = True


class ExploreConfig(BaseModel):
    """A whole exploration: model, sweep axes, output."""

    model_config = _STRICT
    model: ModelSection = ModelSection()
    sweep: SweepSection = SweepSection()
    output: OutputSection = OutputSection()


def load_explore_config(path: str | Path) -> ExploreConfig:
    """Parse and validate a TOML config; errors name the file and the offending key."""
    return load_config_file(path, ExploreConfig, "explore config")
