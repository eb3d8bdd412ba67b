"""Benchmark of the layer top: `rtl build` time, Icarus simulation frames/s (cocotb) beside
Amaranth's simulator on the same design and frames (the peer, same run), and the schedule's and
hw.fpga's cycles per frame. Writes JSON (default results/bench_rtl_top.json).

    python3 benchmarks/bench_rtl_top.py [--shape lstm:16:16] [-k 8] [--parallel 1] [--frames 16]
    python3 benchmarks/bench_rtl_top.py --model RUN_DIR [--layer 0 --direction 0] [--frames N]

``--model``: one layer-direction of a trained run, fed its first test utterance (all frames unless
``--frames``), as ``rnnaccel rtl build --model`` does. ``--model RUN_DIR --network``: the whole
network as ``rnnaccel rtl network`` runs it (one top per layer-direction, chained, every build and
simulation timed), beside rnnaccel.ref's integer engine on the same frames (the peer).

    python3 benchmarks/bench_rtl_top.py --model RUN_DIR --network [--parallel 2] [--frames N]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnaccel.rtl.build import build_shape, run_sim, write_design
from rnnaccel.rtl.sim import pack, run_stream, unpack
from rnnaccel.rtl.synth import write_atomic
from rnnaccel.rtl.top import LayerTop, reference_frames, top_cycles


def _amaranth(kind, d, cfg, x, lanes, in_fmt) -> tuple[float, bool]:
    top = LayerTop(kind, d, cfg, in_fmt, lanes)
    raws = [pack(top.i.payload.shape(), [int(v) for v in row]) for row in x]
    start = time.perf_counter()
    run = run_stream(top, raws, len(x), max_cycles=4 * len(x) * top_cycles(top))
    seconds = time.perf_counter() - start
    got = np.array([unpack(top.o.payload.shape(), r) for r in run.outputs])
    return seconds, bool((got == reference_frames(kind, d, cfg, x, in_frac=in_fmt.frac)).all())


def _design(a):
    """(kind, IntDirection, config, frames, their format, description) of --shape or --model."""
    if a.model is None:
        kind, d, cfg, x = build_shape(a.shape, a.block_size, 0, frames=a.frames or 16)
        return kind, d, cfg, x, cfg.input, {"shape": a.shape}
    from rnnaccel.export import run_features
    from rnnaccel.quant.qformat import quantize_float
    from rnnaccel.rtl.model_build import layer_frames, load_model_source

    src = load_model_source(a.model)
    feats, _ = run_features(src.run_dir)
    x, in_fmt = layer_frames(src.int_model, quantize_float(feats, src.int_model.config.input)[0], a.layer)
    x = (x[::-1] if a.direction else x)[: a.frames]
    d = src.int_model.layers[a.layer][a.direction]
    return src.int_model.kind, d, src.int_model.config, x, in_fmt, {
        "model": str(a.model), "layer": a.layer, "direction": a.direction,
        "shape": f"{src.int_model.kind}:{d.ih.in_features}:{d.hidden_size}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", default="lstm:16:16")
    ap.add_argument("-k", "--block-size", type=int, default=8)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--frames", type=int, default=None, help="default: 16 (--shape), all (--model)")
    ap.add_argument("--model", type=Path, default=None, help="a trained run or export directory")
    ap.add_argument("--layer", type=int, default=0)
    ap.add_argument("--direction", type=int, default=0)
    ap.add_argument("--network", action="store_true", help="--model: every layer and direction, chained")
    ap.add_argument("--out", type=Path, default=Path("results/bench_rtl_top.json"))
    a = ap.parse_args()
    if a.network:
        return _finish(a.out, _network(a))
    kind, d, cfg, x, in_fmt, what = _design(a)
    frames, load = len(x), os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_design(Path(tmp), kind, d, cfg, x, a.parallel, in_fmt=in_fmt)
        build_s = time.perf_counter() - start
        sim = run_sim(Path(tmp))
    am_s, am_exact = _amaranth(kind, d, cfg, x, a.parallel, in_fmt)
    doc = {**what, "block_size": d.ih.block_size, "parallel": a.parallel, "frames": frames,
           "build_seconds": round(build_s, 3), "icarus_seconds": sim["sim_seconds"],
           "icarus_frames_per_s": round(frames / sim["sim_seconds"], 2),
           "icarus_bit_exact": sim["bit_exact"], "amaranth_seconds": round(am_s, 3),
           "amaranth_frames_per_s": round(frames / am_s, 2), "amaranth_bit_exact": am_exact,
           "icarus_over_amaranth_speed": round(am_s / sim["sim_seconds"], 3),
           "cycles_per_frame": sim["cycles_per_frame"],
           "schedule_cycles_per_frame": sim["schedule_cycles_per_frame"],
           "model_cycles_per_frame": sim["model_cycles_per_frame"],
           "load_avg_at_start": [round(v, 2) for v in load],
           "load_avg_at_end": [round(v, 2) for v in os.getloadavg()],
           "cpus": os.cpu_count(), "note": "icarus_seconds includes cocotb start-up and Icarus elaboration"}
    _finish(a.out, doc)


def _finish(out: Path, doc: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps(doc, indent=2))
    print(json.dumps(doc, indent=2))


def _network(a) -> dict:
    """Whole network in Icarus (rtl.network) beside rnnaccel.ref.run_int_model on the same frames."""
    from rnnaccel.export import run_features
    from rnnaccel.quant.qformat import quantize_float
    from rnnaccel.ref import run_int_model
    from rnnaccel.rtl.model_build import load_model_source
    from rnnaccel.rtl.network import run_network

    if a.model is None:
        raise SystemExit("--network needs --model RUN_DIR")
    src, load = load_model_source(a.model), os.getloadavg()
    x = quantize_float(run_features(src.run_dir)[0], src.int_model.config.input)[0][: a.frames]
    start = time.perf_counter()
    run_int_model(src.int_model, np.asarray(x, np.int64)[None])
    ref_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        net = run_network(src.int_model, x, Path(tmp), lanes=a.parallel)
        net_s = time.perf_counter() - start
    return {"model": str(a.model), "network": True, "parallel": a.parallel, "frames": len(x),
            "layer_directions": len(net["stages"]), "bit_exact": net["bit_exact"],
            "rtl_seconds": round(net_s, 2), "rtl_frames_per_s": round(len(x) / net_s, 2),
            "ref_seconds": round(ref_s, 4), "ref_frames_per_s": round(len(x) / ref_s, 1),
            "network_cycles_per_frame": net["network_cycles_per_frame"],
            "model_network_cycles_per_frame": net["model_network_cycles_per_frame"],
            "load_avg_at_start": [round(v, 2) for v in load],
            "load_avg_at_end": [round(v, 2) for v in os.getloadavg()], "cpus": os.cpu_count(),
            "note": "rtl_seconds: every layer-direction's rtl build + cocotb/Icarus run, in sequence"}


if __name__ == "__main__":
    main()
