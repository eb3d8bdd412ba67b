"""Vectorized twin of the scalar block-circulant model: numpy over all design points at once.

Same formulas as :mod:`rnnaccel.hw.fpga.model`, in closed form (no per-point Python loop; the only
loops run over the cells and layers of the network, a handful of iterations). ``tests/fpga`` checks it
point by point against the scalar model. Points are columns: a dict of equal-length integer arrays
with the fields of :class:`~rnnaccel.hw.fpga.design.CirculantDesign` plus ``cell`` (index into
``shapes``) and ``device`` (index into ``devices``).
"""

from __future__ import annotations

import numpy as np

from rnnaccel.hw.fpga.calibration import default_costs
from rnnaccel.hw.fpga.design import LogicCosts
from rnnaccel.hw.fpga.model import elem_depth, elem_unit
from rnnaccel.hw.fpga.power import PowerModel
from rnnaccel.hw.fpga.workload import RnnShape, layer_work
from rnnaccel.hw.spec import FpgaDevice

__all__ = ["DESIGN_COLUMNS", "evaluate_grid"]

DESIGN_COLUMNS = (
    "block_gate", "block_proj", "pe_gate", "lanes_gate", "pe_proj", "lanes_proj", "elem_lanes", "ii",
    "weight_bits", "data_bits", "complex_mult", "freq_mhz",
)


def _cdiv(a, b):
    return -(-a // b)


def _log2(k):
    return np.round(np.log2(k)).astype(np.int64)


def _bins(k):
    return np.where(k == 1, 1, 2), np.where(k == 1, 0, k // 2 - 1)


def _combine(cm):
    return np.where(cm == 4, 2, 5)


def _fft_counts(k):
    """(butterflies, nontrivial twiddles) of a radix-2 FFT-k: (k/2) log2 k and (log2 k - 3) k/2 + 2."""
    lg = _log2(k)
    return (k // 2) * lg, np.where(k > 1, (lg - 3) * k // 2 + 2, 0)


def _bram18(width, depth, configs) -> np.ndarray:
    """Best aspect ratio, tiled: min over configs of ceil(w / cw) * ceil(d / cd) (0 when depth is 0)."""
    counts = [_cdiv(width, cw) * _cdiv(depth, cd) for cd, cw in configs]
    return np.where(depth > 0, np.min(np.stack(counts), axis=0), 0)


def _dsp_per_mult(a_bits, b_bits, port_a, port_b, pack):
    wide, narrow = np.maximum(a_bits, b_bits), np.minimum(a_bits, b_bits)
    return np.where(wide <= pack, 0.5, _cdiv(wide, port_a) * _cdiv(narrow, port_b))


def _rounds(rows, cols, k, pe, lanes):
    q = sum(_cdiv(c, k) for c in cols)
    return _cdiv(q, pe) * _cdiv(_cdiv(rows, k), lanes), _cdiv(rows, k), q


def _stage(rows, cols, k, pe, lanes, ii, costs: LogicCosts):
    rounds, _, _ = _rounds(rows, cols, k, pe, lanes)
    tree = np.ceil(np.log2(pe)).astype(int)
    stages = _log2(k)
    fft = np.minimum(stages, 2) + costs.fft_stage_cycles * np.maximum(0, stages - 2)  # model.fft_depth
    depth = 2 * fft + costs.mac_pipeline_cycles + tree
    return rounds * ii + depth if rows else np.zeros_like(pe)


def _ops(rows, cols, k):
    if not rows:
        return np.zeros_like(k)
    _, p, q = _rounds(rows, cols, k, 1, 1)
    real, cplx = _bins(k)
    bfly, twid = _fft_counts(k)
    return p * q * (2 * real + 8 * cplx) + (p + q) * (4 * bfly + 6 * twid) * (k > 1)


def _timing(shape: RnnShape, c: dict, costs: LogicCosts):
    """(cycles per frame, latency cycles, actual ops) summed over layer-directions."""
    cycles = latency = ops = 0
    for w in layer_work(shape):
        cols = (w.in_x, w.in_r)
        gate = _stage(w.gate_rows, cols, c["block_gate"], c["pe_gate"], c["lanes_gate"], c["ii"], costs)
        elem = _cdiv(w.hidden, c["elem_lanes"]) + elem_depth(w, costs)
        proj = _stage(w.proj, (w.hidden,), c["block_proj"], c["pe_proj"], c["lanes_proj"], c["ii"], costs)
        cycles = cycles + np.maximum(np.maximum(gate, elem), proj)
        latency = latency + gate + elem + proj
        ops = ops + _ops(w.gate_rows, cols, c["block_gate"]) + _ops(w.proj, (w.hidden,), c["block_proj"])
    return cycles, latency, ops


def _bank(c: dict, k, pe, lanes):
    """(wide mults, data mults, adder bits, register bits) of one MAC bank with its FFT units."""
    acc = c["weight_bits"] + c["data_bits"]
    real, cplx = _bins(k)
    comb = _combine(c["complex_mult"])
    mults = pe * lanes * _cdiv(real + c["complex_mult"] * cplx, c["ii"])
    adders = pe * lanes * _cdiv(real + cplx * (comb + 2), c["ii"]) + lanes * (pe - 1) * _cdiv(k, c["ii"])
    bfly, twid = _fft_counts(k)
    units = (pe + lanes) * (k > 1)
    fft_mults = units * _cdiv(twid * c["complex_mult"], c["ii"])
    fft_adder_bits = units * _cdiv(4 * bfly + comb * twid, c["ii"]) * c["data_bits"]
    return mults, fft_mults, adders * acc + fft_adder_bits, mults * acc


def _weights_bram(works, c, k, pe, lanes, configs):
    depth = sum(_rounds(rows, cols, k, pe, lanes)[0] for rows, cols in works if rows) * c["ii"]
    if isinstance(depth, int):
        return np.zeros_like(pe)
    width = _cdiv(k * c["weight_bits"], c["ii"])  # arith.stored_values: k per block
    return pe * lanes * _bram18(width, depth, configs)


def _buffers_bram(shape: RnnShape, c: dict, per: int):
    w = max(layer_work(shape), key=lambda lw: lw.in_x)
    bits = c["data_bits"]
    xy = np.maximum(c["pe_gate"], _cdiv(2 * (w.in_x + w.in_r) * bits, per))
    gates = np.maximum(c["lanes_gate"], _cdiv(2 * w.gate_rows * bits, per))
    state = 2 * _cdiv(2 * w.hidden * bits, per)
    proj_in = np.maximum(c["pe_proj"], _cdiv(2 * w.hidden * bits, per)) if w.proj else 0
    return xy + gates + state + proj_in


def _resources(shape: RnnShape, c: dict, dev_cols: dict, configs, costs: LogicCosts):
    """(DSP, RAMB18, LUT, FF) arrays for the points ``c`` of one network shape."""
    m1, f1, a1, r1 = _bank(c, c["block_gate"], c["pe_gate"], c["lanes_gate"])
    no_proj = (0, 0, 0, 0)
    m2, f2, a2, r2 = _bank(c, c["block_proj"], c["pe_proj"], c["lanes_proj"]) if shape.proj_size else no_proj
    e_mults, e_adders, e_acts = elem_unit(shape.cell, shape.peepholes)
    lanes, bits = c["elem_lanes"], c["data_bits"]
    adder_bits = a1 + a2 + lanes * e_adders * bits
    reg_bits = r1 + r2 + lanes * (e_mults + e_adders) * bits
    luts = (adder_bits * costs.lut_per_adder_bit + lanes * e_acts * bits * costs.lut_per_pwl_bit) * (
        1 + costs.control_overhead)
    ffs = (adder_bits + reg_bits) * costs.ff_per_reg_bit * (1 + costs.control_overhead)
    port_a, port_b, pack = dev_cols["port_a"], dev_cols["port_b"], dev_cols["pack"]
    dsp = np.ceil((m1 + m2) * _dsp_per_mult(c["weight_bits"], bits, port_a, port_b, pack)
                  + ((f1 + f2) * costs.fft_dsp_per_mult + lanes * e_mults)
                  * _dsp_per_mult(bits, bits, port_a, port_b, pack))
    works = layer_work(shape)
    bram = (_weights_bram([(w.gate_rows, (w.in_x, w.in_r)) for w in works], c, c["block_gate"], c["pe_gate"],
                          c["lanes_gate"], configs)
            + _weights_bram([(w.proj, (w.hidden,)) for w in works], c, c["block_proj"], c["pe_proj"],
                            c["lanes_proj"], configs)
            + _buffers_bram(shape, c, dev_cols["bram_bits"]) + costs.shell_bram18)
    return (dsp.astype(np.int64), bram.astype(np.int64), np.ceil(luts).astype(np.int64) + costs.shell_luts,
            np.ceil(ffs).astype(np.int64) + costs.shell_ffs)


def _device_columns(devices: tuple[FpgaDevice, ...], idx: np.ndarray, power: PowerModel) -> dict:
    def col(fn):
        return np.array([fn(d) for d in devices])[idx]

    return {
        "port_a": col(lambda d: d.dsp.mult_a_bits), "port_b": col(lambda d: d.dsp.mult_b_bits),
        "pack": col(lambda d: d.dsp.pack2_max_bits), "bram_bits": devices[0].bram.bits_per_bram18,
        "dsp_avail": col(lambda d: d.dsp_slices), "bram18_avail": col(lambda d: d.bram18_blocks),
        "luts_avail": col(lambda d: d.luts), "ffs_avail": col(lambda d: d.ffs),
        "static_w": col(lambda d: power.static_w(d.name)),
    }


def _check_columns(points: dict, n_shapes: int, n_devices: int) -> int:
    missing = [name for name in (*DESIGN_COLUMNS, "cell", "device") if name not in points]
    if missing:
        raise ValueError(f"design points lack columns {missing}")
    sizes = {np.shape(points[name]) for name in (*DESIGN_COLUMNS, "cell", "device")}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ValueError(f"design columns must be 1-D arrays of one length, got shapes {sorted(sizes)}")
    if points["cell"].size and (points["cell"].max() >= n_shapes or points["device"].max() >= n_devices):
        raise ValueError("cell/device indices out of range of the given shapes/devices")
    return next(iter(sizes))[0]


def evaluate_grid(
    points: dict[str, np.ndarray],
    shapes: tuple[RnnShape, ...],
    devices: tuple[FpgaDevice, ...],
    power: PowerModel,
    costs: LogicCosts | None = None,
) -> dict[str, np.ndarray]:
    """Resources, timing, throughput, power of every point; returns new columns of the same length."""
    costs = costs or default_costs()
    n = _check_columns(points, len(shapes), len(devices))
    devs = {d.bram.configs for d in devices}
    if len(devs) != 1:
        raise ValueError("all devices in one grid must share the RAMB18 aspect-ratio table")
    keys = ("dsp", "bram18", "luts", "ffs", "cycles", "latency", "ops")
    out = {key: np.zeros(n, dtype=np.int64) for key in keys}
    dense_ops = np.zeros(n, dtype=np.int64)
    for s_idx, shape in enumerate(shapes):
        mask = points["cell"] == s_idx
        c = {key: np.asarray(points[key])[mask] for key in DESIGN_COLUMNS}
        dev_cols = _device_columns(devices, np.asarray(points["device"])[mask], power)
        res = _resources(shape, c, dev_cols, next(iter(devs)), costs)
        for key, value in zip(("dsp", "bram18", "luts", "ffs"), res, strict=True):
            out[key][mask] = value
        for key, value in zip(("cycles", "latency", "ops"), _timing(shape, c, costs), strict=True):
            out[key][mask] = value
        dense_ops[mask] = shape.dense_ops
    return _derived(points, out, dense_ops, devices, power)


def _derived(points: dict, out: dict, dense_ops, devices, power: PowerModel) -> dict[str, np.ndarray]:
    dev = _device_columns(devices, np.asarray(points["device"]), power)
    freq = np.asarray(points["freq_mhz"], dtype=float)
    fps = freq * 1e6 / out["cycles"]
    watts = dev["static_w"] + power.dynamic_w(out["dsp"], out["bram18"], out["luts"], out["ffs"], freq)
    fracs = {f"{key}_frac": out[col] / dev[f"{col}_avail"]
             for key, col in (("dsp", "dsp"), ("bram", "bram18"), ("lut", "luts"), ("ff", "ffs"))}
    fits = np.all(np.stack(list(fracs.values())) <= 1.0, axis=0)
    return {
        "dsp": out["dsp"], "bram18": out["bram18"], "luts": out["luts"], "ffs": out["ffs"], **fracs,
        "fits": fits, "cycles_per_frame": out["cycles"], "latency_cycles": out["latency"],
        "frames_per_s": fps, "latency_us": out["latency"] / freq, "gops": out["ops"] * fps / 1e9,
        "dense_gops": dense_ops * fps / 1e9, "power_w": watts, "frames_per_s_per_w": fps / watts,
    }
