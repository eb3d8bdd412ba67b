"""``out_dir/best.safetensors`` (restore_best) carries the SHA-256 of its tensors: overwritten bytes are
an error naming the file when the best epoch is restored, not other weights used silently (issue 16)."""

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
