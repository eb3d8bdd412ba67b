"""Benchmark: E-PUR analytical simulator speed, and its naive per-cycle twin on a small layer.

Target (issue 6): simulating RLDRADSPR (10 layers x 1024 cells, 1,000 timesteps) in <= 1 s. The naive
twin walks every DPU cycle; its time per simulated cycle, measured on a small layer, is used to
extrapolate (not run) its time on RLDRADSPR. Also records the per-network table (MWL on/off, Tegra X1).
Writes benchmarks/results/bench_epur.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from rnnaccel.hw.epur import (
    NETWORK_NAMES,
    EPURConfig,
    evaluate,
    get_network,
    simulate,
    simulate_layer,
)
from rnnaccel.hw.epur.naive import naive_simulate_layer
from rnnaccel.hw.epur.report import write_json
from rnnaccel.shape import RnnShape


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _network_rows() -> list[dict]:
    rows = []
    for name in NETWORK_NAMES:
        for mwl in (False, True):
            s = evaluate(simulate(get_network(name), mwl=mwl)).summary()
            s.pop("layers")
            rows.append(s)
    return rows


def main() -> None:
    torch.set_num_threads(1)
    net, cfg = get_network("rldradspr"), EPURConfig()
    t_fast = _best(lambda: simulate(net, cfg, mwl=True), 5)
    t_eval = _best(lambda: evaluate(simulate(net, cfg, mwl=True)), 3)
    small = RnnShape("lstm", 64, 64)
    t_small_naive = _best(lambda: naive_simulate_layer(small, cfg, 50, True), 1)
    t_small_fast = _best(lambda: simulate_layer(small, cfg, 50, True), 5)
    small_cycles = sum(p.counts["dpu.cycle"] for p in simulate_layer(small, cfg, 50, True).phases)
    big_cycles = simulate(net, cfg, mwl=True).counts()["dpu.cycle"]
    naive_extrapolated = t_small_naive / small_cycles * big_cycles
    out = {
        "rldradspr_simulate_s": t_fast, "rldradspr_simulate_and_energy_s": t_eval, "target_s": 1.0,
        "small_layer": "lstm 64->64, 50 steps", "small_naive_s": t_small_naive, "small_fast_s": t_small_fast,
        "small_speedup": t_small_naive / t_small_fast,
        "naive_rldradspr_extrapolated_s": naive_extrapolated,
        "rldradspr_speedup_extrapolated": naive_extrapolated / t_fast,
        "networks": _network_rows(),
    }
    write_json(out, Path(__file__).parent / "results" / "bench_epur.json")
    print(json.dumps({k: v for k, v in out.items() if k != "networks"}, indent=2))


if __name__ == "__main__":
    main()
