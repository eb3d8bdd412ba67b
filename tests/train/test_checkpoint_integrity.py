"""Checkpoint integrity: NaN guard, damaged/foreign checkpoints, confined paths, stale resumes."""

import math

import pytest
import torch

from rnnaccel.train import Config, train
from rnnaccel.train.checkpoint import POINTER


def _config(corpus, out_dir, **optim):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["test"]},
        "model": {"hidden_size": 8, "num_layers": 1},
        "optim": {"epochs": 1, "batch_size": 4, "lr": 0.01, **optim},
        "out_dir": str(out_dir)})


def _poison(model_factory_result: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        next(model_factory_result.parameters()).view(-1)[0] = math.nan
    return model_factory_result


def test_nan_loss_stops_with_epoch_and_batch(tiny_corpus, tmp_path):
    from rnnaccel.train.model import build_model

    config = _config(tiny_corpus, tmp_path / "run")
    with pytest.raises(ValueError, match=r"loss is nan at epoch 1, batch 1"):
        train(config, model_factory=lambda c, n: _poison(build_model(c.model, n)))
    assert not (tmp_path / "run" / POINTER).exists()
