"""Design-space exploration speed: vectorized grid model vs a naive per-point loop over the scalar model.

Same grid (configs/explore_default.toml unless --config), same power model. The vectorized run
evaluates every point; the naive peer evaluates a random sample (--naive-points) one CirculantDesign at a
time and its rate is extrapolated. Prints both rates and their ratio; writes
benchmarks/results/bench_explore.json.

    python benchmarks/bench_explore.py [--config FILE] [--naive-points 2000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from rnnaccel.explore import build_points, load_explore_config, shapes_for
from rnnaccel.hw.fpga import CirculantDesign, evaluate_circulant
from rnnaccel.hw.fpga.compare import ese_calibrated_power
from rnnaccel.hw.fpga.vector import DESIGN_COLUMNS, evaluate_grid
from rnnaccel.hw.spec import fpga_device

ROOT = Path(__file__).resolve().parents[1]


def _vectorized(points, shapes, devices, power, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_grid(points, shapes, devices, power)
        best = min(best, time.perf_counter() - start)
    return points["cell"].size / best


def _naive(points, shapes, devices, power, sample: np.ndarray) -> float:
    start = time.perf_counter()
    for i in sample:
        fields = {k: (float(points[k][i]) if k == "freq_mhz" else int(points[k][i])) for k in DESIGN_COLUMNS}
        evaluate_circulant(
            shapes[points["cell"][i]], CirculantDesign(**fields), devices[points["device"][i]], power
        )
    return sample.size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "configs" / "explore_default.toml"))
    parser.add_argument("--naive-points", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cfg = load_explore_config(args.config)
    points = build_points(cfg)
    shapes = shapes_for(cfg.model, cfg.sweep.cell)
    devices = tuple(fpga_device(n) for n in cfg.sweep.device)
    power = ese_calibrated_power()
    sample = np.random.default_rng(0).choice(points["cell"].size, args.naive_points, replace=False)
    vec = _vectorized(points, shapes, devices, power, args.repeats)
    naive = _naive(points, shapes, devices, power, sample)
    result = {
        "config": args.config,
        "points": int(points["cell"].size),
        "vectorized_points_per_s": vec,
        "naive_points_per_s": naive,
        "naive_points_timed": args.naive_points,
        "speedup": vec / naive,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
    }
    print(
        f"{result['points']} points: vectorized {vec:,.0f} points/s, naive per-point loop {naive:,.0f} "
        f"points/s, ratio {vec / naive:.0f}x"
    )
    out = ROOT / "benchmarks" / "results" / "bench_explore.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
