"""Benchmark: block-circulant Google LSTM (153 in, 1024 cells, 512 proj, peepholes) vs dense torch.nn.LSTM.

Times, in one run and interleaved with the dense peer (median of several repetitions):
  (i) batch-1 frame-by-frame streaming (one ``forward`` per frame, state carried: the latency case);
 (ii) batch-32 whole-sequence inference.
Prints µs/frame, the speedup and the multiply-count ratio from ``rnnaccel.nn.mults_per_frame``
(papers.md: 1.33x, 3.2x, 7.1x at k = 4, 8, 16), and writes benchmarks/results/bench_layers.json.

    python benchmarks/bench_layers.py [--quick] [--threads 1]
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
import torch

from rnnaccel.nn import LSTM, mults_per_frame

SHAPE = {"input_size": 153, "hidden_size": 1024, "proj_size": 512}
PAPER_RATIO = {4: 1.33, 8: 3.2, 16: 7.1}
RESULTS = Path(__file__).parent / "results" / "bench_layers.json"


def _stream_us(model: torch.nn.Module, frames: torch.Tensor) -> float:
    state = None
    start = time.perf_counter()
    for t in range(frames.shape[0]):
        _, state = model(frames[t:t + 1], state)
    return (time.perf_counter() - start) / frames.shape[0] * 1e6


def _whole_us(model: torch.nn.Module, seq: torch.Tensor) -> float:
    start = time.perf_counter()
    model(seq)
    return (time.perf_counter() - start) / (seq.shape[0] * seq.shape[1]) * 1e6


def _models() -> dict[str, torch.nn.Module]:
    models = {"dense": torch.nn.LSTM(**SHAPE).eval()}
    for k in PAPER_RATIO:
        models[f"k={k}"] = LSTM(**SHAPE, peephole=True, block_size=k).eval()
    return models


def _measure(models: dict, case: str, data: torch.Tensor, reps: int) -> dict[str, float]:
    timer = _stream_us if case == "stream" else _whole_us
    samples: dict[str, list[float]] = {name: [] for name in models}
    for model in models.values():  # warm-up (caches, allocator)
        timer(model, data[:4])
    for _ in range(reps):  # interleaved, so load changes hit all models alike
        for name, model in models.items():
            samples[name].append(timer(model, data))
    return {name: statistics.median(v) for name, v in samples.items()}


def _rows(times: dict[str, dict[str, float]]) -> list[dict]:
    dense_mults = mults_per_frame("lstm", **SHAPE)
    rows = []
    for k in PAPER_RATIO:
        name = f"k={k}"
        ratio = dense_mults / mults_per_frame("lstm", **SHAPE, block_size=k)
        row = {"block_size": k, "mult_ratio": ratio, "paper_mult_ratio": PAPER_RATIO[k]}
        for case, t in times.items():
            row[f"{case}_us_per_frame"] = t[name]
            row[f"{case}_dense_us_per_frame"] = t["dense"]
            row[f"{case}_speedup"] = t["dense"] / t[name]
        rows.append(row)
    return rows


def _write_json(payload: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2)
    os.replace(tmp, RESULTS)


@click.command()
@click.option("--quick", is_flag=True, help="Short run (fewer frames and repetitions).")
@click.option("--threads", default=1, show_default=True, help="torch.set_num_threads.")
@click.option("--reps", default=None, type=int, help="Repetitions per model (default 5, quick 3).")
def main(quick: bool, threads: int, reps: int | None) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", message="LSTM with projections")
    reps = reps or (3 if quick else 5)
    frames, steps = (40, 10) if quick else (200, 50)
    models = _models()
    with torch.inference_mode():
        times = {"stream_b1": _measure(models, "stream", torch.randn(frames, 1, 153), reps),
                 "whole_b32": _measure(models, "whole", torch.randn(steps, 32, 153), reps)}
    rows = _rows(times)
    click.echo(f"threads={threads} reps={reps} stream frames={frames} whole steps={steps}x32 "
               f"(µs per frame; dense peer = torch.nn.LSTM(153, 1024, proj_size=512), no peepholes)")
    click.echo("| k | mults ratio (paper) | b1 stream µs/frame (dense) | b1 speedup "
               "| b32 µs/frame (dense) | b32 speedup |")
    click.echo("|---|---|---|---|---|---|")
    for r in rows:
        click.echo(f"| {r['block_size']} | {r['mult_ratio']:.2f}x ({r['paper_mult_ratio']}x) "
                   f"| {r['stream_b1_us_per_frame']:.0f} ({r['stream_b1_dense_us_per_frame']:.0f}) "
                   f"| {r['stream_b1_speedup']:.2f}x | {r['whole_b32_us_per_frame']:.1f} "
                   f"({r['whole_b32_dense_us_per_frame']:.1f}) | {r['whole_b32_speedup']:.2f}x |")
    _write_json({"threads": threads, "reps": reps, "frames": frames, "steps": steps, "quick": quick,
                 "torch": torch.__version__, "rows": rows})
    click.echo(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
