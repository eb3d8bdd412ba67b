"""Scalar analytical model: resources, cycles, throughput, power of one design point.

This is the readable reference (one design at a time, explicit loops over layers and FFT butterflies);
:mod:`rnnaccel.hw.fpga.vector` evaluates thousands of points at once and is tested against it.

Timing (per layer-direction): stage cycles = rounds * II + pipeline depth, rounds =
ceil(q / PEs) * ceil(p / lanes) block products per lane; the 3-stage pipeline gives throughput
1 / max(stage) and latency sum(stage). Throughput assumes the double-buffered pipeline is kept full
by independent work (other streams, other layers/directions): a single stream's recurrence
(y_t feeds stage 1 of t+1) runs at 1 / latency instead; both are reported.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from rnnaccel.hw.fpga.arith import (
    block_product_adders,
    block_product_mults,
    bram18_for,
    fft_adders,
    fft_nontrivial_twiddles,
    fft_ops,
    freq_bins,
    log2_block,
    stored_values,
)
from rnnaccel.hw.fpga.calibration import default_costs
from rnnaccel.hw.fpga.design import CirculantDesign, LogicCosts, SparseDesign
from rnnaccel.hw.fpga.power import PowerModel
from rnnaccel.hw.fpga.workload import LayerWork, RnnShape, ceil_div, design_blocks, layer_work
from rnnaccel.hw.spec import FpgaDevice

__all__ = ["PWL_CYCLES", "FpgaReport", "Tally", "elem_depth", "elem_unit", "evaluate", "evaluate_circulant",
           "evaluate_sparse", "fft_depth"]


def elem_unit(cell: str, peepholes: bool) -> tuple[int, int, int]:
    """(multipliers, adders, PWL activations) of one elementwise lane (stage 2), per hidden unit.

    LSTM: 5 PWL (slope mult + intercept add), c = f*c + i*g (2 mult, 1 add), m = o*tanh(c) (1 mult),
    4 bias adds, peepholes 3 mult + 3 add. GRU (torch form): 3 PWL, r*(W_hn h + b_hn) (1 mult),
    h' = n + z*(h - n) (1 mult, 2 add), 6 bias adds, 1 add for the gated term.
    """
    if cell == "lstm":
        peep = 3 if peepholes else 0
        return 5 + 3 + peep, 5 + 1 + 4 + peep, 5
    return 3 + 1 + 1, 3 + 2 + 6 + 1, 3


@dataclass
class Tally:
    """Mutable accumulator used while one report is built (never shared)."""

    mults_wide: int = 0  # weight x data multiplies
    mults_data: int = 0  # data x data multiplies (elementwise)
    mults_fft: int = 0  # FFT/IFFT twiddle (data x constant) multiplies
    adder_bits: float = 0.0
    reg_bits: float = 0.0
    pwl_bits: float = 0.0
    bram18: int = 0


@dataclass(frozen=True)
class FpgaReport:
    """Resources, timing, operations and power of one design on one device."""

    name: str
    device: str
    cell: str
    dsp: int
    bram18: int
    luts: int
    ffs: int
    dsp_avail: int
    bram18_avail: int
    luts_avail: int
    ffs_avail: int
    freq_mhz: float
    cycles_per_frame: int
    latency_cycles: int
    frames_per_round: int
    dense_ops: int
    actual_ops: int
    power_w: float
    ddr_gbyte_s: float
    stage_cycles: tuple[int, ...]

    @property
    def fractions(self) -> dict[str, float]:
        return {
            "dsp": self.dsp / self.dsp_avail,
            "bram": self.bram18 / self.bram18_avail,
            "lut": self.luts / self.luts_avail,
            "ff": self.ffs / self.ffs_avail,
        }

    @property
    def fits(self) -> bool:
        return all(value <= 1.0 for value in self.fractions.values())

    @property
    def frames_per_s(self) -> float:
        return self.frames_per_round * self.freq_mhz * 1e6 / self.cycles_per_frame

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.freq_mhz

    @property
    def single_stream_frames_per_s(self) -> float:
        """One stream with its recurrence: the next frame waits for the previous one (1 / latency)."""
        return 1e6 / self.latency_us

    @property
    def gops(self) -> float:
        return self.actual_ops * self.frames_per_s / 1e9

    @property
    def dense_gops(self) -> float:
        return self.dense_ops * self.frames_per_s / 1e9

    @property
    def frames_per_s_per_w(self) -> float:
        return self.frames_per_s / self.power_w

    def to_dict(self) -> dict[str, object]:
        """Fields plus derived figures, JSON-ready."""
        out = asdict(self)
        out["stage_cycles"] = list(self.stage_cycles)
        derived = ("fits", "frames_per_s", "latency_us", "single_stream_frames_per_s", "gops", "dense_gops")
        out.update({key: getattr(self, key) for key in (*derived, "frames_per_s_per_w")})
        out["fractions"] = self.fractions
        return out


def _mat_stage(rows: int, cols: tuple[int, ...], k: int, pe: int, lanes: int) -> tuple[int, int, int]:
    """(p, q, rounds) of one mat-vec stage: q sums the input vectors padded separately."""
    p = ceil_div(rows, k)
    q = sum(ceil_div(c, k) for c in cols)
    return p, q, ceil_div(q, pe) * ceil_div(p, lanes)


PWL_CYCLES = 3  # register stages of one PWL activation (= rnnaccel.rtl.pwl.PWL_LATENCY; a test checks)


def fft_depth(k: int, costs: LogicCosts) -> int:
    """Latency of one FFT-k or IFFT-k, as the RTL builds it: the first two radix-2 stages have the
    trivial twiddles 1 and -j (adds only: one register each), every later stage multiplies
    (``fft_stage_cycles``). Equals :func:`rnnaccel.rtl.fft.fft_latency` (a test checks)."""
    stages = log2_block(k)
    return min(stages, 2) + costs.fft_stage_cycles * max(0, stages - 2)


def elem_depth(w: LayerWork, costs: LogicCosts) -> int:
    """Pipeline of the elementwise stage: the cell's register stages (``elem_pipeline_cycles`` for
    the LSTM cell with peepholes, two fewer for GRU's update) + two PWL levels in series (gates, then
    tanh(c) / the candidate) + one cycle writing h (and c) back + one handing the frame out. The
    RTL's LSTMCellUnit / GRUUpdateUnit latencies + 2 (a test checks)."""
    gru = 2 if w.gate_rows == 3 * w.hidden else 0
    return costs.elem_pipeline_cycles - gru + 2 * PWL_CYCLES + 2


def _stage_depth(k: int, pe: int, costs: LogicCosts) -> int:
    """Pipeline fill of FFT + MAC (read, multiply, accumulate, write into the gate buffer) + IFFT
    + cross-PE adder tree (in the RTL layer top: the ih/hh sum, one register, or the frame load)."""
    return 2 * fft_depth(k, costs) + costs.mac_pipeline_cycles + math.ceil(math.log2(pe))


def _stage_cycles(work: tuple, k: int, pe: int, lanes: int, ii: int, costs: LogicCosts) -> int:
    rows, cols = work
    if rows == 0:
        return 0
    _, _, rounds = _mat_stage(rows, cols, k, pe, lanes)
    return rounds * ii + _stage_depth(k, pe, costs)


def _layer_stages(w: LayerWork, d: CirculantDesign, costs: LogicCosts) -> tuple[int, int, int]:
    gate = _stage_cycles((w.gate_rows, (w.in_x, w.in_r)), d.block_gate, d.pe_gate, d.lanes_gate, d.ii, costs)
    elem = ceil_div(w.hidden, d.elem_lanes) + elem_depth(w, costs)
    proj = _stage_cycles((w.proj, (w.hidden,)), d.block_proj, d.pe_proj, d.lanes_proj, d.ii, costs)
    return gate, elem, proj


def _matvec_ops(rows: int, cols: tuple[int, ...], k: int) -> int:
    """Real operations actually executed: block products in the frequency domain + FFTs + IFFTs."""
    if rows == 0:
        return 0
    p, q, _ = _mat_stage(rows, cols, k, 1, 1)
    real, cplx = freq_bins(k)
    return p * q * (2 * real + 8 * cplx) + (p + q) * fft_ops(k) * (k > 1)


def _mac_bank(t: Tally, k: int, pe: int, lanes: int, d: CirculantDesign) -> None:
    """The complex MAC bank of ``pe`` PEs x ``lanes`` output blocks, its FFT/IFFT units and adder tree."""
    acc_bits = d.weight_bits + d.data_bits
    bank_mults = pe * lanes * ceil_div(block_product_mults(k, d.complex_mult), d.ii)
    t.mults_wide += bank_mults
    t.reg_bits += bank_mults * acc_bits
    bank_adders = pe * lanes * ceil_div(block_product_adders(k, d.complex_mult), d.ii)
    tree_adders = lanes * (pe - 1) * ceil_div(k, d.ii)
    t.adder_bits += (bank_adders + tree_adders) * acc_bits
    if k > 1:
        units = pe + lanes  # one input FFT per PE, one IFFT per output lane
        t.mults_fft += units * ceil_div(fft_nontrivial_twiddles(k) * d.complex_mult, d.ii)
        t.adder_bits += units * ceil_div(fft_adders(k, d.complex_mult), d.ii) * d.data_bits


def _weight_memory(t: Tally, works: tuple, k: int, pe: int, lanes: int, d: CirculantDesign, dev) -> None:
    """Frequency-domain weights: one memory per (PE, lane), one word per block product (per II slice)."""
    depth = sum(_mat_stage(rows, cols, k, pe, lanes)[2] for rows, cols in works if rows) * d.ii
    if depth == 0:
        return
    width = ceil_div(stored_values(k) * d.weight_bits, d.ii)
    t.bram18 += pe * lanes * bram18_for(width, depth, dev.bram)


def _buffers(t: Tally, w: LayerWork, d: CirculantDesign, dev) -> None:
    """Double buffers between stages, banked at least once per reader (PE or lane)."""
    per = dev.bram.bits_per_bram18
    xy = max(d.pe_gate, ceil_div(2 * (w.in_x + w.in_r) * d.data_bits, per))
    gates = max(d.lanes_gate, ceil_div(2 * w.gate_rows * d.data_bits, per))
    state = 2 * ceil_div(2 * w.hidden * d.data_bits, per)  # c and h/m
    proj_in = max(d.pe_proj, ceil_div(2 * w.hidden * d.data_bits, per)) if w.proj else 0
    t.bram18 += xy + gates + state + proj_in


def _elementwise(t: Tally, shape: RnnShape, lanes: int, bits: int, costs: LogicCosts) -> None:
    mults, adders, acts = elem_unit(shape.cell, shape.peepholes)
    t.mults_data += lanes * mults
    t.adder_bits += lanes * adders * bits
    t.reg_bits += lanes * (mults + adders) * bits
    t.pwl_bits += lanes * acts * bits


def _dsp(t: Tally, dev, d, costs: LogicCosts) -> int:
    """DSP slices: weight x data products, FFT twiddle products (``fft_dsp_per_mult`` each), the rest."""
    data = t.mults_data + t.mults_fft * costs.fft_dsp_per_mult
    return math.ceil(t.mults_wide * dev.dsp_per_mult(d.weight_bits, d.data_bits)
                     + data * dev.dsp_per_mult(d.data_bits, d.data_bits))


def _logic(t: Tally, costs: LogicCosts) -> tuple[int, int]:
    """LUTs and FFs from adder/register/PWL bits, plus control overhead and the PCIe/DMA shell."""
    luts = (t.adder_bits * costs.lut_per_adder_bit + t.pwl_bits * costs.lut_per_pwl_bit) * (
        1 + costs.control_overhead
    )
    ffs = (t.adder_bits + t.reg_bits) * costs.ff_per_reg_bit * (1 + costs.control_overhead)
    return math.ceil(luts) + costs.shell_luts, math.ceil(ffs) + costs.shell_ffs


def _report(shape, name, dev, tally, dsp, timing, ops, power, costs, freq, ddr=(0.0, False), rounds=1):
    """Assemble the frozen report: timing = (cycles per round, latency cycles, first layer's stages)."""
    luts, ffs = _logic(tally, costs)
    bram18 = tally.bram18 + costs.shell_bram18
    watts = power.total_w(dev.name, dsp, bram18, luts, ffs, freq, ddr[0], ddr[1])
    return FpgaReport(
        name, dev.name, str(shape.cell), dsp, bram18, luts, ffs, dev.dsp_slices, dev.bram18_blocks, dev.luts,
        dev.ffs, freq, timing[0], timing[1], rounds, ops[0], ops[1], float(watts), ddr[0], timing[2],
    )


def evaluate_circulant(
    shape: RnnShape, d: CirculantDesign, dev: FpgaDevice, power: PowerModel, costs: LogicCosts | None = None
) -> FpgaReport:
    """Resources, cycles, ops and power of a block-circulant (or dense, block 1) design. A shape with
    block sizes must have the design's (a dense shape takes any: the design's are the swept choice)."""
    costs = costs or default_costs()
    _check_blocks(shape, d)
    works = layer_work(shape)
    stages = [_layer_stages(w, d, costs) for w in works]
    t = Tally()
    _mac_bank(t, d.block_gate, d.pe_gate, d.lanes_gate, d)
    if shape.proj_size:
        _mac_bank(t, d.block_proj, d.pe_proj, d.lanes_proj, d)
    _weight_memory(t, tuple((w.gate_rows, (w.in_x, w.in_r)) for w in works), d.block_gate, d.pe_gate,
                   d.lanes_gate, d, dev)
    _weight_memory(t, tuple((w.proj, (w.hidden,)) for w in works), d.block_proj, d.pe_proj,
                   d.lanes_proj, d, dev)
    _buffers(t, max(works, key=lambda w: w.in_x), d, dev)
    _elementwise(t, shape, d.elem_lanes, d.data_bits, costs)
    dsp = _dsp(t, dev, d, costs)
    timing = (sum(max(s) for s in stages), sum(sum(s) for s in stages), stages[0])
    actual = sum(_matvec_ops(w.gate_rows, (w.in_x, w.in_r), d.block_gate)
                 + _matvec_ops(w.proj, (w.hidden,), d.block_proj) for w in works)
    return _report(shape, d.name, dev, t, dsp, timing, (shape.dense_ops, actual), power, costs, d.freq_mhz)


def _check_blocks(shape: RnnShape, d: CirculantDesign) -> None:
    if shape.block_sizes.is_dense:
        return
    gate, proj = design_blocks(shape)
    if gate != d.block_gate or (shape.proj_size and proj != d.block_proj):
        raise ValueError(f"design {d.name!r} has block_gate = {d.block_gate}, block_proj = {d.block_proj} "
                         f"but the network's block sizes are {shape.block_sizes.spec()}")


def _sparse_layer(w: LayerWork, d: SparseDesign, costs: LogicCosts) -> tuple[int, int, int]:
    """(nonzeros, SpMV cycles, elementwise cycles) of one layer-direction on one channel."""
    nnz = math.ceil(d.density * (w.gate_weights + w.proj_weights))
    spmv = math.ceil(nnz * d.imbalance / d.pes_per_channel) + costs.mac_pipeline_cycles
    elem = ceil_div(w.hidden, d.elem_lanes) + costs.elem_pipeline_cycles
    return nnz, spmv, elem


def _sparse_memory(t: Tally, w: LayerWork, d: SparseDesign, dev) -> None:
    """Per PE a weight FIFO (512 deep); partial sums in a RAMB18 shared by two PEs (one port each);
    per channel the activation vector (broadcast to its PEs) and the gate/state buffers, double-buffered."""
    acc_bits = d.weight_bits + d.data_bits
    pes = d.channels * d.pes_per_channel
    fifo = bram18_for(d.weight_bits + d.index_bits, 512, dev.bram)
    rows_per_pe = ceil_div(max(w.gate_rows, w.proj), d.pes_per_channel)
    psum = bram18_for(acc_bits, 2 * rows_per_pe, dev.bram)
    act = bram18_for(d.data_bits, 2 * (w.in_x + w.in_r), dev.bram)
    gates = bram18_for(d.data_bits, 2 * (w.gate_rows + 2 * w.hidden), dev.bram)
    t.bram18 += pes * fifo + ceil_div(pes, 2) * psum + d.channels * (act + gates)


def evaluate_sparse(
    shape: RnnShape, d: SparseDesign, dev: FpgaDevice, power: PowerModel, costs: LogicCosts | None = None
) -> FpgaReport:
    """ESE-style sparse design: SpMV shared by all mat-vecs (gates then projection), elementwise
    overlapped; channels run in lockstep and share each weight fetch from DDR."""
    costs = costs or default_costs()
    works = layer_work(shape)
    layers = [_sparse_layer(w, d, costs) for w in works]
    nnz = sum(n for n, _, _ in layers)
    f_hz = d.freq_mhz * 1e6
    ddr_cycles = math.ceil(nnz * (d.weight_bits + d.index_bits) / 8 / (dev.ddr_gbyte_s * 1e9) * f_hz)
    compute = sum(max(s, e) for _, s, e in layers)
    cycles = max(compute, ddr_cycles if d.weights_in_ddr else 0)
    latency = max(sum(s + e for _, s, e in layers), cycles)
    t = Tally()
    pes = d.channels * d.pes_per_channel
    t.mults_wide += pes
    t.adder_bits += pes * (d.weight_bits + d.data_bits + 2 * 16)  # accumulator + pointer/index adders
    t.reg_bits += pes * 2 * (d.weight_bits + d.data_bits)
    _elementwise(t, shape, d.channels * d.elem_lanes, d.data_bits, costs)
    _sparse_memory(t, max(works, key=lambda w: w.in_x), d, dev)
    dsp = _dsp(t, dev, d, costs)
    gbyte_s = nnz * (d.weight_bits + d.index_bits) / 8 * f_hz / cycles / 1e9 if d.weights_in_ddr else 0.0
    timing = (cycles, latency, (layers[0][1], layers[0][2]))
    ops = (shape.dense_ops, 2 * nnz)
    return _report(shape, d.name, dev, t, dsp, timing, ops, power, costs, d.freq_mhz,
                   (gbyte_s, d.weights_in_ddr), d.channels)


def evaluate(shape: RnnShape, design, dev: FpgaDevice, power: PowerModel, costs: LogicCosts | None = None):
    """Dispatch on the design type."""
    if isinstance(design, CirculantDesign):
        return evaluate_circulant(shape, design, dev, power, costs)
    if isinstance(design, SparseDesign):
        return evaluate_sparse(shape, design, dev, power, costs)
    raise TypeError(f"design must be a CirculantDesign or SparseDesign, got {type(design).__name__}")
