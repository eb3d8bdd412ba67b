"""Frozen hardware parameters of the E-PUR processing unit (Silfa et al., PACT 2018, arXiv 1711.07480).

Every default below is **assumed (recalled)**: papers.md tags the E-PUR organisation [U] — 4 computation
units (one per gate), 2 MiB weight buffer and 8 KiB input buffer per CU, a 16-multiplier dot-product
unit, a 6 MiB intermediate memory, 16-bit data, 28 nm, 500 MHz, LPDDR4 main memory. The LPDDR4 bandwidth
default (25.6 GB/s) is the public Tegra X1 figure (a 64-bit LPDDR4-3200 interface), assumed for E-PUR.
Variants are made with ``dataclasses.replace``; TOML files are parsed by :func:`load_config`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

__all__ = ["ComputeUnitConfig", "DRAMConfig", "EPURConfig", "load_config"]


def _positive(name: str, value: int | float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class ComputeUnitConfig:
    """One computation unit (CU): weight buffer, input buffer, dot-product unit (DPU), multifunctional unit.

    ``dpu_width`` multipliers feed an adder tree and an accumulator (pipelined): one ``dpu_width``-wide
    chunk of a dot product per cycle. ``mfu_latency_cycles`` is the tail the multifunctional unit adds
    per timestep after the last neuron (activations, cell/hidden update): assumed, not published.
    """

    dpu_width: int = 16
    weight_buffer_kib: float = 2048.0
    input_buffer_kib: float = 8.0
    mfu_latency_cycles: int = 4

    def __post_init__(self) -> None:
        for name in ("dpu_width", "weight_buffer_kib", "input_buffer_kib"):
            _positive(f"ComputeUnitConfig.{name}", getattr(self, name))
        if not isinstance(self.dpu_width, int):
            raise TypeError(f"ComputeUnitConfig.dpu_width must be an int, got {self.dpu_width!r}")
        if not isinstance(self.mfu_latency_cycles, int) or self.mfu_latency_cycles < 0:
            raise ValueError(f"ComputeUnitConfig.mfu_latency_cycles must be an int >= 0, "
                             f"got {self.mfu_latency_cycles!r}")

    @property
    def pipeline_latency_cycles(self) -> int:
        """Multiplier stage + adder-tree depth ⌈log2 width⌉ + accumulator stage."""
        return 2 + math.ceil(math.log2(self.dpu_width)) if self.dpu_width > 1 else 2


@dataclass(frozen=True)
class DRAMConfig:
    """LPDDR4 main memory: sustained bandwidth (MB/s = 1e6 B/s, an int so cycle counts are exact)."""

    kind: str = "LPDDR4"
    bandwidth_mb_s: int = 25_600

    def __post_init__(self) -> None:
        _positive("DRAMConfig.bandwidth_mb_s", self.bandwidth_mb_s)
        if not isinstance(self.bandwidth_mb_s, int):
            raise TypeError(f"DRAMConfig.bandwidth_mb_s must be an int, got {self.bandwidth_mb_s!r}")


@dataclass(frozen=True)
class EPURConfig:
    """The whole processing unit. ``energy_table`` names a data file in ``rnnaccel/hw/energy``."""

    n_cu: int = 4
    cu: ComputeUnitConfig = field(default_factory=ComputeUnitConfig)
    dram: DRAMConfig = field(default_factory=DRAMConfig)
    freq_mhz: int = 500
    tech_nm: int = 28
    data_bits: int = 16
    intermediate_memory_kib: float = 6144.0
    energy_table: str = "epur_28nm"

    def __post_init__(self) -> None:
        for name in ("n_cu", "freq_mhz", "tech_nm", "data_bits", "intermediate_memory_kib"):
            _positive(f"EPURConfig.{name}", getattr(self, name))
        if self.data_bits % 8:
            raise ValueError(f"EPURConfig.data_bits must be a multiple of 8, got {self.data_bits}")
        if not isinstance(self.freq_mhz, int):
            raise TypeError(f"EPURConfig.freq_mhz must be an int, got {self.freq_mhz!r}")

    @property
    def data_bytes(self) -> int:
        return self.data_bits // 8

    @property
    def weight_buffer_bytes(self) -> int:
        return int(self.cu.weight_buffer_kib * 1024)

    @property
    def input_buffer_bytes(self) -> int:
        return int(self.cu.input_buffer_kib * 1024)

    @property
    def intermediate_memory_bytes(self) -> int:
        return int(self.intermediate_memory_kib * 1024)

    @property
    def word_bits(self) -> int:
        """Width of one buffer access: one operand word of the DPU (width × data bits)."""
        return self.cu.dpu_width * self.data_bits

    def dram_cycles(self, n_bytes: int) -> int:
        """Cycles to move ``n_bytes`` at the DRAM bandwidth: ⌈bytes · f / BW⌉ (exact integers)."""
        return -(-n_bytes * self.freq_mhz // self.dram.bandwidth_mb_s)

    def seconds(self, cycles: int) -> float:
        return cycles / (self.freq_mhz * 1e6)


class _CUFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dpu_width: int | None = None
    weight_buffer_kib: float | None = None
    input_buffer_kib: float | None = None
    mfu_latency_cycles: int | None = None


class _DRAMFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: str | None = None
    bandwidth_mb_s: int | None = None


class _EPURFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    n_cu: int | None = None
    freq_mhz: int | None = None
    tech_nm: int | None = None
    data_bits: int | None = None
    intermediate_memory_kib: float | None = None
    energy_table: str | None = None
    cu: _CUFile = _CUFile()
    dram: _DRAMFile = _DRAMFile()


def _set(model: BaseModel) -> dict[str, object]:
    return {k: v for k, v in model.model_dump().items() if v is not None and not isinstance(v, dict)}


def load_config(path: str | Path) -> EPURConfig:
    """Parse a TOML file (keys of :class:`EPURConfig`, tables ``[cu]`` and ``[dram]``); unknown keys raise."""
    from rnnaccel.configfile import load_config_file  # errors name the file and the key

    raw = load_config_file(path, _EPURFile, "E-PUR config")
    return EPURConfig(cu=ComputeUnitConfig(**_set(raw.cu)), dram=DRAMConfig(**_set(raw.dram)), **_set(raw))
