"""NVIDIA Tegra X1 baseline as a roofline (batch 1), for the speedup and energy ratios of E-PUR.

Public specs (papers.md): 256 Maxwell cores at ~1 GHz, ≈1 TFLOP/s FP16 (≈512 GFLOP/s FP32), LPDDR4 at
25.6 GB/s. Power: the Jetson TX1 datasheet range is 6–15 W and NVIDIA quoted a ~10 W envelope for the
chip at launch; we **assume** 10 W while running the LSTM (SoC + DRAM). The per-kernel launch overhead
(GEMV + elementwise kernel per layer and timestep) and the compute efficiency are **assumed** parameters.
Weights (FP16) are re-read from DRAM every timestep unless they fit the 256 KiB GPU L2 cache.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnaccel.hw.epur.networks import NetworkSpec, layer_params
from rnnaccel.shape import RnnShape

__all__ = ["TegraX1", "BaselineResult", "tegra_x1"]


@dataclass(frozen=True)
class TegraX1:
    peak_gflops: float = 1024.0        # FP16 (256 cores × 2 × 2 FLOP × 1 GHz)
    bandwidth_gb_s: float = 25.6
    power_w: float = 10.0              # assumed (datasheet 6-15 W)
    launch_us: float = 5.0             # assumed per kernel
    kernels_per_step: int = 2          # assumed: fused-gate GEMV + elementwise
    compute_efficiency: float = 1.0    # fraction of peak reached by a GEMV (assumed: peak, optimistic)
    l2_kib: float = 256.0
    data_bytes: int = 2

    def __post_init__(self) -> None:
        for name in ("peak_gflops", "bandwidth_gb_s", "power_w", "compute_efficiency", "l2_kib"):
            if getattr(self, name) <= 0:
                raise ValueError(f"TegraX1.{name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class BaselineResult:
    seconds: float
    energy_j: float
    memory_bound_steps: int
    total_steps: int


def _layer_step(layer: RnnShape, gpu: TegraX1) -> tuple[float, bool, float]:
    """(seconds per timestep and direction, memory-bound?, weight bytes) — dense FP16 weights."""
    g, n, m, r, p = layer.gates, layer.hidden_size, layer.input_size, layer.recurrent_size, layer.proj_size
    w_vals = layer_params(layer) // layer.directions
    flops = 2 * (g * n * (m + r) + p * n) + 10 * n
    wbytes = w_vals * gpu.data_bytes
    traffic = (0 if wbytes <= gpu.l2_kib * 1024 else wbytes) + (m + r) * gpu.data_bytes
    t_mem = traffic / (gpu.bandwidth_gb_s * 1e9)
    t_cmp = flops / (gpu.peak_gflops * 1e9 * gpu.compute_efficiency)
    return max(t_mem, t_cmp) + gpu.kernels_per_step * gpu.launch_us * 1e-6, t_mem > t_cmp, wbytes


def tegra_x1(network: NetworkSpec, gpu: TegraX1 | None = None) -> BaselineResult:
    """Time and energy of one sequence of ``network`` on the modelled Tegra X1 (dense weights: the
    GPU baseline runs the uncompressed model even when E-PUR runs a block-circulant one)."""
    gpu = gpu or TegraX1()
    dense = network.with_block_size(1)
    secs, mem, steps = 0.0, 0, 0
    for layer in dense.layers:
        t, bound, _ = _layer_step(layer, gpu)
        secs += t * network.seq_len * layer.directions
        mem += network.seq_len * layer.directions * int(bound)
        steps += network.seq_len * layer.directions
    return BaselineResult(secs, secs * gpu.power_w, mem, steps)
