"""Design-space exploration config: TOML parsed into validated pydantic models (unknown keys are errors)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from rnnaccel.configfile import load_config_file
from rnnaccel.hw.spec import FPGA_DEVICE_NAMES
from rnnaccel.shape import Cell, RnnShape, requirements

__all__ = ["ExploreConfig", "ModelSection", "OutputSection", "SweepSection", "load_explore_config"]

_STRICT = ConfigDict(extra="forbid", frozen=True)


class ModelSection(BaseModel):
    """The network: the fields of :class:`rnnaccel.shape.RnnShape` (same names, same order) for the LSTM;
    the GRU variant has no projection or peepholes and uses ``gru_hidden_size`` (default: ``hidden_size``).
    Each swept one is checked against the FPGA model when the config is loaded."""

    model_config = _STRICT
    input_size: StrictInt = Field(153, ge=1)
    hidden_size: StrictInt = Field(1024, ge=1)
    proj_size: StrictInt = Field(512, ge=0)
    num_layers: StrictInt = Field(1, ge=1)
    bidirectional: StrictBool = False
    peepholes: StrictBool = True
    gru_hidden_size: StrictInt | None = Field(None, ge=1)

    def shape(self, cell: str) -> RnnShape:
        """The swept network of ``cell`` (ValueError naming the key when the FPGA model cannot build it)."""
        try:
            if Cell.parse(cell) is Cell.LSTM:
                shape = RnnShape(Cell.LSTM, self.input_size, self.hidden_size, proj_size=self.proj_size,
                                 num_layers=self.num_layers, bidirectional=self.bidirectional,
                                 peepholes=self.peepholes)
            else:
                shape = RnnShape(Cell.GRU, self.input_size, self.gru_hidden_size or self.hidden_size,
                                 num_layers=self.num_layers, bidirectional=self.bidirectional)
            return shape.check_buildable("fpga")
        except TypeError as exc:  # pydantic reports ValueErrors only
            raise ValueError(str(exc)) from None


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
    block_gate: list[StrictInt] = [4, 8, 16]
    block_proj: list[StrictInt] = [4, 8, 16]
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
    def _blocks(cls, values: list[int], info) -> list[int]:
        fpga = requirements("fpga")
        for value in values:
            fpga.check_block(value, info.field_name)
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

    PATH_KEYS: ClassVar[tuple[str, ...]] = ("output.dir", "output.phase1_results")  # config-relative

    model_config = _STRICT
    model: ModelSection = ModelSection()
    sweep: SweepSection = SweepSection()
    output: OutputSection = OutputSection()

    @model_validator(mode="after")
    def _buildable(self) -> ExploreConfig:
        """Every swept network must be buildable by the FPGA model (checked before any sweep)."""
        for cell in self.sweep.cell:
            try:
                self.model.shape(cell)
            except ValueError as exc:
                raise ValueError(f"model ({cell}): {exc}") from None
        return self


def load_explore_config(path: str | Path) -> ExploreConfig:
    """Parse and validate a TOML config; errors name the file and the offending key."""
    return load_config_file(path, ExploreConfig, "explore config")
