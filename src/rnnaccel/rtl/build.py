"""Generate a layer accelerator (:class:`rnnaccel.rtl.top.LayerTop`) with its Icarus/cocotb
testbench, and run it: ``rnnaccel rtl build`` / ``rnnaccel rtl sim``.

``build_shape`` makes a seeded random-weight layer (``lstm:IN:HIDDEN`` with peepholes, or
``gru:IN:HIDDEN``), random input frames of the input point, and the expected outputs from
:func:`rnnaccel.ref.engine.run_direction`; ``write_design`` validates everything first, then writes
(atomically) into DIR:

- ``top.v``: the Verilog (Amaranth, hierarchy kept: pe_ih, pe_hh, unit, their FFT/MAC/IFFT/PWL),
  its weight memories loaded by ``$readmemh`` from ``mem/`` (:mod:`rnnaccel.rtl.memfiles`);
- ``mem/<module>.weights<lane>.mem``: each MAC lane's words, repacked from the export's ``.mem``
  codes; design.json holds their SHA-256 and ``rtl sim`` refuses a file that differs;
- ``vectors.json``: raw input frames, expected raw outputs, code width, frame count, cycle bound;
- ``cocotb_top.py``: the testbench (fails at the first differing frame, point and value);
- ``synth.ys``: the Yosys script (``synth_xilinx -family xcu``), ``design.json``: the parameters.

``write_streams_design`` does the same for the pipelined top over S >= 2 interleaved streams
(:class:`rnnaccel.rtl.pipeline.PipelinedTop`, ``rnnaccel rtl build --streams S``): the frames in
round-robin order with each stream's ``first`` flag, the expected outputs in the same order.

``run_sim`` compiles and runs it in Icarus and writes ``DIR/sim.json``: ``bit_exact``, ``frames``,
``cycles_per_frame`` (measured: cycles per output frame over the last S frames, S = 1: between the
last two), ``schedule_cycles_per_frame`` (:func:`rnnaccel.rtl.top.top_cycles`, or the pipelined
controller's exact schedule) and ``model_cycles_per_frame`` (:func:`model_cycles`: the sum of the
stages for one stream, one frame per slowest stage for S streams).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rnnaccel.quant.config import QuantConfig

if TYPE_CHECKING:
    from rnnaccel.rtl.icarus import IcarusRun

__all__ = ["build_shape", "icarus_friendly", "model_cycles", "parse_shape", "run_sim", "write_design",
           "write_streams_design"]

_TB = Path(__file__).parent / "testbench" / "cocotb_top.py"
_FILES = ("top.v", "vectors.json", "cocotb_top.py", "synth.ys", "design.json")


def parse_shape(text: str) -> tuple[str, int, int, int]:
    """``lstm:IN:HIDDEN[:PROJ]`` / ``gru:IN:HIDDEN`` -> (kind, in, hidden, proj (0: none));
    ValueError naming the text."""
    parts = str(text).split(":")
    if parts[0] == "gru" and len(parts) == 4:
        raise ValueError(f"shape {text!r}: a projection (4th field) is for LSTM layers only")
    if len(parts) not in (3, 4) or parts[0] not in ("lstm", "gru") or not all(p.isdigit() for p in parts[1:]):
        raise ValueError(f"shape {text!r} must be 'lstm:IN:HIDDEN[:PROJ]' or 'gru:IN:HIDDEN' (positive ints)")
    kind, n_in, hidden, proj = parts[0], int(parts[1]), int(parts[2]), int(parts[3]) if len(parts) == 4 else 0
    if n_in < 1 or hidden < 1 or (len(parts) == 4 and proj < 1):
        raise ValueError(f"shape {text!r}: IN, HIDDEN and PROJ must be >= 1")
    return kind, n_in, hidden, proj


def build_shape(text: str, block_size: int, seed: int, config: QuantConfig | None = None, frames: int = 8,
                streams: int = 1):
    """(kind, IntDirection, config, input frames (frames, IN)) of a seeded random layer; ``streams``
    >= 2: (kind, directions, config, per-stream frames) of a random bidirectional layer for
    :func:`write_streams_design`: stream 0 forward over the frames, stream 1 backward over the same
    frames last first, streams 2.. alternately forward and backward over frames of their own."""
    import torch

    from rnnaccel.nn import GRU, LSTM
    from rnnaccel.ref.export import export_model
    from rnnaccel.rtl.fixed import check_block_size
    from rnnaccel.rtl.vectors import random_codes

    kind, n_in, hidden, proj = parse_shape(text)
    k = check_block_size(block_size)
    if hidden % k:
        raise ValueError(f"HIDDEN={hidden} must be a multiple of --block-size {k} (the gate buffers' blocks)")
    if proj % k:
        raise ValueError(f"PROJ={proj} must be a multiple of --block-size {k} (the state buffer's blocks)")
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
        raise ValueError(f"streams must be a positive int, got {streams!r}")
    cfg, bi = config or QuantConfig.c_lstm(), streams > 1
    torch.manual_seed(seed)
    net = (LSTM(n_in, hidden, block_size=k, peephole=True, proj_size=proj, bidirectional=bi) if kind == "lstm"
           else GRU(n_in, hidden, block_size=k, bidirectional=bi))
    layer = export_model(net, cfg).layers[0]
    rng = np.random.default_rng(seed)
    x = random_codes(cfg.input, (frames, n_in), rng) // 4
    if not bi:
        return kind, layer[0], cfg, x
    more = [random_codes(cfg.input, (frames, n_in), rng) // 4 for _ in range(streams - 2)]
    return kind, [layer[s % 2] for s in range(streams)], cfg, [x, x[::-1], *more]


_DUMP_REG = re.compile(r"reg (\\\$auto\$verilog_backend\.cc:\d+:dump_module\$\d+ ) = 0;")


def icarus_friendly(verilog: str) -> str:
    """Yosys's Verilog reads a never-changing ``dump_module`` register in every ``always @*`` so that
    simulators evaluate them at time 0; Icarus does not count the declaration's initial value as an
    event, so comb outputs of states that never change (an FSM held in its reset state) stay X.
    Toggling that register at 1 ns triggers every such block once; synthesis is unaffected."""
    return _DUMP_REG.sub(lambda mt: f"reg {mt.group(1)} = 0;\n  initial #1 {mt.group(1)} = 1;", verilog)


def model_cycles(kind: str, d, lanes: int, streams: int = 1) -> tuple[int, ...]:
    """``rnnaccel.hw.fpga``'s stage cycles (gate, elementwise, projection) of this design: two PEs
    of ``lanes`` lanes, one elementwise lane; a single stream's recurrence runs one frame per sum of
    stages (the model's latency), which is what the sequential top does. The model's ``pe_gate``
    PEs share the q = q_ih + q_hh input blocks evenly; the layer top has one PE per role (the spec
    rounds each role after its own IFFT), so its gate stage is the model's stage of the larger role
    on one PE plus the two-PE adder tree (the ih + hh sum). Both agree when |q_ih - q_hh| <= 1.
    ``streams`` >= 2 (:class:`rnnaccel.rtl.pipeline.PipelinedTop`): the projection stage is a stage
    of its own that takes its token (which stream's h_t) in one cycle, as the gate stage takes its
    frame; the model's projection stage has no such cycle (+1 here). The sequential top runs PROJ
    straight after ELEM in one FSM and has none."""
    from rnnaccel.hw.fpga.design import CirculantDesign, LogicCosts
    from rnnaccel.hw.fpga.model import _layer_stages, _stage_cycles
    from rnnaccel.hw.fpga.workload import LayerWork
    from rnnaccel.shape import Cell

    k, h = d.ih.block_size, d.hidden_size
    proj = 0 if d.proj is None else d.proj.out_features
    work = LayerWork(Cell(kind).gates * h, d.ih.in_features, d.hh.in_features, h, proj)
    design = CirculantDesign(block_gate=k, block_proj=k, pe_gate=2, lanes_gate=lanes, pe_proj=1,
                             lanes_proj=min(lanes, d.proj.p) if proj else 1, elem_lanes=1)
    costs = LogicCosts()
    _, elem, proj = _layer_stages(work, design, costs)
    roles = (_stage_cycles((work.gate_rows, (n,)), k, 1, lanes, 1, costs) for n in (work.in_x, work.in_r))
    return int(max(roles)) + 1, int(elem), int(proj) + int(streams > 1 and proj > 0)


def _synth_script() -> str:
    return ("read_verilog top.v\nsynth_xilinx -family xcu -top top\n"
            "tee -o synth_xcu.json stat -json\n")


def design_mem_files(top) -> dict[str, str]:
    """The ``$readmemh`` files of a layer top's MAC banks, from the export's ``.mem`` codes."""
    from rnnaccel.export.intfile import mem_words
    from rnnaccel.rtl.memfiles import lane_mem_files

    bits, files = top.config.weight.bits, {}
    pes = [("pe_ih", top.pe_ih), ("pe_hh", top.pe_hh)] + ([("pe_proj", top.pe_proj)] if top.pe_proj else [])
    for name, pe in pes:
        files |= lane_mem_files(f"{name}.mac", mem_words(pe.role), pe.role, pe.lanes, bits)
    return files


@contextmanager
def staged_dir(out: Path) -> Iterator[Path]:
    """A fresh sibling directory to write a design into, swapped in for ``out`` at the end: a build
    that fails or is killed leaves the previous ``out`` (or none) as it was, never a mix of two
    builds. ``out`` may be missing, empty or an earlier build (``design.json``); anything else is
    refused (ValueError naming it) before anything is written."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / "design.json").is_file())):
        raise ValueError(f"--out {out} exists and is not an 'rnnaccel rtl build' directory; not replacing it")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        tmp.chmod(0o755)
        yield tmp
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        if out.exists():
            os.replace(out, old / "design")
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_design(out: Path, kind: str, d, config: QuantConfig, x: np.ndarray, lanes: int = 1,
                 meta: dict | None = None, in_fmt=None, extra: Callable[[Path], None] | None = None) -> dict:
    """Validate, then write the design files into ``out`` (all at once, :func:`staged_dir`); returns
    design.json's content. ``x``: input frames as codes of ``in_fmt`` (default: the input point);
    ``extra(dir)`` writes more files into the staged directory."""
    from rnnaccel.rtl.sim import pack
    from rnnaccel.rtl.top import LayerTop, reference_frames, top_cycles

    _check_lanes(lanes)
    in_fmt = config.input if in_fmt is None else in_fmt
    top = LayerTop(kind, d, config, in_fmt, lanes)
    want = reference_frames(kind, d, config, x, in_frac=in_fmt.frac)
    inputs = [pack(top.i.payload.shape(), [int(v) for v in row]) for row in x]
    cycles, stages = top_cycles(top), model_cycles(kind, d, lanes)
    design = {**_design_fields(kind, d, config, lanes, top, len(x)), "schedule_cycles_per_frame": cycles,
              "model_stage_cycles": list(stages), "model_cycles_per_frame": sum(stages)}
    return _emit(out, top, inputs, want, 4 * cycles * (len(x) + 2), {**design, **(meta or {})}, extra)


def write_streams_design(out: Path, kind: str, dirs, config: QuantConfig, seqs, lanes: int = 1,
                         meta: dict | None = None, in_fmt=None,
                         extra: Callable[[Path], None] | None = None) -> dict:
    """As :func:`write_design` for the pipelined top (:class:`rnnaccel.rtl.pipeline.PipelinedTop`)
    over ``len(dirs)`` >= 2 streams: stream s runs ``dirs[s]`` over ``seqs[s]`` (frames of one length),
    fed round-robin (first = 1 on each stream's first frame); the expected outputs in the same order.
    design.json: ``streams``, ``stage_cycles`` (the RTL's D1, D2, D3), ``schedule_cycles_per_frame``
    (the steady-state cycles per frame of all streams, from the exact schedule of these frames),
    ``model_stage_cycles`` and ``model_cycles_per_frame`` (hw.fpga: one frame per slowest stage,
    or with fewer streams than stages each stream's loop of all stages / S)."""
    from rnnaccel.rtl.pipeline import (
        PipelinedTop,
        interleave,
        pack_frames,
        pipeline_schedule,
        reference_streams,
        stage_cycles,
        steady_interval,
    )

    _check_lanes(lanes)
    in_fmt = config.input if in_fmt is None else in_fmt
    top = PipelinedTop(kind, dirs, config, in_fmt, lanes)
    frames, first = interleave(seqs)
    want = reference_streams(kind, top.dirs, config, seqs, in_frac=in_fmt.frac)
    n, streams, rtl_stages = len(frames), top.streams, stage_cycles(top)
    outs = pipeline_schedule(rtl_stages, streams, n)
    stages = model_cycles(kind, top.dirs[0], lanes, streams)
    design = {**_design_fields(kind, top.dirs[0], config, lanes, top, n), "streams": streams,
              "stage_cycles": list(rtl_stages), "schedule_out_cycles": outs,
              "schedule_cycles_per_frame": _interval(outs, streams),
              "model_stage_cycles": list(stages), "model_cycles_per_frame": steady_interval(stages, streams),
              "model_latency_cycles": sum(stages)}
    return _emit(out, top, pack_frames(top, frames, first), want, 4 * sum(rtl_stages) * (n + 2),
                 {**design, **(meta or {})}, extra)


def _check_lanes(lanes: object) -> None:
    if isinstance(lanes, bool) or not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"parallel (output blocks per pass) must be a positive int, got {lanes!r}")


def _interval(outs: list[int], streams: int) -> float | None:
    """Cycles per frame over the last ``streams`` output frames (None with too few)."""
    if len(outs) <= streams:
        return None
    span = outs[-1] - outs[-1 - streams]
    return span // streams if span % streams == 0 else span / streams


def _design_fields(kind: str, d, config: QuantConfig, lanes: int, top, frames: int) -> dict:
    return {"kind": kind, "input_size": d.ih.in_features, "hidden_size": d.hidden_size,
            "proj_size": 0 if d.proj is None else top.out_size,
            "block_size": d.ih.block_size, "parallel": lanes, "format": str(config.hidden),
            "peephole": d.peephole is not None, "frames": frames}


def _emit(out: Path, top, inputs: list[int], want: np.ndarray, max_cycles: int, design: dict,
          extra: Callable[[Path], None] | None) -> dict:
    """Build the Verilog and memory files (checked), then write everything at once."""
    from rnnaccel.rtl.memfiles import mem_hashes, use_readmemh
    from rnnaccel.rtl.sim import pack
    from rnnaccel.rtl.synth import to_verilog, write_atomic

    expected = [str(pack(top.o.payload.shape(), [int(v) for v in row])) for row in want]
    mems = design_mem_files(top)
    # everything is built and checked before the first file is written
    verilog = use_readmemh(icarus_friendly(to_verilog(top, "top")), mems)
    vectors = {"inputs": [str(v) for v in inputs], "expected": expected, "code_bits": top.state_fmt.bits,
               "codes": top.out_size, "max_cycles": max_cycles}
    design = {**design, "mem": mem_hashes(mems)}
    with staged_dir(out) as tmp:
        for name, text in mems.items():
            write_atomic(tmp / "mem" / name, text)
        write_atomic(tmp / "top.v", verilog)
        write_atomic(tmp / "vectors.json", json.dumps(vectors))
        write_atomic(tmp / "cocotb_top.py", _TB.read_text())
        write_atomic(tmp / "synth.ys", _synth_script())
        if extra is not None:
            extra(tmp)
        write_atomic(tmp / "design.json", json.dumps(design, indent=2))
    return design


def _load(out: Path) -> dict:
    missing = [f for f in _FILES if not (Path(out) / f).is_file()]
    if missing:
        raise ValueError(f"{out} is not an 'rnnaccel rtl build' directory: missing {missing}")
    try:
        return json.loads((Path(out) / "design.json").read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{Path(out) / 'design.json'} is not valid JSON: {e}") from None


def _failed_run(xml: Path):
    from rnnaccel.rtl.icarus import IcarusRun

    if not xml.is_file():
        raise ValueError(f"Icarus/cocotb run wrote no results file {xml}: see the log above")
    return IcarusRun(1, 1, 0.0, xml)


def _failure(xml: Path) -> str | None:
    """The first failure message of a cocotb results file (the testbench's first differing frame)."""
    import xml.etree.ElementTree as ET

    for el in ET.parse(xml).iter():
        if el.tag in ("failure", "error"):
            return el.attrib.get("message", "failed")
    return None


def run_testbench(out: Path, design: dict, module: str) -> tuple[IcarusRun, dict | None]:
    """Check ``out``'s ``.mem`` files against ``design``, compile ``out/top.v`` in Icarus and run the
    cocotb testbench ``module``: (the run, the testbench's cycle record, None when a test failed)."""
    from rnnaccel.rtl.icarus import build_icarus, run_cocotb
    from rnnaccel.rtl.memfiles import check_mem_hashes

    check_mem_hashes(out / "mem", design.get("mem", {}))
    build, record = out / "sim_build", out / "vectors.cycles.json"
    record.unlink(missing_ok=True)
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(out / "mem", build / "mem")  # $readmemh paths are relative to the simulator's cwd
    runner = build_icarus(out / "top.v", "top", build)
    try:
        run = run_cocotb(runner, "top", out / "vectors.json", out, build, module=module)
    except SystemExit:  # cocotb's runner exits when a test fails; its results file says which
        run = _failed_run(build / "top.results.xml")
    return run, json.loads(record.read_text()) if run.failed == 0 and record.is_file() else None


def run_sim(out: Path) -> dict:
    """Compile and run ``out``'s testbench in Icarus; writes and returns ``out/sim.json``."""
    from rnnaccel.rtl.synth import write_atomic

    out = Path(out).resolve()
    design = _load(out)
    run, record = run_testbench(out, design, "cocotb_top")
    outs = record["out_cycles"] if record is not None else []
    diffs = np.diff(outs).tolist() if len(outs) > 1 else []
    # throughput: cycles per output frame over the last S frames (S streams; 1: the last difference)
    doc = {"bit_exact": run.failed == 0 and len(outs) == design["frames"], "frames": len(outs),
           "streams": design.get("streams", 1), "cycles_per_frame": _interval(outs, design.get("streams", 1)),
           "cycles_between_frames": diffs,
           "schedule_cycles_per_frame": design["schedule_cycles_per_frame"],
           "model_cycles_per_frame": design["model_cycles_per_frame"],
           "sim_seconds": run.seconds, "failure": _failure(run.results_xml), "design": design}
    write_atomic(out / "sim.json", json.dumps(doc, indent=2))
    return doc
