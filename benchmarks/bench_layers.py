"""Benchmark: block-circulant LSTM/GRU (Google LSTM shape 153 -> 1024, 512 projection) vs dense torch.

Times, in one run, interleaved with the dense peers ``torch.nn.LSTM(153, 1024, proj_size=512)`` and
``torch.nn.GRU(153, 1024)`` (medians of ``--reps`` repetitions, wall clock and CPU thread time), at each
thread count of ``--threads``:
  - batch-1 streaming, one frame per call with the state carried: ``model(frame, state)`` ("forward")
    and ``model.streamer().step(frame)`` ("streamer", the compiled step holding the whole state);
  - batch-32 whole-sequence inference (LSTM).
Writes benchmarks/results/bench_layers.json with the machine's load average before and after, the path
each model took (``last_path``) and the issue-15 targets; ``python benchmarks/readme_tables.py``
regenerates the README's speed table from that file. Compile time is excluded (warm-up first).

    python benchmarks/bench_layers.py [--quick] [--threads 1,2] [--reps 7] [--torch-path]
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import click
import torch

from rnnaccel.nn import GRU, LSTM, fast, mults_per_frame

SHAPE = {"input_size": 153, "hidden_size": 1024}
PROJ = 512
BLOCKS = (4, 8, 16)
PAPER_RATIO = {4: 1.33, 8: 3.2, 16: 7.1}
# issue 15: batch-1 streaming speedup at 1 / 2 threads, batch-32 whole-sequence speedup
TARGETS = {"stream": {1: {8: 8.0, 16: 14.0}, 2: {8: 5.0, 16: 9.0}}, "whole_b32": {8: 3.0, 16: 4.0}}
RESULTS = Path(__file__).parent / "results" / "bench_layers.json"


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def _per_frame(start: tuple[float, float], frames: int) -> tuple[float, float]:
    wall, cpu = _clock()
    return (wall - start[0]) / frames * 1e6, (cpu - start[1]) / frames * 1e6


def _forward_stream(model: torch.nn.Module, frames: torch.Tensor) -> tuple[float, float]:
    state, start = None, _clock()
    for t in range(frames.shape[0]):
        _, state = model(frames[t:t + 1], state)
    return _per_frame(start, frames.shape[0])


def _streamer_stream(model: torch.nn.Module, frames: torch.Tensor) -> tuple[float, float]:
    stream = model.streamer()
    rows, start = frames[:, 0], _clock()
    for t in range(rows.shape[0]):
        stream.step(rows[t])
    return _per_frame(start, frames.shape[0])


def _whole(model: torch.nn.Module, seq: torch.Tensor) -> tuple[float, float]:
    start = _clock()
    model(seq)
    return _per_frame(start, seq.shape[0] * seq.shape[1])


def _models(cell: str) -> dict[str, torch.nn.Module]:
    if cell == "lstm":
        models = {"dense": torch.nn.LSTM(**SHAPE, proj_size=PROJ)}
        models |= {f"k={k}": LSTM(**SHAPE, proj_size=PROJ, peephole=True, block_size=k) for k in BLOCKS}
    else:
        models = {"dense": torch.nn.GRU(**SHAPE)}
        models |= {f"k={k}": GRU(**SHAPE, block_size=k) for k in BLOCKS if k > 4}
    return {name: m.eval() for name, m in models.items()}


def _timers(models: dict, case: str) -> dict[str, tuple[torch.nn.Module, Callable]]:
    entries = {}
    for name, model in models.items():
        if case == "whole_b32":
            entries[name] = (model, _whole)
            continue
        entries[name] = (model, _forward_stream)
        if name != "dense" and model.inference_path(batch=1).name == "compiled":
            entries[f"{name} streamer"] = (model, _streamer_stream)
    return entries


def _measure(models: dict, case: str, data: torch.Tensor, reps: int) -> dict[str, dict]:
    entries = _timers(models, case)
    for model, timer in entries.values():  # warm-up: numba cache load, prepared weights, allocator
        timer(model, data[:4])
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in entries}
    for _ in range(reps):  # interleaved, so load changes hit all models alike
        for name, (model, timer) in entries.items():
            samples[name].append(timer(model, data))
    out = {}
    for name, vals in samples.items():
        model = entries[name][0]
        path = "torch.nn dense" if name == "dense" else str(getattr(model, "last_path", None))
        if "streamer" in name:
            path = str(model.streamer().path)
        out[name] = {"wall": statistics.median(v[0] for v in vals),
                     "cpu": statistics.median(v[1] for v in vals), "path": path}
    return out


def _rows(threads: int, cell: str, case: str, times: dict[str, dict]) -> list[dict]:
    dense = mults_per_frame(cell, **SHAPE, proj_size=PROJ if cell == "lstm" else 0)
    rows = []
    for name, t in times.items():
        if name == "dense":
            continue
        k = int(name.split()[0].removeprefix("k="))
        ratio = dense / mults_per_frame(cell, **SHAPE, proj_size=PROJ if cell == "lstm" else 0, block_size=k)
        target = (TARGETS["stream"].get(threads, {}).get(k) if case == "stream_b1"
                  else TARGETS["whole_b32"].get(k) if cell == "lstm" else None)
        speed = times["dense"]["wall"] / t["wall"]
        rows.append({"threads": threads, "cell": cell, "case": case,
                     "impl": "streamer" if "streamer" in name else "forward", "block_size": k,
                     "mult_ratio": ratio, "paper_mult_ratio": PAPER_RATIO[k] if cell == "lstm" else None,
                     "us_per_frame": t["wall"], "us_per_frame_cpu": t["cpu"],
                     "dense_us_per_frame": times["dense"]["wall"],
                     "dense_us_per_frame_cpu": times["dense"]["cpu"],
                     "speedup": speed, "speedup_cpu": times["dense"]["cpu"] / t["cpu"], "path": t["path"],
                     "target": target, "target_met": None if target is None else speed >= target})
    return rows


def _write_json(payload: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=RESULTS.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2)
    os.replace(tmp, RESULTS)


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run_threads(threads: int, frames: int, steps: int, reps: int) -> list[dict]:
    torch.set_num_threads(threads)
    rows = []
    with torch.inference_mode():
        for cell in ("lstm", "gru"):
            models = _models(cell)
            stream = _measure(models, "stream", torch.randn(frames, 1, SHAPE["input_size"]), reps)
            rows += _rows(threads, cell, "stream_b1", stream)
            if cell == "lstm":
                whole = _measure(models, "whole_b32", torch.randn(steps, 32, SHAPE["input_size"]), reps)
                rows += _rows(threads, cell, "whole_b32", whole)
    return rows


@click.command()
@click.option("--quick", is_flag=True, help="Short run (fewer frames and repetitions).")
@click.option("--threads", default="1,2", show_default=True, help="Comma-separated torch thread counts.")
@click.option("--reps", default=None, type=int, help="Repetitions per model (default 7, quick 3).")
@click.option("--torch-path", is_flag=True, help="Time the torch runners (no batch takes the compiled path).")
def main(quick: bool, threads: str, reps: int | None, torch_path: bool) -> None:
    counts = [int(t) for t in threads.split(",")]
    if torch_path:
        fast.MAX_COMPILED_BATCH = 0
    torch.manual_seed(0)
    warnings.filterwarnings("ignore", message="LSTM with projections")
    reps = reps or (3 if quick else 7)
    frames, steps = (40, 10) if quick else (200, 50)
    load_before = os.getloadavg()
    rows = [row for n in counts for row in _run_threads(n, frames, steps, reps)]
    load_after = os.getloadavg()
    for r in rows:
        click.echo(f"threads={r['threads']} {r['cell']} {r['case']:9s} {r['impl']:8s} k={r['block_size']:2d} "
                   f"{r['us_per_frame']:8.1f} µs/frame (dense {r['dense_us_per_frame']:8.1f}) "
                   f"{r['speedup']:6.2f}x  cpu {r['speedup_cpu']:6.2f}x  target {r['target']}  [{r['path']}]")
    click.echo(f"load average (1, 5, 15 min) before {load_before}, after {load_after}; {os.cpu_count()} CPUs")
    _write_json({"command": "python benchmarks/bench_layers.py" + (" --quick" if quick else "")
                 + f" --threads {threads}" + (" --torch-path" if torch_path else ""),
                 "machine": {"cpu": _cpu_name(), "cpus": os.cpu_count(), "loadavg_before": list(load_before),
                             "loadavg_after": list(load_after)},
                 "torch": torch.__version__, "compiled_kernels": fast.kernel_status()[0] and not torch_path,
                 "reps": reps, "frames": frames, "steps": steps, "quick": quick, "rows": rows})
    click.echo(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
