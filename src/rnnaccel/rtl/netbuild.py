"""Generate the network top (:class:`rnnaccel.rtl.netctl.NetworkTop`) of an integer model with its
Icarus/cocotb testbench, and run it (``rnnaccel rtl network MODEL --hardware``).

``write_network_design`` validates everything first, then writes (atomically, :func:`rnnaccel.rtl.
build.staged_dir`) into DIR:

- ``top.v``: the Verilog (hierarchy kept: ``top.l<L>d<D>`` one layer top per layer-direction, the
  frame buffers ``xbuf`` and ``ybuf<L>_<D>`` as memories without initializer);
- ``mem/l<L>d<D>.<pe>.mac.weights<lane>.mem``: every MAC lane's ``$readmemh`` words (from the
  export's ``.mem`` codes, checked word for word against Amaranth's), SHA-256 in design.json;
- ``vectors.json``: the utterances' input frames (raw payloads, ``last`` set on each final frame),
  the expected raw output frames from :func:`rnnaccel.ref.engine.run_int_model`, a cycle bound;
- ``cocotb_net.py``: the testbench; ``synth.ys``: Yosys ``synth_xilinx -family xcu``;
  ``design.json``: the parameters, the schedule's cycles per utterance
  (:func:`rnnaccel.rtl.netctl.network_cycles`) and ``rnnaccel.hw.fpga``'s frame time per layer.

``run_network_sim`` compiles and runs it in Icarus and writes ``DIR/sim.json``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

__all__ = ["default_t_max", "network_mem_files", "run_network_sim", "write_network_design"]

_TB = Path(__file__).parent / "testbench" / "cocotb_net.py"
_FILES = ("top.v", "vectors.json", "cocotb_net.py", "synth.ys", "design.json")
_BUF_INIT = re.compile(r"(reg \[\d+:0\] (?:xbuf|ybuf\d+_\d+) \[\d+:0\];\n)  initial begin\n(.*?)\n  end\n",
                       re.S)


def default_t_max(frames: int) -> int:
    """The frame buffers' depth for an utterance of ``frames`` frames: the next power of two (>= 2)."""
    return max(2, 1 << (int(frames) - 1).bit_length())


def network_mem_files(top) -> dict[str, str]:
    """The ``$readmemh`` files of every layer top's MAC banks, named by the module path under ``top``."""
    from rnnaccel.rtl.build import design_mem_files
    from rnnaccel.rtl.netctl import top_name

    return {f"{top_name(top, li, di)}.{name}": text for li, row in enumerate(top.tops)
            for di, t in enumerate(row) for name, text in design_mem_files(t).items()}


def _strip_buffer_inits(verilog: str) -> str:
    """Frame buffers are written before they are read: drop their all-zero initializers (T_max lines
    of zeros each), keep the declarations."""
    def sub(mt: re.Match) -> str:
        if re.search(r"'h0*[1-9a-f]", mt.group(2)):
            raise ValueError("a frame buffer has a nonzero initializer")
        return mt.group(1)

    return _BUF_INIT.sub(sub, verilog)


def _payloads(top, utterances: list[np.ndarray], want: list[np.ndarray]) -> tuple[list, list]:
    from rnnaccel.rtl.sim import pack

    def frames(layout, rows):
        return [str(pack(layout, {"frame": [int(v) for v in r], "last": int(t == len(rows) - 1)}))
                for t, r in enumerate(rows)]

    fw = len(top.o.payload.frame.as_value())
    inputs = [frames(top.i.payload.shape(), u) for u in utterances]
    expected = [[str(int(v) & ((1 << fw) - 1)) for v in frames(top.o.payload.shape(), w)] for w in want]
    return inputs, expected


def _layer_frame_cycles(top) -> tuple[list, list]:
    """(RTL, ``rnnaccel.hw.fpga``) cycles per timestep of each layer: two LayerTops at once: the
    frame time (the model's single-stream latency, the slower direction); one 2-stream PipelinedTop:
    two items (a forward and a backward frame) at the steady-state interval of its stages."""
    from rnnaccel.rtl.build import model_cycles
    from rnnaccel.rtl.pipeline import stage_cycles, steady_interval
    from rnnaccel.rtl.top import top_cycles

    kind, lanes = top.model.kind, top.lanes
    if top.streams == 2:
        stages = [model_cycles(kind, dirs[0], lanes, streams=2) for dirs in top.model.layers]
        return ([2 * steady_interval(stage_cycles(row[0]), 2) for row in top.tops],
                [2 * steady_interval(s, 2) for s in stages])
    return ([top_cycles(row[0]) for row in top.tops],
            [max(sum(model_cycles(kind, d, lanes)) for d in dirs) for dirs in top.model.layers])


def _check_utterances(model, utterances, t_max: int) -> list[np.ndarray]:
    out = [np.asarray(u, np.int64) for u in utterances]
    if not out or any(u.ndim != 2 or u.shape[1] != model.input_size or len(u) < 1 for u in out):
        raise ValueError(f"utterances must be non-empty (frames, {model.input_size}) code arrays, got shapes "
                         f"{[u.shape for u in out]}")
    if max(len(u) for u in out) > t_max:
        raise ValueError(f"an utterance of {max(len(u) for u in out)} frames exceeds t_max={t_max} "
                         "(the frame buffers' depth)")
    return out


def write_network_design(out: str | Path, model, utterances, *, lanes: int = 1, t_max: int | None = None,
                         streams: int = 1, meta: dict | None = None) -> dict:
    """Validate, then write the network top of ``model`` (``streams`` as in
    :class:`rnnaccel.rtl.netctl.NetworkTop`) and a testbench feeding it ``utterances`` (each
    (frames, input_size) codes of the input point) into ``out``; returns design.json's content."""
    from rnnaccel.ref import run_int_model
    from rnnaccel.rtl.build import icarus_friendly, staged_dir
    from rnnaccel.rtl.memfiles import mem_hashes, use_readmemh
    from rnnaccel.rtl.netctl import NetworkTop, network_cycles
    from rnnaccel.rtl.synth import to_verilog, write_atomic

    if not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"parallel (output blocks per pass) must be a positive int, got {lanes!r}")
    t_max = default_t_max(max(len(u) for u in utterances)) if t_max is None else t_max
    top = NetworkTop(model, lanes, t_max, streams)
    utts = _check_utterances(model, utterances, t_max)
    want = [run_int_model(model, u[None]).output[0].astype(np.int64) for u in utts]
    inputs, expected = _payloads(top, utts, want)
    mems = network_mem_files(top)
    verilog = use_readmemh(_strip_buffer_inits(icarus_friendly(to_verilog(top, "top"))), mems)
    schedule = [network_cycles(top, len(u)) for u in utts]
    rtl_frame, model_frame = _layer_frame_cycles(top)
    vectors = {"inputs": inputs, "expected": expected, "code_bits": model.output_format.bits,
               "codes": top.out_codes, "max_cycles": 2 * sum(schedule) + 100}
    design = {"network": True, "kind": model.kind, "layers": len(model.layers), "directions": top.dirs,
              "input_size": model.input_size, "output_size": top.out_codes,
              "block_size": top.tops[0][0].k, "parallel": lanes, "t_max": t_max, "streams": streams,
              "format": str(model.config.hidden),
              "frames": [len(u) for u in utts], "schedule_cycles": schedule,
              "layer_cycles_per_frame": rtl_frame, "model_layer_cycles_per_frame": model_frame,
              "mem": mem_hashes(mems),
              **(meta or {})}
    with staged_dir(Path(out)) as tmp:
        for name, text in mems.items():
            write_atomic(tmp / "mem" / name, text)
        write_atomic(tmp / "top.v", verilog)
        write_atomic(tmp / "vectors.json", json.dumps(vectors))
        write_atomic(tmp / "cocotb_net.py", _TB.read_text())
        write_atomic(tmp / "synth.ys", "read_verilog top.v\nsynth_xilinx -family xcu -top top\n"
                                       "tee -o synth_xcu.json stat -json\n")
        write_atomic(tmp / "design.json", json.dumps(design, indent=2))
    return design


def _load(out: Path) -> dict:
    missing = [f for f in _FILES if not (out / f).is_file()]
    if missing:
        raise ValueError(f"{out} is not a network top build directory: missing {missing}")
    return json.loads((out / "design.json").read_text())


def _utterance_cycles(rec: dict, frames: list[int]) -> list[int]:
    """Per utterance: first input transfer to last output transfer, both inclusive."""
    out, pos = [], 0
    for n in frames:
        out.append(rec["out_cycles"][pos + n - 1] - rec["in_cycles"][pos] + 1)
        pos += n
    return out


def run_network_sim(out: str | Path) -> dict:
    """Compile and run ``out``'s testbench in Icarus; writes and returns ``out/sim.json``."""
    from rnnaccel.rtl.build import _failure, run_testbench
    from rnnaccel.rtl.synth import write_atomic

    out = Path(out).resolve()
    design = _load(out)
    run, rec = run_testbench(out, design, "cocotb_net")
    cycles = None if rec is None else _utterance_cycles(rec, design["frames"])
    doc = {"bit_exact": rec is not None, "frames": design["frames"], "cycles": cycles,
           "schedule_cycles": design["schedule_cycles"],
           "cycles_match_schedule": cycles == design["schedule_cycles"],
           "sim_seconds": run.seconds, "failure": _failure(run.results_xml), "design": design}
    write_atomic(out / "sim.json", json.dumps(doc, indent=2))
    return doc
