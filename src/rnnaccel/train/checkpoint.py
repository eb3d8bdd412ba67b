"""Checkpoints without pickle: tensors in safetensors, config and training state in JSON.

A checkpoint is ``epoch-<N>.safetensors`` (model ``model.*``, Adam state ``optim.<i>.*``, normalization
``norm.*``) plus ``checkpoint.json`` pointing at it with the tensor file's SHA-256 and the run's
identity (its config, and a SHA-256 of the training data). The tensor file is written first and the
JSON replaced atomically afterwards; the previous epoch's file is removed only then, so after a kill -9
at any point ``checkpoint.json`` names a complete tensor file.

Loading checks everything: a pointer that is not the JSON written here, a tensor file name that is not
``epoch-<N>.safetensors`` inside the run directory, a file whose SHA-256 differs, non-finite weights,
tensors that do not fit the model, missing optimizer state, and (for ``--resume``) a run made with
other settings or data: each is a ``ValueError`` naming the file and what differs.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import torch

from rnnaccel.io import atomic_output, write_json_atomic

__all__ = ["POINTER", "RESUMABLE_KEYS", "check_same_run", "load_checkpoint", "restore", "run_dir",
           "run_identity", "save_checkpoint"]

POINTER = "checkpoint.json"
_TENSOR_FILE = re.compile(r"epoch-[0-9]{1,9}\.safetensors")
# Config keys that may change between a run and its resume (they do not change the trained weights).
RESUMABLE_KEYS = frozenset({"optim.epochs", "out_dir", "data.cache_dir", "data.eval_splits", "optim.decode",
                            "optim.beam_width"})


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_identity(config: object) -> dict:
    """What a checkpoint must match to be resumed: the config (a pydantic ``train.Config``) and the
    SHA-256 of its training split's files."""
    from rnnaccel.data.features import split_digest

    data = config.data  # type: ignore[attr-defined]
    digest = split_digest(data.corpus, data.train_split) if Path(data.corpus).is_dir() else None
    return {"config": config.model_dump(mode="json"), "data_sha256": digest}  # type: ignore[attr-defined]


def _optim_tensors(optim: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for idx, state in optim.state_dict()["state"].items():
        for key, value in state.items():
            out[f"optim.{idx}.{key}"] = torch.as_tensor(value).clone()
    return out


def _check_finite(tensors: dict[str, torch.Tensor], where: str) -> None:
    for name, value in tensors.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise ValueError(f"{where}: tensor {name} has NaN or Inf values")


def run_dir(out_dir: str | Path) -> Path:
    """``out_dir``, created; ValueError naming it when it cannot be (e.g. it is a regular file)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"out_dir {str(out)!r}: cannot create the run directory ({exc.strerror}); "
                         f"expected a writable directory") from None
    return out


def save_checkpoint(out_dir: str | Path, epoch: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
                    norm: dict[str, torch.Tensor], state: dict) -> Path:
    """Write the checkpoint of a finished ``epoch``; returns the tensor file's path.

    Non-finite weights are refused (ValueError), so the previous epoch's checkpoint stays the last one."""
    from safetensors.torch import save_file

    out = run_dir(out_dir)
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    _check_finite(tensors, f"epoch {epoch} (not saved; the previous checkpoint in {str(out)!r} is kept)")
    tensors |= _optim_tensors(optim) | {f"norm.{k}": v for k, v in norm.items()}
    name = f"epoch-{epoch}.safetensors"
    try:
        with atomic_output(out / name, suffix=".safetensors") as tmp:
            save_file(tensors, str(tmp))
        write_json_atomic(out / POINTER, {**state, "epoch": epoch, "tensors": name,
                                          "sha256": _sha256(out / name)})
    except OSError as exc:
        raise ValueError(f"{out / name}: cannot write the checkpoint ({exc.strerror})") from None
    for old in out.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return out / name


def _read_pointer(pointer: Path) -> dict:
    bad = f"{pointer}: damaged checkpoint pointer"
    try:
        state = json.loads(pointer.read_bytes())
    except OSError as exc:
        raise ValueError(f"{pointer}: cannot read ({exc.strerror})") from None
    except (ValueError, RecursionError):
        raise ValueError(f"{bad} (not valid JSON); delete the run directory to start afresh") from None
    if not isinstance(state, dict):
        raise ValueError(f"{bad} (expected a JSON object)")
    epoch, name, digest = state.get("epoch"), state.get("tensors"), state.get("sha256")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"{bad}: 'epoch' must be a positive integer")
    if not isinstance(name, str) or not _TENSOR_FILE.fullmatch(name):
        raise ValueError(f"{bad}: 'tensors' must name an epoch-<N>.safetensors file in the run directory")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"{bad}: no 'sha256' of the tensor file (written by an older rnnaccel?); "
                         f"delete the run directory to start afresh")
    if not isinstance(state.get("history", []), list):
        raise ValueError(f"{bad}: 'history' must be a list")
    return state


def _tensor_path(out: Path, pointer: Path, name: str) -> Path:
    path = out / name
    if not path.resolve().is_relative_to(out.resolve()):
        raise ValueError(f"{pointer}: tensor file {name} leads outside the run directory {out}; refused")
    if not path.is_file():
        raise ValueError(f"{pointer}: names {name}, which is missing from {out}")
    return path


def load_checkpoint(out_dir: str | Path, expect: dict | None = None
                    ) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """(state JSON, tensors) of the last checkpoint in ``out_dir``, or None when there is none.

    ``expect`` (``run_identity(config)``) must match the run that wrote it (``check_same_run``)."""
    from safetensors.torch import load_file

    out = Path(out_dir)
    pointer = out / POINTER
    if not pointer.exists():
        return None
    state = _read_pointer(pointer)
    path = _tensor_path(out, pointer, state["tensors"])
    if _sha256(path) != state["sha256"]:
        raise ValueError(f"{path}: damaged checkpoint (its SHA-256 differs from the one in {pointer})")
    if expect is not None:
        check_same_run(pointer, state, expect)
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors' own error types
        raise ValueError(f"{path}: unreadable checkpoint ({type(exc).__name__})") from None
    _check_finite({k: v for k, v in tensors.items() if k.startswith("model.")}, str(path))
    return state, tensors


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, object] = {}
    for key, item in value.items():
        out |= _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    return out


def _defaults() -> dict[str, object]:
    from rnnaccel.train.config import Config

    return _flatten(Config.model_validate({}).model_dump(mode="json"))


def _differences(old: dict, new: dict) -> list[str]:
    """Changed keys; a key that the checkpoint's rnnaccel did not have yet (absent from ``old``) differs
    only when the new value is not the key's default, which is what that older version did."""
    a, b, defaults = _flatten(old), _flatten(new), _defaults()
    a |= {k: defaults[k] for k in b.keys() - a.keys() if k in defaults}
    keys = sorted((a.keys() | b.keys()) - RESUMABLE_KEYS)
    return [f"{k} {json.dumps(a.get(k))} -> {json.dumps(b.get(k))}" for k in keys if a.get(k) != b.get(k)]


def check_same_run(pointer: str | Path, state: dict, expect: dict) -> None:
    """ValueError listing what differs between the checkpoint's run and ``expect`` (``run_identity``)."""
    old_data = state.get("data_sha256")
    # The same training data under another spelling of its path (relative/absolute, moved corpus) is
    # the same run: the data's SHA-256 identifies it, so the path string is compared only without one.
    same_data = old_data is not None and old_data == expect.get("data_sha256")
    diffs = [d for d in _differences(state.get("config") or {}, expect.get("config") or {})
             if not (same_data and d.startswith("data.corpus "))]
    if old_data != expect.get("data_sha256"):
        diffs.append(f"training data SHA-256 {str(old_data)[:12]} -> {str(expect.get('data_sha256'))[:12]}")
    if diffs:
        raise ValueError(f"{pointer}: cannot resume: the checkpoint was made by another run ("
                         f"{'; '.join(diffs[:8])}{'; ...' if len(diffs) > 8 else ''}); use those settings "
                         f"and data, or another out_dir")


def _restore_model(model: torch.nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    saved = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    expected = model.state_dict()
    missing, extra = sorted(expected.keys() - saved.keys()), sorted(saved.keys() - expected.keys())
    if missing or extra:
        raise ValueError(f"{source}: the checkpoint does not fit the model (missing {missing[:4]}, "
                         f"unexpected {extra[:4]}): it was made for another network")
    for key, value in saved.items():
        if tuple(value.shape) != tuple(expected[key].shape):
            raise ValueError(f"{source}: model.{key} has shape {tuple(value.shape)}, the model expects "
                             f"{tuple(expected[key].shape)}: the checkpoint was made for another network")
    model.load_state_dict(saved)


def _optim_state(optim: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], source: str
                 ) -> dict[int, dict[str, torch.Tensor]]:
    params = [p for g in optim.param_groups for p in g["params"]]
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            if not idx.isdigit() or int(idx) >= len(params):
                raise ValueError(f"{source}: optimizer tensor {key} does not fit the model's {len(params)} "
                                 f"parameters: the checkpoint was made for another network")
            if value.ndim and tuple(value.shape) != tuple(params[int(idx)].shape):
                raise ValueError(f"{source}: optimizer tensor {key} has shape {tuple(value.shape)}, its "
                                 f"parameter {tuple(params[int(idx)].shape)}")
            state.setdefault(int(idx), {})[name] = value
    return state


def _restore_optim(optim: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], source: str) -> None:
    state = _optim_state(optim, tensors, source)
    if not state or len({frozenset(s) for s in state.values()}) != 1:
        raise ValueError(f"{source}: optimizer state is missing or incomplete (optim.* tensors); resuming "
                         f"would silently restart Adam: start a new out_dir")
    sd = optim.state_dict()
    sd["state"] = state
    try:
        optim.load_state_dict(sd)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise ValueError(f"{source}: optimizer state does not fit ({exc})") from None


def restore(model: torch.nn.Module, optim: torch.optim.Optimizer | None,
            tensors: dict[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Load model (and Adam) state saved by ``save_checkpoint``; ValueError naming ``source`` (the
    file) when the tensors do not fit the model or the optimizer state is missing."""
    _restore_model(model, tensors, source)
    if optim is not None:
        _restore_optim(optim, tensors, source)
