"""Checkpoints without pickle: tensors in safetensors, config and training state in JSON.

A checkpoint is ``epoch-<N>.safetensors`` (model ``model.*``, Adam state ``optim.<i>.*``, normalization
``norm.*``) plus ``checkpoint.json`` pointing at it. The tensor file is written first and the JSON
replaced atomically afterwards, so after a kill -9 at any point ``checkpoint.json`` names a complete
tensor file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

__all__ = ["POINTER", "load_checkpoint", "restore", "save_checkpoint"]

POINTER = "checkpoint.json"


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def _optim_tensors(optim: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    out = {}
    for idx, state in optim.state_dict()["state"].items():
        for key, value in state.items():
            out[f"optim.{idx}.{key}"] = torch.as_tensor(value).clone()
    return out


def save_checkpoint(out_dir: str | Path, epoch: int, model: torch.nn.Module, optim: torch.optim.Optimizer,
                    norm: dict[str, torch.Tensor], state: dict) -> Path:
    """Write the checkpoint of a finished ``epoch``; returns the tensor file's path."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    tensors |= _optim_tensors(optim) | {f"norm.{k}": v for k, v in norm.items()}
    name = f"epoch-{epoch}.safetensors"
    _atomic(out / name, lambda p: save_file(tensors, str(p)))
    _atomic(out / POINTER, lambda p: p.write_text(json.dumps({**state, "epoch": epoch, "tensors": name},
                                                             indent=1)))
    for old in out.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return out / name


def load_checkpoint(out_dir: str | Path) -> tuple[dict, dict[str, torch.Tensor]] | None:
    """(state JSON, tensors) of the last checkpoint in ``out_dir``, or None when there is none."""
    from safetensors.torch import load_file

    pointer = Path(out_dir) / POINTER
    if not pointer.exists():
        return None
    state = json.loads(pointer.read_text())
    return state, load_file(str(Path(out_dir) / state["tensors"]))


def restore(model: torch.nn.Module, optim: torch.optim.Optimizer | None,
            tensors: dict[str, torch.Tensor]) -> None:
    """Load model (and Adam) state saved by ``save_checkpoint``."""
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if optim is None:
        return
    sd = optim.state_dict()
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            sd["state"].setdefault(int(idx), {})[name] = value
    optim.load_state_dict(sd)
