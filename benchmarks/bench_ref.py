"""Benchmark: the integer engines on a test set — the compiled one (rnnaccel.ref.run_fast, numba) and
the numpy spec (rnnaccel.ref.run_int_model) — and their peer, the torch fake-quant model
(rnnaccel.quant.quantize), in the same run, with bit-exactness checks (codes and overflow counts).

Shape (issue 5 item 1): 2-layer bidirectional LSTM, 64 cells, projection 32, peepholes, block size 8,
39 inputs (MFCC + deltas), ap_fixed<16,8> everywhere (QuantConfig.c_lstm()), 192 utterances x 300
frames. One thread for numpy's BLAS, numba and torch. The torch peer is slow (~100 s for the whole
set), so it runs on the first ``--peer-utts`` utterances (outputs do not depend on the batch) and
frames/s compares the rates. Prints seconds (wall and CPU), frames/s and the ratios, writes
benchmarks/results/bench_ref.json atomically with the load average before and after.

    python benchmarks/bench_ref.py [--frames 300] [--utts 192] [--peer-utts 32] [--repeat 3]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads its BLAS
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from rnnaccel.io import write_json_atomic  # noqa: E402
from rnnaccel.nn.rnn import LSTM  # noqa: E402
from rnnaccel.quant import OverflowStats, QuantConfig, quantize  # noqa: E402
from rnnaccel.ref import export_model, fast_path_reason, run_fast, run_int_model  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "bench_ref.json"
TARGET = 120_000  # issue 15 item 4: compiled engine frames/s (CPU time) on this shape
SHAPE = {"input_size": 39, "hidden_size": 64, "num_layers": 2, "proj_size": 32, "block_size": 8}


def _timed(fn, repeat: int) -> tuple[object, float, float]:
    """Result of the last call, best wall seconds, best CPU seconds (process time) over ``repeat``."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return out, wall, cpu


def _peer(model: LSTM, cfg: QuantConfig, x_codes: np.ndarray) -> tuple[np.ndarray, dict]:
    stats = OverflowStats()
    with torch.no_grad():
        y, _ = quantize(model, cfg)(torch.from_numpy(x_codes * cfg.input.lsb), stats=stats)
    return y.numpy(), dict(stats)


def _rate(frames: int, wall: float, cpu: float) -> dict:
    return {"wall_s": round(wall, 4), "cpu_s": round(cpu, 4), "frames_per_s_wall": round(frames / wall),
            "frames_per_s_cpu": round(frames / cpu)}


def _same(a, b) -> bool:
    return bool(np.array_equal(a.output, b.output) and a.overflows == b.overflows)


@click.command()
@click.option("--frames", default=300, show_default=True, help="Frames per utterance.")
@click.option("--utts", default=192, show_default=True, help="Utterances (the batch).")
@click.option("--peer-utts", default=32, show_default=True, help="Utterances the torch peer runs.")
@click.option("--repeat", default=3, show_default=True, help="Repetitions of the engines (best is kept).")
def main(frames: int, utts: int, peer_utts: int, repeat: int) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    load_before = os.getloadavg()
    model = LSTM(batch_first=True, bidirectional=True, peephole=True, **SHAPE)
    cfg = QuantConfig.c_lstm()
    x_codes = np.random.default_rng(0).integers(-512, 512, (utts, frames, SHAPE["input_size"]))
    int_model = export_model(model, cfg)
    run_fast(int_model, x_codes[:1, :2])  # compile or load the numba cache outside the timing
    fast, f_wall, f_cpu = _timed(lambda: run_fast(int_model, x_codes), repeat)
    ref, r_wall, r_cpu = _timed(lambda: run_int_model(int_model, x_codes), repeat)
    peer_utts = min(peer_utts, utts)
    (y, stats), p_wall, p_cpu = _timed(lambda: _peer(model, cfg, x_codes[:peer_utts]), 1)
    sub = run_fast(int_model, x_codes[:peer_utts])
    exact_peer = bool(np.array_equal(y * 2.0**sub.output_format.frac, sub.output)) and stats == sub.overflows
    exact = exact_peer and _same(fast, ref)
    n, n_peer = utts * frames, peer_utts * frames
    out = {
        "model": {**SHAPE, "bidirectional": True, "peephole": True, "config": "QuantConfig.c_lstm()"},
        "utterances": utts, "frames": frames, "peer_utterances": peer_utts, "repeat": repeat, "threads": 1,
        "fast_engine": _rate(n, f_wall, f_cpu), "numpy_engine": _rate(n, r_wall, r_cpu),
        "torch_fake_quant": _rate(n_peer, p_wall, p_cpu),
        "fast_path": fast_path_reason(int_model) or "compiled",
        "fast_over_numpy_cpu": round(r_cpu / f_cpu, 2),
        "fast_over_torch_cpu": round(p_cpu / n_peer * n / f_cpu, 2),
        "numpy_over_torch_cpu": round(p_cpu / n_peer * n / r_cpu, 2), "bit_exact": exact,
        "target_frames_per_s": TARGET, "target_met": exact and n / f_cpu >= TARGET,
        "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()), "cpus": os.cpu_count(),
        "numpy": np.__version__, "torch": torch.__version__,
    }
    write_json_atomic(RESULTS, out)
    for name in ("fast_engine", "numpy_engine", "torch_fake_quant"):
        r = out[name]
        click.echo(f"{name:17s}: {r['wall_s']:8.2f} s wall {r['cpu_s']:8.2f} s CPU  "
                   f"{r['frames_per_s_cpu']:8d} frames/s (CPU)")
    click.echo(f"fast / numpy {out['fast_over_numpy_cpu']}x, "
               f"fast / torch {out['fast_over_torch_cpu']}x (CPU); "
               f"bit-exact: {exact}; target {TARGET} frames/s met: {out['target_met']}; "
               f"load {load_before} -> {out['loadavg_after']}  -> {RESULTS}")
    if not exact:
        raise SystemExit("engines and fake-quant model disagree")


if __name__ == "__main__":
    main()
