"""Compression flows on top of :func:`rnnaccel.train.train`: ADMM, direct circulant training, pruning, QAT.

Each flow takes a trained dense phone recognizer (``rnnaccel.train.PhoneRecognizer``), copies it, and
returns a :class:`FlowResult` with the compressed model, the PER per epoch of every training stage and,
for ADMM, the residual ‖W − Z‖/‖W‖ per ADMM iteration. All flows use the training config's optimizer
(Adam), clipping and data; ``data`` = ``rnnaccel.train.load_data(config)`` is shared between flows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from rnnaccel.compress.admm import ADMMSchedule, ADMMState, IterationLog, write_admm_log
from rnnaccel.compress.prune import prune_model
from rnnaccel.compress.roles import to_block_circulant
from rnnaccel.io import atomic_output, tensors_sha256
from rnnaccel.nn import BlockSizeSpec
from rnnaccel.quant.recognizer import QuantRecognizer  # moved to rnnaccel.quant; re-exported

__all__ = [
    "FlowResult",
    "QuantRecognizer",
    "admm_flow",
    "direct_flow",
    "load_model",
    "load_trained",
    "prune_flow",
    "qat_flow",
    "save_model",
]


@dataclass
class FlowResult:
    """A compressed model and the evidence of how it was trained."""

    model: nn.Module
    stages: dict[str, list[dict]] = field(default_factory=dict)  # stage -> per-epoch records
    admm_log: list[IterationLog] = field(default_factory=list)
    masks: dict[str, torch.Tensor] | None = None


def _with(config, out_dir: Path, epochs: int):
    """A copy of the training config with another checkpoint directory and epoch count."""
    optim = config.optim.model_copy(update={"epochs": epochs})
    return config.model_copy(update={"optim": optim, "out_dir": str(out_dir)})


def _records(result) -> list[dict]:
    return [{"epoch": r.epoch, "loss": r.loss, "per": r.per, "lr": r.lr} for r in result.history]


def _train(config, model: nn.Module, data: tuple, progress: bool, **kw):
    from rnnaccel.train import train

    return train(config, model=model, data=data, progress=progress, **kw)


def load_trained(config, input_size: int, out_dir: str | Path) -> nn.Module:
    """Rebuild ``config.model`` and load the last checkpoint written by ``rnnaccel.train.train``."""
    from rnnaccel.train import build_model
    from rnnaccel.train.checkpoint import load_checkpoint, restore

    found = load_checkpoint(out_dir)
    if found is None:
        raise ValueError(f"no checkpoint in {str(out_dir)!r} (expected checkpoint.json from rnnaccel.train)")
    model = build_model(config.model, input_size)
    restore(model, None, found[1])
    return model


def save_model(model: nn.Module, path: str | Path) -> None:
    """Save a (compressed) recognizer's weights to safetensors, atomically."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_output(path) as tmp:
        save_file(state, str(tmp), metadata={"sha256": tensors_sha256(state)})


def load_model(config, input_size: int, block_size: BlockSizeSpec, path: str | Path) -> nn.Module:
    """Rebuild ``config.model`` with ``block_size`` and load weights saved by :func:`save_model`; a
    truncated, damaged (SHA-256 in its metadata) or foreign file is a ValueError naming it."""
    from rnnaccel.train import build_model

    if not Path(path).exists():
        raise ValueError(f"no saved model at {str(path)!r}; run its trial first")
    state = _read_state(Path(path))
    model = build_model(config.model.with_block_size(block_size), input_size)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ValueError(f"{path}: not a model of this trial's network ({str(exc).splitlines()[0]})") \
            from None
    return model


def _read_state(path: Path) -> dict:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            recorded = (f.metadata() or {}).get("sha256")
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (OSError, SafetensorError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the trial's model ({exc}); delete it to rerun the "
                         "trial") from None
    if recorded is not None and recorded != tensors_sha256(state):  # older files have none
        raise ValueError(f"{path}: the trial's model was modified or damaged (SHA-256 differs); delete "
                         "it to rerun the trial")
    return state


def admm_flow(dense: nn.Module, config, block_size: BlockSizeSpec, schedule: ADMMSchedule,
              finetune_epochs: int | None, data: tuple, out_dir: str | Path,
              progress: bool = False, teacher: nn.Module | None = None) -> FlowResult:
    """ADMM W/Z/U iterations on a copy of ``dense`` (``schedule``: ρ, Z/U interval, W-step kind, LR reset
    per iteration), hard projection onto Z, then fine-tuning of the defining vectors with a fresh
    optimizer (papers.md "ADMM"). ``finetune_epochs`` None: the schedule's; 0 skips fine-tuning. The
    residual log (JSON + PNG) is written to ``out_dir/admm``. ``teacher`` (with ``optim.distill`` > 0):
    the per-frame KL to it in every W-step and fine-tuning batch, as :func:`direct_flow`."""
    model = copy.deepcopy(dense)
    state = ADMMState(model, block_size, schedule)
    bar = _admm_bar(progress, schedule.iterations)

    def on_epoch(record, _model) -> None:
        if schedule.is_update_epoch(record.epoch):
            entry = state.step()
            if bar is not None:
                bar.update(1)
                bar.set_postfix(residual=f"{entry.residual:.4f}", rho=f"{entry.rho:g}")

    out, base = Path(out_dir), config.optim.lr
    proximal = schedule.w_step == "proximal"
    hook = {"after_step": state.proximal_step} if proximal else {"extra_loss": state.penalty}
    w_step = _train(_with(config, out / "admm", schedule.admm_epochs), model, data, progress,
                    on_epoch=on_epoch, optimizer=schedule.make_optimizer,
                    lr_at=lambda e: schedule.lr_of(e, base), teacher=teacher, **hook)
    if bar is not None:
        bar.close()
    state.hard_project()
    write_admm_log(state.log, out / "admm")
    result = FlowResult(model, {"admm": _records(w_step)}, list(state.log))
    result.stages["projected"] = [{"per": _evaluate_all(model, config, data)}]
    epochs = schedule.finetune_epochs if finetune_epochs is None else finetune_epochs
    if epochs:
        ft_lr = None if schedule.finetune_lr is None else (lambda _e: schedule.finetune_lr)
        ft = _train(_with(config, out / "finetune", epochs), model, data, progress,
                    optimizer=_finetune_optimizer, lr_at=ft_lr, teacher=teacher)
        result.stages["finetune"] = _records(ft)
    return result


def _finetune_optimizer(params: list[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """A fresh Adam over the projected model's parameters (no moments carried over from the W-step:
    the authors "reinitialize optimizer to reset momentum" after the hard projection)."""
    return torch.optim.Adam(params, lr=lr)


def _admm_bar(progress: bool, iterations: int) -> object | None:
    """A tqdm bar over ADMM iterations showing the residual ‖W − Z‖/‖W‖ and ρ."""
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=iterations, desc="ADMM", unit="iter", dynamic_ncols=True, disable=None)  # TTY only


def _evaluate_all(model: nn.Module, config, data: tuple) -> dict[str, float]:
    from rnnaccel.train import evaluate

    o = config.optim
    return {s: round(evaluate(model, d, loss=o.loss, decode=o.decode, beam_width=o.beam_width), 5)
            for s, d in data[1].items()}


def direct_flow(dense: nn.Module | None, config, block_size: BlockSizeSpec, epochs: int, data: tuple,
                out_dir: str | Path, progress: bool = False, resume: bool = False) -> FlowResult:
    """C-LSTM-style direct training of the defining vectors, starting from the Euclidean projection of
    ``dense`` (or from scratch when ``dense`` is None), no ADMM. ``resume`` continues from the
    checkpoint in ``out_dir`` (safe: the starting point is deterministic and the checkpoint holds the
    model and the optimizer)."""
    if dense is None:
        from rnnaccel.train import build_model

        model = build_model(config.model.with_block_size(block_size), data[0].feats[0].shape[1])
    else:
        model = to_block_circulant(copy.deepcopy(dense), block_size)
    result = FlowResult(model, {"projected": [{"per": _evaluate_all(model, config, data)}]})
    trained = _train(_with(config, Path(out_dir) / "direct", epochs), model, data, progress, resume=resume,
                     teacher=dense)  # used with optim.distill > 0: frame-level KL to the dense model
    result.stages["direct"] = _records(trained)
    return result


def prune_flow(dense: nn.Module, config, sparsity: float, n_pe: int, epochs: int, data: tuple,
               out_dir: str | Path, progress: bool = False, teacher: nn.Module | None = None) -> FlowResult:
    """ESE load-balance-aware pruning of a copy of ``dense``, then masked fine-tuning (``teacher``: as
    :func:`admm_flow`)."""
    model = copy.deepcopy(dense)
    masks = prune_model(model, sparsity, n_pe)
    result = FlowResult(model, {"pruned": [{"per": _evaluate_all(model, config, data)}]}, masks=masks)
    trained = _train(_with(config, Path(out_dir) / "prune", epochs), model, data, progress, teacher=teacher)
    result.stages["finetune"] = _records(trained)
    return result


def qat_flow(model: nn.Module, config, quant_config, epochs: int, data: tuple, out_dir: str | Path,
             progress: bool = False) -> FlowResult:
    """Quantization-aware fine-tuning (STE) of a copy of ``model`` under ``quant_config``."""
    wrapped = QuantRecognizer(copy.deepcopy(model), quant_config)
    result = FlowResult(wrapped, {"quantized": [{"per": _evaluate_all(wrapped, config, data)}]})
    if epochs:
        trained = _train(_with(config, Path(out_dir) / "qat", epochs), wrapped, data, progress)
        result.stages["qat"] = _records(trained)
    return result
