"""Frozen hardware parameters: the FPGA devices the E-RNN / C-LSTM / ESE line was built on.

Every number carries its unit in the field name; derived quantities are properties; variants are made
with :func:`dataclasses.replace`. Device resource counts follow the Xilinx product tables (DS890
"UltraScale Architecture and Product Overview" for XCKU060, DS180 "7 Series FPGAs Data Sheet: Overview"
for XC7VX690T). They were *not* found in the reference corpus this project could search, so
``counts_confirmed`` is False: treat them as assumed until checked against the datasheet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "BRAM18_CONFIGS",
    "BramSpec",
    "DspSpec",
    "FPGA_DEVICES",
    "FPGA_DEVICE_NAMES",
    "FpgaDevice",
    "fpga_device",
]

# RAMB18 aspect ratios (depth, width): true dual port up to x18, simple dual port x36
# (UG473 for 7 series, UG573 for UltraScale; identical for RAMB18E1/E2).
BRAM18_CONFIGS: tuple[tuple[int, int], ...] = (
    (16384, 1),
    (8192, 2),
    (4096, 4),
    (2048, 9),
    (1024, 18),
    (512, 36),
)


@dataclass(frozen=True)
class DspSpec:
    """One DSP slice: a signed ``mult_a_bits`` x ``mult_b_bits`` multiplier (UG479 / UG579)."""

    name: str
    mult_a_bits: int
    mult_b_bits: int
    # Two multiplies sharing one operand fit one slice when both are <= this width (WP486 INT8 packing).
    pack2_max_bits: int = 8

    def __post_init__(self) -> None:
        if self.mult_a_bits < self.mult_b_bits or self.mult_b_bits < 2:
            raise ValueError(f"DSP ports must satisfy a >= b >= 2, got {self.mult_a_bits}x{self.mult_b_bits}")


@dataclass(frozen=True)
class BramSpec:
    """One block-RAM primitive, counted in 18 Kb halves (a RAMB36 = two RAMB18)."""

    kbits_per_bram18: int = 18
    configs: tuple[tuple[int, int], ...] = BRAM18_CONFIGS

    @property
    def bits_per_bram18(self) -> int:
        return self.kbits_per_bram18 * 1024


@dataclass(frozen=True)
class FpgaDevice:
    """An FPGA part: resource counts, DSP and BRAM primitives, and the board it sat on."""

    name: str
    part: str
    family: str
    dsp: DspSpec
    dsp_slices: int
    bram36_blocks: int
    luts: int
    ffs: int
    source: str
    counts_confirmed: bool = False
    bram: BramSpec = field(default_factory=BramSpec)
    # Board DDR bandwidth, used only by designs that stream weights from DRAM (assumed: 2x DDR3-1600 x64).
    ddr_gbyte_s: float = 25.6

    def __post_init__(self) -> None:
        for name in ("dsp_slices", "bram36_blocks", "luts", "ffs"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)} for {self.part}")

    @property
    def bram18_blocks(self) -> int:
        return 2 * self.bram36_blocks

    @property
    def bram_mbit(self) -> float:
        return self.bram18_blocks * self.bram.bits_per_bram18 / 2**20

    def dsp_per_mult(self, a_bits: int, b_bits: int) -> float:
        """DSP slices for one a x b multiply: 0.5 when two narrow multiplies pack, else the tiling."""
        return dsp_per_mult(self.dsp, a_bits, b_bits)


def dsp_per_mult(dsp: DspSpec, a_bits: int, b_bits: int) -> float:
    """Slices per real multiply: tile the wider operand on the wide port (UG579 / UG479 cascades).

    Tiling ceil(a/A)*ceil(b/B) is an approximation for > 27-bit operands (real decompositions use
    unsigned 26/17-bit chunks); for the <= 18-bit widths used here it is exact: one slice.
    """
    if a_bits < 1 or b_bits < 1:
        raise ValueError(f"multiplier widths must be >= 1, got {a_bits}x{b_bits}")
    if max(a_bits, b_bits) <= dsp.pack2_max_bits:
        return 0.5
    wide, narrow = max(a_bits, b_bits), min(a_bits, b_bits)
    return float(math.ceil(wide / dsp.mult_a_bits) * math.ceil(narrow / dsp.mult_b_bits))


DSP48E2 = DspSpec("DSP48E2", mult_a_bits=27, mult_b_bits=18)
DSP48E1 = DspSpec("DSP48E1", mult_a_bits=25, mult_b_bits=18)

_DEVICES = {
    "ku060": FpgaDevice(
        name="ku060",
        part="XCKU060",
        family="Kintex UltraScale",
        dsp=DSP48E2,
        dsp_slices=2760,
        bram36_blocks=1080,
        luts=331_680,
        ffs=663_360,
        source="Xilinx DS890 UltraScale product table (XCKU060), as given in the project brief; "
        "not confirmed in the searchable corpus",
    ),
    "vx690t": FpgaDevice(
        name="vx690t",
        part="XC7VX690T",
        family="Virtex-7",
        dsp=DSP48E1,
        dsp_slices=3600,
        bram36_blocks=1470,
        luts=433_200,
        ffs=866_400,
        source="Xilinx DS180 7 series product table (XC7VX690T), as given in the project brief; "
        "not confirmed in the searchable corpus",
        ddr_gbyte_s=25.6,
    ),
}

FPGA_DEVICES = MappingProxyType(_DEVICES)
FPGA_DEVICE_NAMES: tuple[str, ...] = tuple(_DEVICES)


def fpga_device(name: str) -> FpgaDevice:
    """Look up a device by short name (``ku060``, ``vx690t``); ValueError names the known ones."""
    try:
        return FPGA_DEVICES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown FPGA device {name!r}; expected one of {list(FPGA_DEVICE_NAMES)}") from None
