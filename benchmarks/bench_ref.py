"""Benchmark: the integer reference engine (rnnaccel.ref) on a test set vs its peer, the torch
fake-quant model (rnnaccel.quant.quantize), in the same run, with a bit-exactness check.

Shape (issue 5 item 1): 2-layer bidirectional LSTM, 64 cells, projection 32, peepholes, block size 8,
39 inputs (MFCC + deltas), ap_fixed<16,8> everywhere (QuantConfig.c_lstm()), 192 utterances x 300
frames. One thread for numpy's BLAS and for torch. Prints seconds (wall and CPU) and the ratio, writes
benchmarks/results/bench_ref.json atomically.

    python benchmarks/bench_ref.py [--frames 300] [--utts 192] [--repeat 1]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads its BLAS

import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rnnaccel.nn.rnn import LSTM  # noqa: E402
from rnnaccel.quant import OverflowStats, QuantConfig, quantize  # noqa: E402
from rnnaccel.ref import export_model, run_int_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "bench_ref.json"
SHAPE = {"input_size": 39, "hidden_size": 64, "num_layers": 2, "proj_size": 32, "block_size": 8}


def _timed(fn, repeat: int) -> tuple[object, float, float]:
    """Result of the last call, best wall seconds, best CPU seconds (process time) over ``repeat``."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return out, wall, cpu


def _write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _peer(model: LSTM, cfg: QuantConfig, x_codes: np.ndarray) -> tuple[np.ndarray, dict]:
    stats = OverflowStats()
    with torch.no_grad():
        y, _ = quantize(model, cfg)(torch.from_numpy(x_codes * cfg.input.lsb), stats=stats)
    return y.numpy(), dict(stats)


@click.command()
@click.option("--frames", default=300, show_default=True, help="Frames per utterance.")
@click.option("--utts", default=192, show_default=True, help="Utterances (the batch).")
@click.option("--repeat", default=1, show_default=True, help="Repetitions (best is kept).")
def main(frames: int, utts: int, repeat: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = LSTM(batch_first=True, bidirectional=True, peephole=True, **SHAPE)
    cfg = QuantConfig.c_lstm()
    x_codes = np.random.default_rng(0).integers(-512, 512, (utts, frames, SHAPE["input_size"]))
    int_model = export_model(model, cfg)
    ref, ref_wall, ref_cpu = _timed(lambda: run_int_model(int_model, x_codes), repeat)
    (y, stats), peer_wall, peer_cpu = _timed(lambda: _peer(model, cfg, x_codes), repeat)
    exact = bool(np.array_equal(y * 2.0**ref.output_format.frac, ref.output)) and stats == ref.overflows
    out = {
        "model": {**SHAPE, "bidirectional": True, "peephole": True, "config": "QuantConfig.c_lstm()"},
        "utterances": utts, "frames": frames, "repeat": repeat, "threads": 1,
        "engine_wall_s": ref_wall, "engine_cpu_s": ref_cpu, "peer_wall_s": peer_wall, "peer_cpu_s": peer_cpu,
        "peer_over_engine_wall": peer_wall / ref_wall, "peer_over_engine_cpu": peer_cpu / ref_cpu,
        "bit_exact": exact, "numpy": np.__version__, "torch": torch.__version__,
    }
    _write_json(out, RESULTS)
    click.echo(f"rnnaccel.ref engine : {ref_wall:7.2f} s wall, {ref_cpu:7.2f} s CPU ({utts} x {frames})")
    click.echo(f"torch fake-quant    : {peer_wall:7.2f} s wall, {peer_cpu:7.2f} s CPU")
    click.echo(f"peer / engine       : {peer_wall / ref_wall:7.2f}x wall, {peer_cpu / ref_cpu:7.2f}x CPU;"
               f" bit-exact: {exact}  -> {RESULTS}")
    if not exact:
        raise SystemExit("engine and fake-quant model disagree")


if __name__ == "__main__":
    main()
