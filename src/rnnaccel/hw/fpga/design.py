"""Design points of the analytical FPGA model: block-circulant (C-LSTM / E-RNN) and sparse (ESE).

A block-circulant design (E-RNN Phase II, C-LSTM kernel) has, per mat-vec stage, ``pe`` PEs that each
take one input block (FFT-k), multiply it against ``lanes`` output blocks in parallel (complex MAC
bank over the k/2+1 bins, weights pre-transformed in BRAM), accumulate in the frequency domain across
PEs and run one IFFT-k per output block. Stage 1 = gate mat-vec, stage 2 = elementwise (peepholes,
bias, PWL sigmoid/tanh, cell update), stage 3 = projection; double buffers between stages let the
three work on different frames. Block size 1 is the dense design (no FFT; one real MAC per weight).

A sparse design (ESE, Han et al. FPGA 2017) has ``channels`` independent copies, each of
``pes_per_channel`` PEs doing one sparse MAC per cycle on the nonzeros, shared by all mat-vecs; the
busiest PE sets the pace (``imbalance`` = max/mean nonzeros per PE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnnaccel.hw.fpga.arith import log2_block

__all__ = ["CirculantDesign", "LogicCosts", "SparseDesign", "imbalance_from_counts", "imbalance_gaussian"]


def _positive(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _bits(obj: object, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        if not isinstance(value, int) or not 2 <= value <= 32:
            raise ValueError(f"{name} must be an integer in [2, 32], got {value!r}")


@dataclass(frozen=True)
class LogicCosts:
    """LUT/FF/BRAM costs that are not DSPs or weight memories. All [assumed] unless noted.

    One LUT per sum bit of an adder is [D] (carry-chain mapping); the rest are round engineering
    figures, exposed so that a sweep or a calibration can change them.
    """

    lut_per_adder_bit: float = 1.0
    ff_per_reg_bit: float = 1.0
    lut_per_pwl_bit: float = 4.0
    control_overhead: float = 0.25
    shell_luts: int = 20_000
    shell_ffs: int = 30_000
    shell_bram18: int = 40
    fft_stage_cycles: int = 2
    mac_pipeline_cycles: int = 4
    elem_pipeline_cycles: int = 8
    fft_dsp_per_mult: float = 1.0  # DSPs per FFT/IFFT twiddle multiply (< 1: some map to LUTs)


@dataclass(frozen=True)
class CirculantDesign:
    """A block-circulant (or, with block 1, dense) design with the 3-stage coarse-grained pipeline."""

    block_gate: int = 8
    block_proj: int = 8
    pe_gate: int = 8
    lanes_gate: int = 16
    pe_proj: int = 4
    lanes_proj: int = 8
    elem_lanes: int = 32
    ii: int = 1
    weight_bits: int = 16
    data_bits: int = 16
    complex_mult: int = 4
    freq_mhz: float = 200.0
    name: str = "circulant"

    def __post_init__(self) -> None:
        log2_block(self.block_gate, "block_gate")
        log2_block(self.block_proj, "block_proj")
        _positive(self, ("pe_gate", "lanes_gate", "pe_proj", "lanes_proj", "elem_lanes", "ii"))
        _bits(self, ("weight_bits", "data_bits"))
        if self.complex_mult not in (3, 4):
            raise ValueError(f"complex_mult must be 3 (Gauss) or 4 (schoolbook), got {self.complex_mult!r}")
        if not self.freq_mhz > 0:
            raise ValueError(f"freq_mhz must be > 0, got {self.freq_mhz!r}")


@dataclass(frozen=True)
class SparseDesign:
    """An ESE-style sparse design: pruned weights (CSC with relative indices) streamed from DDR."""

    channels: int = 32
    pes_per_channel: int = 32
    density: float = 282 / 2520
    imbalance: float = 1.0
    weight_bits: int = 12
    index_bits: int = 4
    data_bits: int = 16
    elem_lanes: int = 1
    weights_in_ddr: bool = True
    freq_mhz: float = 200.0
    name: str = "sparse"

    def __post_init__(self) -> None:
        _positive(self, ("channels", "pes_per_channel", "elem_lanes"))
        _bits(self, ("weight_bits", "data_bits"))
        if not 0 < self.density <= 1:
            raise ValueError(f"density must be in (0, 1], got {self.density!r}")
        if not self.imbalance >= 1:
            raise ValueError(f"imbalance (max/mean nonzeros per PE) must be >= 1, got {self.imbalance!r}")
        if not 0 <= self.index_bits <= 16:
            raise ValueError(f"index_bits must be in [0, 16], got {self.index_bits!r}")
        if not self.freq_mhz > 0:
            raise ValueError(f"freq_mhz must be > 0, got {self.freq_mhz!r}")

    @property
    def utilization(self) -> float:
        """Fraction of MAC slots doing useful work: 1 / imbalance."""
        return 1.0 / self.imbalance


def imbalance_from_counts(nnz_per_pe: list[int] | tuple[int, ...]) -> float:
    """max/mean of the nonzeros each PE holds: the busiest PE sets the pace (ESE Sec. 3)."""
    counts = list(nnz_per_pe)
    if not counts or min(counts) < 0 or sum(counts) == 0:
        raise ValueError(f"need a non-empty list of non-negative counts with a positive sum, got {counts!r}")
    return max(counts) / (sum(counts) / len(counts))


def imbalance_gaussian(cv: float, pes: int) -> float:
    """E[max]/mean of ``pes`` i.i.d. per-PE loads with coefficient of variation ``cv``:
    1 + cv * sqrt(2 ln n), the Gaussian extreme-value approximation (cv = 0: perfect balance)."""
    if cv < 0 or pes < 1:
        raise ValueError(f"need cv >= 0 and pes >= 1, got cv={cv!r}, pes={pes!r}")
    return 1.0 + cv * math.sqrt(2.0 * math.log(pes)) if pes > 1 else 1.0
