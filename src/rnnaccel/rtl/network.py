"""The whole network through the generated layer tops: every layer and both directions of a
bidirectional layer, each direction's Icarus outputs feeding the layer above, checked against
:func:`rnnaccel.ref.engine.run_int_model`'s whole-model output (``rnnaccel rtl network``).

Sequencing is done by the host, not by a hardware controller: one :class:`rnnaccel.rtl.top.LayerTop`
per layer-direction (``DIR/layer<L>-dir<D>``, each a complete ``rtl build`` directory), generated
and simulated in order of layers. The input of layer L > 0 is the concatenation (forward codes,
then backward codes, per frame) of the *RTL* outputs of layer L - 1 read back from its simulation
(``vectors.cycles.json``), not the reference's; the backward direction is the same hardware fed
the frames last-first, and its outputs are re-reversed before the concatenation. So the last
layer's concatenated RTL outputs equal ``run_int_model`` only if every top and the chaining are
bit-exact. ``network_cycles`` is the schedule this chain implies in hardware with one top per
layer-direction: both directions of a layer run at once (separate tops), layers back to back
(the backward direction needs the whole sequence below it), i.e. the sum over layers of the
slower direction's cycles from reset to its last output (both inclusive);
``model_network_cycles_per_frame`` is the same sum of ``rnnaccel.hw.fpga``'s per-direction frame times.

Everything (kind, roles, block size, projection, frames) is checked before the first file is
written; ``DIR/network.json`` (atomic) holds the result.

``hardware=True`` (``rnnaccel rtl network MODEL --hardware``) instead generates *one* top for the
whole network, :class:`rnnaccel.rtl.netctl.NetworkTop`, whose controller sequences the layers and
directions with frame buffers between layers (:mod:`rnnaccel.rtl.netbuild`); ``DIR`` is then that
design's build directory and the utterance runs through it in one Icarus simulation.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["build_network", "check_network", "rtl_outputs", "run_network"]


def check_network(model) -> None:
    """ValueError/TypeError naming the first layer-direction the layer top cannot build."""
    from rnnaccel.export.intfile import check_buildable
    from rnnaccel.rtl.top import _check_direction

    check_buildable(model)
    for li, directions in enumerate(model.layers):
        for di, d in enumerate(directions):
            try:
                _check_direction(model.kind, d)
            except (TypeError, ValueError) as e:
                raise type(e)(f"layer {li} direction {di}: {e}") from None


def _unpack(raw: int, bits: int, count: int) -> list[int]:
    mask = (1 << bits) - 1
    vals = [(raw >> (n * bits)) & mask for n in range(count)]
    return [v - (1 << bits) if v >> (bits - 1) else v for v in vals]


def rtl_outputs(design_dir: str | Path) -> np.ndarray:
    """The output codes (frames, hidden) the simulated RTL handed out (``rtl sim``'s record)."""
    root = Path(design_dir)
    spec = json.loads((root / "vectors.json").read_text())
    got = json.loads((root / "vectors.cycles.json").read_text())["outputs"]
    rows = [_unpack(int(v), spec["code_bits"], spec["codes"]) for v in got]
    return np.asarray(rows, np.int64).reshape(len(rows), spec["codes"])


def _stage(li: int, di: int, doc: dict, out_cycles: list[int]) -> dict:
    return {"layer": li, "direction": di, "bit_exact": doc["bit_exact"], "frames": doc["frames"],
            "cycles_per_frame": doc["cycles_per_frame"],
            "model_cycles_per_frame": doc["model_cycles_per_frame"],
            "cycles": out_cycles[-1] + 1 if out_cycles else None, "failure": doc["failure"]}


def _run_direction(model, li: int, di: int, seq: np.ndarray, in_fmt, sub: Path, lanes: int, meta: dict):
    """(stage summary, RTL outputs in time order or None) of one layer-direction."""
    from rnnaccel.rtl.build import run_sim, write_design

    feed = seq[::-1] if di == 1 else seq
    info = {"source": {**meta, "layer": li, "direction": di, "network": True}}
    write_design(sub, model.kind, model.layers[li][di], model.config, feed, lanes, info, in_fmt=in_fmt)
    doc = run_sim(sub)
    rec = sub / "vectors.cycles.json"
    cycles = json.loads(rec.read_text())["out_cycles"] if doc["bit_exact"] and rec.is_file() else []
    if not doc["bit_exact"]:
        return _stage(li, di, doc, cycles), None
    y = rtl_outputs(sub)
    return _stage(li, di, doc, cycles), (y[::-1] if di == 1 else y)


def _first_diff(got: np.ndarray, want: np.ndarray) -> str | None:
    if got.shape != want.shape:
        return f"shape: rtl {got.shape} != ref {want.shape}"
    bad = np.argwhere(got != want)
    if not len(bad):
        return None
    t, p = (int(v) for v in bad[0])
    return f"frame {t}, point {p}: rtl {int(got[t, p])} != ref {int(want[t, p])}"


def _network_cycles(stages: list[dict], layers: int, key: str = "cycles") -> int | None:
    per_layer = [[s[key] for s in stages if s["layer"] == li] for li in range(layers)]
    if any(not v or None in v for v in per_layer):
        return None
    return int(sum(max(v) for v in per_layer))


def _chain(model, x: np.ndarray, out: Path, lanes: int, meta: dict) -> tuple[list[dict], np.ndarray | None]:
    seq, in_fmt, stages = x, model.config.input, []
    for li, directions in enumerate(model.layers):
        outs = []
        for di in range(len(directions)):
            stage, y = _run_direction(model, li, di, seq, in_fmt, out / f"layer{li}-dir{di}", lanes, meta)
            stages.append(stage)
            if y is None:
                return stages, None
            outs.append(y)
        seq, in_fmt = np.concatenate(outs, -1), model.output_format
    return stages, seq


def _hardware(model, x: np.ndarray, out: Path, lanes: int, hw: tuple, meta: dict) -> dict:
    """network.json of the one network top (netctl) run on ``x`` in Icarus. ``network_cycles`` is
    measured (first input to last output transfer); the schedule's formula and ``rnnaccel.hw.fpga``'s
    per-layer cycles per timestep beside it; ``cycles_beyond_model`` = measured - T * sum(model),
    which with LayerTops (streams 1) whose frame times equal the model's is 2T + L(D+1) + 1
    (loading the frames, streaming them out, the controller); with 2-stream tops it also holds
    the pipeline's fill and drain."""
    from rnnaccel.rtl.netbuild import run_network_sim, write_network_design

    t_max, streams = hw
    design = write_network_design(out, model, [x], lanes=lanes, t_max=t_max, streams=streams, meta=meta)
    sim = run_network_sim(out)
    t, total = len(x), (sim["cycles"] or [None])[0]
    model_frame = sum(design["model_layer_cycles_per_frame"])
    return {"bit_exact": sim["bit_exact"], "kind": model.kind, "layers": len(model.layers),
            "directions": design["directions"], "frames": t, "parallel": lanes, "t_max": design["t_max"],
            "streams": streams,
            "network_cycles": total, "network_cycles_per_frame": None if total is None else total / t,
            "schedule_network_cycles": design["schedule_cycles"][0],
            "cycles_match_schedule": sim["cycles_match_schedule"],
            "layer_cycles_per_frame": design["layer_cycles_per_frame"],
            "model_layer_cycles_per_frame": design["model_layer_cycles_per_frame"],
            "model_network_cycles_per_frame": model_frame,
            "cycles_match_model": design["layer_cycles_per_frame"] == design["model_layer_cycles_per_frame"],
            "cycles_beyond_model": None if total is None else total - t * model_frame,
            "failure": sim["failure"], "sim_seconds": sim["sim_seconds"],
            "sequencing": "hardware (one network top: rtl.netctl)", **meta}


def run_network(model, codes: np.ndarray, out: str | Path, *, lanes: int = 1, frames: int | None = None,
                meta: dict | None = None, hardware: bool = False, t_max: int | None = None,
                streams: int = 1) -> dict:
    """Run the input ``codes`` (time, input_size) of the input point, truncated to its first
    ``frames``, through every layer-direction's generated top in Icarus (``hardware``: through the
    one network top, frame buffers of depth ``t_max``, default the next power of two, ``streams`` 2:
    a bidirectional layer through one 2-stream pipelined top); writes and returns
    ``out/network.json``."""
    from rnnaccel.ref import run_int_model
    from rnnaccel.rtl.synth import write_atomic

    check_network(model)
    if frames is not None and frames < 1:
        raise ValueError(f"--frames must be >= 1, got {frames}")
    if not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"parallel (output blocks per pass) must be a positive int, got {lanes!r}")
    x = np.asarray(codes, np.int64)[:frames]
    if hardware:
        doc = _hardware(model, x, Path(out), lanes, (t_max, streams), dict(meta or {}))
        write_atomic(Path(out) / "network.json", json.dumps(doc, indent=2))
        return doc
    want = run_int_model(model, x[None]).output[0].astype(np.int64)
    out = Path(out)
    stages, got = _chain(model, x, out, lanes, dict(meta or {}))
    failure = next((s["failure"] for s in stages if not s["bit_exact"]), None)
    if got is not None:
        failure = _first_diff(got, want)
    total = _network_cycles(stages, len(model.layers)) if got is not None else None
    doc = {"bit_exact": got is not None and failure is None, "kind": model.kind, "layers": len(model.layers),
           "directions": len(model.layers[0]), "frames": len(x), "parallel": lanes,
           "network_cycles": total, "network_cycles_per_frame": None if total is None else total / len(x),
           "model_network_cycles_per_frame": _network_cycles(stages, len(model.layers),
                                                             "model_cycles_per_frame"),
           "stages": stages, "failure": failure, "sequencing": "host (one layer top per layer-direction)",
           **(meta or {})}
    write_atomic(out / "network.json", json.dumps(doc, indent=2))
    return doc


def build_network(path: str | Path, out: str | Path, *, lanes: int = 1, fmt: str = "16bit",
                  utterance: int = 0, frames: int | None = None, hardware: bool = False,
                  t_max: int | None = None, streams: int = 1) -> dict:
    """A trained run (or export) directory's whole network on one real test utterance of its corpus."""
    from rnnaccel.export import run_features
    from rnnaccel.quant.qformat import quantize_float
    from rnnaccel.rtl.model_build import load_model_source

    src = load_model_source(path, fmt)
    check_network(src.int_model)
    feats, split = run_features(src.run_dir, utterance)
    codes, _ = quantize_float(feats, src.int_model.config.input)
    meta = {"model": str(path), "run_dir": str(src.run_dir), "format": src.fmt, "split": split,
            "utterance": utterance, "utterance_frames": int(len(codes))}
    return run_network(src.int_model, codes, out, lanes=lanes, frames=frames, meta=meta, hardware=hardware,
                       t_max=t_max, streams=streams)
