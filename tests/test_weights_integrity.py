"""``out_dir/best.safetensors`` (restore_best) and a compress trial's ``model.safetensors`` carry the
SHA-256 of their tensors: overwritten bytes, a truncated file or another network's weights are an error
naming the file, never other weights used silently (issue 16)."""

import pytest
import torch

from rnnaccel.train.config import Config
from rnnaccel.train.loop import _best_path, _load_best, _save_best
from rnnaccel.train.model import build_model


def test_damaged_best_weights_are_an_error_naming_the_file(tmp_path):
    config = Config.model_validate({"model": {"hidden_size": 8, "num_layers": 1}, "out_dir": str(tmp_path)})
    torch.manual_seed(0)
    model = build_model(config.model, 39)
    _save_best(config, model, 3)
    other = build_model(config.model, 39)
    _load_best(config, other, 3)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters(), strict=True))
    path = _best_path(config)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40  # inside the last tensor's bytes: still a valid safetensors file
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{path}: the best-epoch weights were modified or damaged"):
        _load_best(config, other, 3)


def test_a_damaged_or_foreign_trial_model_is_an_error_naming_it(tmp_path):
    from rnnaccel.compress.pipeline import load_model, save_model

    config = Config.model_validate({"model": {"hidden_size": 8, "num_layers": 1}})
    model = build_model(config.model.with_block_size(4), 39)
    path = tmp_path / "model.safetensors"
    save_model(model, path)
    loaded = load_model(config, 39, 4, path)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), loaded.parameters(), strict=True))
    with pytest.raises(ValueError, match=rf"{path}: not a model of this trial's network"):
        load_model(config, 39, 2, path)  # another block size: other tensor shapes
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{path}: the trial's model was modified or damaged"):
        load_model(config, 39, 4, path)
    path.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ValueError, match=rf"{path}: cannot read the trial's model"):
        load_model(config, 39, 4, path)
