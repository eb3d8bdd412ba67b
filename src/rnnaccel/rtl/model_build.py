"""``rnnaccel rtl build --model PATH``: the layer accelerator of a trained, quantized model.

``PATH`` is a training run directory (``checkpoint.json``: ``rnnaccel train``'s ``out_dir`` or, inside
a flow's ``out_dir``, the chosen model's run such as ``direct-k8/direct``) or an ``rnnaccel export``
directory (``model.json``; every hash and ``.mem`` word is checked, and its ``source.run_dir`` gives
the corpus). The testbench's input frames are a real utterance of the run's corpus (its test split),
normalized as in training and quantized to the input point; for a layer above the first they are the
outputs of the layers below, from :func:`rnnaccel.ref.engine.run_int_model`. The expected outputs come
from :func:`rnnaccel.ref.engine.run_direction` (in :func:`rnnaccel.rtl.build.write_design`). The
backward direction of a bidirectional layer is the same hardware fed the frames last-first.

Everything (run, export, corpus, buildability of the chosen layer) is checked before the first file
is written; the design directory then also holds the export (``model/``) the ``.mem`` files come from.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ModelSource", "build_model_design", "layer_frames", "load_model_source", "write_layer_design"]


@dataclass(frozen=True)
class ModelSource:
    """An integer model and the run directory whose corpus feeds the testbench."""

    int_model: object
    run_dir: Path
    fmt: str


def load_model_source(path: str | Path, fmt: str = "16bit") -> ModelSource:
    """A run directory (exported here with the preset ``fmt``) or an export directory (its own format)."""
    from rnnaccel.export import load_int_model, load_run, quant_format
    from rnnaccel.ref import export_model

    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"model directory {str(root)!r} does not exist (or is not a directory)")
    if (root / "model.json").is_file():
        model = load_int_model(root)  # every hash and every .mem word checked
        import json

        source = json.loads((root / "model.json").read_text()).get("source", {})
        if "run_dir" not in source:
            raise ValueError(f"{root / 'model.json'}: no source.run_dir (which corpus feeds the testbench?)")
        return ModelSource(model, Path(source["run_dir"]), str(source.get("format", "?")))
    run = load_run(root)
    from rnnaccel.export.intfile import check_buildable

    model = export_model(run.model.rnn, quant_format(fmt))
    check_buildable(model)
    return ModelSource(model, root, fmt)


def _check_choice(model, layer: int, direction: int) -> None:
    if model.kind not in ("lstm", "gru"):
        raise ValueError(f"the layer top builds LSTM and GRU layers, not {model.kind!r}")
    if not 0 <= layer < len(model.layers):
        raise ValueError(f"--layer {layer} out of range: the model has {len(model.layers)} layers")
    if not 0 <= direction < len(model.layers[layer]):
        raise ValueError(f"--direction {direction} out of range: layer {layer} has "
                         f"{len(model.layers[layer])} direction(s)")


def layer_frames(model, x_codes: np.ndarray, layer: int):
    """(input codes (time, in) of ``layer``, their QFormat): the utterance's codes for layer 0, the
    integer engine's outputs of the layers below otherwise."""
    from rnnaccel.ref import run_int_model

    if layer == 0:
        return np.asarray(x_codes, np.int64), model.config.input
    below = dataclasses.replace(model, layers=model.layers[:layer])
    res = run_int_model(below, np.asarray(x_codes, np.int64)[None])
    return res.output[0].astype(np.int64), res.output_format


def build_model_design(path: str | Path, out: str | Path, *, lanes: int = 1, fmt: str = "16bit",
                       layer: int = 0, direction: int = 0, utterance: int = 0,
                       frames: int | None = None, streams: int = 1) -> dict:
    """Check everything, then write the design of one layer-direction of a trained model into ``out``."""
    from rnnaccel.export import run_features
    from rnnaccel.quant.qformat import quantize_float

    src = load_model_source(path, fmt)
    _check_choice(src.int_model, layer, direction)
    feats, split = run_features(src.run_dir, utterance)
    codes, _ = quantize_float(feats, src.int_model.config.input)
    meta = {"model": str(path), "run_dir": str(src.run_dir), "format": src.fmt, "split": split,
            "utterance": utterance}
    return write_layer_design(src.int_model, codes, out, layer=layer, direction=direction, lanes=lanes,
                              frames=frames, meta=meta, streams=streams)


def write_layer_design(model, codes: np.ndarray, out: str | Path, *, layer: int = 0, direction: int = 0,
                       lanes: int = 1, frames: int | None = None, meta: dict | None = None,
                       streams: int = 1) -> dict:
    """The design of layer-direction (``layer``, ``direction``) of an integer model fed the utterance
    ``codes`` (time, input_size) of the input point, truncated to ``frames``; also writes the export
    into ``out/model``. ``streams`` = 2: both directions of the bidirectional ``layer`` interleaved in
    the pipelined top (``direction`` unused): the forward stream over the (truncated) frames, the
    backward stream over the same frames last first."""
    from rnnaccel.export import write_int_model
    from rnnaccel.rtl.build import write_design, write_streams_design

    _check_choice(model, layer, direction)
    if frames is not None and frames < 1:
        raise ValueError(f"--frames must be >= 1, got {frames}")
    if streams != 1 and (streams != 2 or len(model.layers[layer]) != 2):
        raise ValueError(f"--streams {streams}: a model's layer builds with 1 stream, or 2 (its two "
                         f"directions); layer {layer} has {len(model.layers[layer])} direction(s)")
    x, in_fmt = layer_frames(model, codes, layer)
    info = {**(meta or {}), "layer": layer, "direction": "both" if streams == 2 else direction,
            "utterance_frames": int(len(codes))}
    source = {k: v for k, v in info.items() if k in ("run_dir", "format")}
    if streams == 2:
        x = x[:frames]
        return write_streams_design(Path(out), model.kind, model.layers[layer], model.config, [x, x[::-1]],
                                    lanes, {"source": info}, in_fmt=in_fmt,
                                    extra=lambda tmp: write_int_model(model, tmp / "model", source))
    x = (x[::-1] if direction == 1 else x)[:frames]  # the backward direction sees the last frame first
    return write_design(Path(out), model.kind, model.layers[layer][direction], model.config, x, lanes,
                        {"source": info}, in_fmt=in_fmt,
                        extra=lambda tmp: write_int_model(model, tmp / "model", source))
