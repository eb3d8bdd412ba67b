"""Benchmark: block-circulant Google LSTM (153 in, 1024 cells, 512 proj, peepholes) vs dense torch.nn.LSTM.

Times, in one run and interleaved with the dense peer (median of several repetitions):
  (i) batch-1 frame-by-frame streaming (one ``forward`` per frame, state carried: the latency case);
 (ii) batch-32 whole-sequence inference.
Prints µs/frame, the speedup and the multiply-count ratio from ``rnnaccel.nn.mults_per_frame``
(papers.md: 1.33x, 3.2x, 7.1x at k = 4, 8, 16), and writes benchmarks/results/bench_layers.json.
For batch-1 streaming it also splits the time per frame into the compiled kernel alone (numba, called on
prepared arrays) and the rest (Python/torch work of ``forward``), and records CPU time (thread time,
which excludes time the process waits for a core on a loaded machine) beside wall time.
Compile time is excluded: every model runs a warm-up first (numba caches compiled code on disk).

    python benchmarks/bench_layers.py [--quick] [--threads 1] [--torch-path]
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import click
import numpy as np
import torch

from rnnaccel.nn import LSTM, _fused, mults_per_frame
from rnnaccel.nn._nbplan import load_kernels

SHAPE = {"input_size": 153, "hidden_size": 1024, "proj_size": 512}
PAPER_RATIO = {4: 1.33, 8: 3.2, 16: 7.1}
RESULTS = Path(__file__).parent / "results" / "bench_layers.json"


def _stream_us(model: torch.nn.Module, frames: torch.Tensor) -> tuple[float, float]:
    state = None
    start, cpu = time.perf_counter(), time.thread_time()
    for t in range(frames.shape[0]):
        _, state = model(frames[t:t + 1], state)
    return _per_frame(start, cpu, frames.shape[0])


def _whole_us(model: torch.nn.Module, seq: torch.Tensor) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.thread_time()
    model(seq)
    return _per_frame(start, cpu, seq.shape[0] * seq.shape[1])


def _per_frame(start: float, cpu: float, frames: int) -> tuple[float, float]:
    return ((time.perf_counter() - start) / frames * 1e6, (time.thread_time() - cpu) / frames * 1e6)


class _KernelOnly:
    """The compiled kernel of a 1-layer LSTM on fixed numpy arrays: the floor without Python work."""

    def __init__(self, model: LSTM, width: int) -> None:
        self.plan = model.layers[0][0]._fast_cache[1].compiled
        dtype = np.float32
        self.x = np.random.default_rng(0).standard_normal((1, 1, width)).astype(dtype)
        self.states = (np.zeros((1, 1, self.plan.out), dtype), np.zeros((1, 1, self.plan.hidden), dtype))
        self.y = np.empty((1, 1, self.plan.out), dtype)
        self.lens = np.ones(1, np.int64)

    def __call__(self, _model: None, frames: torch.Tensor) -> tuple[float, float]:
        start, cpu, plan, x_t = time.perf_counter(), time.thread_time(), self.plan, torch.from_numpy(self.x)
        for _ in range(frames.shape[0]):  # state carried in place: h, c are input and output
            plan.kernel(self.x, x_t, self.states, (self.y, 0), self.states, 0, self.lens, False)
        return _per_frame(start, cpu, frames.shape[0])


def _models() -> dict[str, torch.nn.Module]:
    models = {"dense": torch.nn.LSTM(**SHAPE).eval()}
    for k in PAPER_RATIO:
        models[f"k={k}"] = LSTM(**SHAPE, peephole=True, block_size=k).eval()
    return models


def _measure(models: dict, case: str, data: torch.Tensor, reps: int) -> dict[str, dict[str, float]]:
    timers = {name: (_stream_us if case == "stream" else _whole_us) for name in models}
    entries = dict(models)
    for name, model in models.items():  # warm-up (numba compile/cache load, plan caches, allocator)
        timers[name](model, data[:4])
        plans = None if name == "dense" else model.layers[0][0]._fast_cache[1]
        if case == "stream" and plans is not None and plans.pick(data[:1]) is plans.compiled:
            entries[f"{name} kernel"], timers[f"{name} kernel"] = None, _KernelOnly(model, data.shape[-1])
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in entries}
    for _ in range(reps):  # interleaved, so load changes hit all models alike
        for name, model in entries.items():
            samples[name].append(timers[name](model, data))
    return {name: {"wall": statistics.median(s[0] for s in v), "cpu": statistics.median(s[1] for s in v)}
            for name, v in samples.items()}


def _rows(times: dict[str, dict[str, dict[str, float]]]) -> list[dict]:
    dense_mults = mults_per_frame("lstm", **SHAPE)
    rows = []
    for k in PAPER_RATIO:
        name = f"k={k}"
        ratio = dense_mults / mults_per_frame("lstm", **SHAPE, block_size=k)
        row = {"block_size": k, "mult_ratio": ratio, "paper_mult_ratio": PAPER_RATIO[k]}
        for case, t in times.items():
            for clock in ("wall", "cpu"):
                sfx = "" if clock == "wall" else "_cpu"
                row[f"{case}_us_per_frame{sfx}"] = t[name][clock]
                row[f"{case}_dense_us_per_frame{sfx}"] = t["dense"][clock]
                row[f"{case}_speedup{sfx}"] = t["dense"][clock] / t[name][clock]
                if f"{name} kernel" in t:
                    row[f"{case}_kernel_us_per_frame{sfx}"] = t[f"{name} kernel"][clock]
        rows.append(row)
    return rows


def _write_json(payload: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2)
    os.replace(tmp, RESULTS)


def _echo_table(rows: list[dict], sfx: str) -> None:
    click.echo("| k | mults ratio (paper) | b1 stream µs/frame (dense) | b1 speedup | b1 kernel µs/frame "
               "(rest of forward) | b32 µs/frame (dense) | b32 speedup |")
    click.echo("|---|---|---|---|---|---|---|")
    for r in rows:
        v = {key.removesuffix(sfx): val for key, val in r.items() if sfx == "" or key.endswith(sfx)}
        kern = v.get("stream_b1_kernel_us_per_frame")
        split = "n/a" if kern is None else f"{kern:.0f} ({v['stream_b1_us_per_frame'] - kern:.0f})"
        click.echo(f"| {r['block_size']} | {r['mult_ratio']:.2f}x ({r['paper_mult_ratio']}x) "
                   f"| {v['stream_b1_us_per_frame']:.0f} ({v['stream_b1_dense_us_per_frame']:.0f}) "
                   f"| {v['stream_b1_speedup']:.2f}x | {split} | {v['whole_b32_us_per_frame']:.1f} "
                   f"({v['whole_b32_dense_us_per_frame']:.1f}) | {v['whole_b32_speedup']:.2f}x |")


@click.command()
@click.option("--quick", is_flag=True, help="Short run (fewer frames and repetitions).")
@click.option("--threads", default=1, show_default=True, help="torch.set_num_threads.")
@click.option("--reps", default=None, type=int, help="Repetitions per model (default 7, quick 3).")
@click.option("--torch-path", is_flag=True, help="Time the torch fused path (what runs without numba).")
def main(quick: bool, threads: int, reps: int | None, torch_path: bool) -> None:
    torch.set_num_threads(threads)
    if torch_path:  # no batch is small enough for the compiled kernels: the path taken when numba is missing
        _fused.MAX_COMPILED_BATCH = 0
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", message="LSTM with projections")
    reps = reps or (3 if quick else 7)
    frames, steps = (40, 10) if quick else (200, 50)
    models = _models()
    load_before = os.getloadavg()
    with torch.inference_mode():
        times = {"stream_b1": _measure(models, "stream", torch.randn(frames, 1, 153), reps),
                 "whole_b32": _measure(models, "whole", torch.randn(steps, 32, 153), reps)}
    rows, compiled = _rows(times), load_kernels() is not None and not torch_path
    click.echo(f"threads={threads} reps={reps} stream frames={frames} whole steps={steps}x32 compiled "
               f"kernels (numba)={compiled} load average {load_before[0]:.1f} -> {os.getloadavg()[0]:.1f}")
    click.echo("µs per frame, wall-clock medians; dense peer = torch.nn.LSTM(153, 1024, proj_size=512), "
               "no peepholes")
    _echo_table(rows, "")
    click.echo("\nsame run, CPU (thread) time medians:")
    _echo_table(rows, "_cpu")
    _write_json({"threads": threads, "reps": reps, "frames": frames, "steps": steps, "quick": quick,
                 "torch": torch.__version__, "compiled_kernels": compiled, "loadavg_1min": load_before[0],
                 "rows": rows})
    click.echo(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
