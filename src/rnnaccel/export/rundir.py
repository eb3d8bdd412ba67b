"""What ``rnnaccel export RUN_DIR`` reads: a training run directory and a fixed-point format.

A RUN_DIR is any directory a ``rnnaccel.train`` run wrote (``checkpoint.json`` + ``epoch-<N>.safetensors``,
see :mod:`rnnaccel.train.checkpoint`): ``rnnaccel train``'s ``out_dir``, or inside a flow's ``out_dir``
the chosen model's run (``direct-k8/direct``, ``admm-k8/...``, ``qat/qat``). The network is rebuilt
from the checkpoint's model config, with each role's block size read from its weight's shape (Phase I
turns dense roles circulant without changing the config), and its input size from the saved
normalization. The fixed-point format is a preset name (``16bit``: C-LSTM's ap_fixed<16,8> + PWL;
``12bit``) — the flow's ``quant`` setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from rnnaccel.quant.config import QuantConfig

__all__ = ["FORMATS", "RunModel", "load_run", "quant_format", "run_features"]

FORMATS = ("16bit", "12bit")


@dataclass(frozen=True)
class RunModel:
    """The float recognizer of a run (``model.rnn`` is the rnnaccel.nn LSTM/GRU) and where it came from."""

    model: nn.Module
    run_dir: Path
    epoch: int
    input_size: int


def quant_format(name: str) -> QuantConfig:
    """The QuantConfig of a format preset name."""
    from rnnaccel.compress.trials import quant_preset

    if name not in FORMATS:
        raise ValueError(f"unknown fixed-point format {name!r}, expected one of {list(FORMATS)}")
    return quant_preset(name)


def _nested_runs(root: Path) -> list[str]:
    return sorted(str(p.parent) for p in root.glob("**/checkpoint.json"))[:12]


def _read(run: Path) -> tuple[dict, dict]:
    from rnnaccel.train.checkpoint import load_checkpoint

    if not run.is_dir():
        raise ValueError(f"run directory {str(run)!r} does not exist (or is not a directory)")
    try:
        loaded = load_checkpoint(run)
    except ValueError:
        raise
    except Exception as exc:  # a damaged pointer or tensor file of an older checkpoint format
        raise ValueError(f"{run}: corrupt checkpoint ({type(exc).__name__}: {exc})") from None
    if loaded is None:
        nested = _nested_runs(run)
        hint = f"; run directories below it: {nested}" if nested else ""
        raise ValueError(f"{run}: no checkpoint.json (not a training run directory){hint}")
    return loaded


def _rnn_tensors(tensors: dict) -> dict:
    """The recognizer's state dict from a checkpoint (plain, or a QuantRecognizer's ``rnn.model.*``)."""
    out = {}
    for key, value in tensors.items():
        if key.startswith("model."):
            name = key[len("model."):]
            out[name.replace("rnn.model.", "rnn.", 1) if name.startswith("rnn.model.") else name] = value
    return out


def _block_spec(state: dict, num_layers: int) -> list[dict[str, int | None]]:
    """Per layer and role the block size (last axis of a 3-D circulant weight) or None (dense)."""
    spec = []
    for layer in range(num_layers):
        roles = {}
        for role, key in (("input", "ih"), ("recurrent", "hh"), ("projection", "proj")):
            w = state.get(f"rnn.layers.{layer}.0.{key}.weight")
            roles[role] = int(w.shape[-1]) if w is not None and w.dim() == 3 else None
        spec.append(roles)
    return spec


def load_run(run_dir: str | Path) -> RunModel:
    """Rebuild a run's float recognizer from its last checkpoint (errors name the file and value)."""
    from rnnaccel.train.config import ModelConfig
    from rnnaccel.train.model import build_model

    run = Path(run_dir)
    state_json, tensors = _read(run)
    try:
        model_cfg = ModelConfig.model_validate(state_json["config"]["model"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{run / 'checkpoint.json'}: no valid model config ({exc})") from None
    state = _rnn_tensors(tensors)
    if "norm.mean" not in tensors:
        raise ValueError(f"{run}: checkpoint has no norm.mean (cannot tell the input size)")
    input_size = int(tensors["norm.mean"].numel())
    spec = _block_spec(state, model_cfg.num_layers)
    model = build_model(model_cfg.model_copy(update={"block_size": spec}), input_size)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{run}: checkpoint tensors do not fit its model config (missing {missing[:4]}, "
                         f"unexpected {unexpected[:4]})")
    return RunModel(model.eval(), run, int(state_json.get("epoch", -1)), input_size)


def run_features(run_dir: str | Path, utterance: int = 0, split: str | None = None):
    """(features (time, dim) of one utterance of the run's corpus, normalized with the run's saved
    statistics as training fed them, the split's name). ``split``: the run's ``test`` split if it
    evaluates one, else its first eval split. Errors name the run, corpus, split or index."""
    import numpy as np

    from rnnaccel.data.features import load_features
    from rnnaccel.train.config import Config

    run = Path(run_dir)
    state_json, tensors = _read(run)
    try:
        cfg = Config.model_validate(state_json["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{run / 'checkpoint.json'}: no valid training config ({exc})") from None
    d = cfg.data
    name = split or ("test" if "test" in d.eval_splits else d.eval_splits[0])
    if not Path(d.corpus).is_dir():
        raise ValueError(f"{run}: its corpus {d.corpus!r} does not exist (the run's data.corpus)")
    feats = load_features(d.corpus, name, d.feature_settings(), d.cache_dir).feats
    if not 0 <= utterance < len(feats):
        raise ValueError(f"utterance {utterance} out of range: split {name!r} of {d.corpus} has {len(feats)}")
    mean, std = (tensors[f"norm.{k}"].numpy() for k in ("mean", "std"))
    return ((feats[utterance] - mean) / std).astype(np.float32), name
