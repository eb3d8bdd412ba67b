"""ONNX export (circulant layers as their dense MatMul) checked with onnxruntime against torch."""

import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from rnnaccel.train.config import ModelConfig
from rnnaccel.train.model import build_model

SHAPES = [
    ModelConfig(cell="lstm", hidden_size=16, proj_size=8, peepholes=True, num_layers=2, block_size=8),
    ModelConfig(cell="lstm", hidden_size=12, num_layers=1, bidirectional=False, block_size=None),
    ModelConfig(cell="gru", hidden_size=16, num_layers=2, block_size={"input": 4, "recurrent": 8}),
    ModelConfig(cell="gru", hidden_size=10, num_layers=1, block_size=None),
]


@pytest.mark.parametrize("cfg", SHAPES, ids=["lstmp-peep-k8", "lstm-dense", "gru-k4-8", "gru-dense"])
def test_onnxruntime_equals_torch(cfg):
    pytest.importorskip("onnxruntime")
    from rnnaccel.export.onnx import check_onnx, onnx_model

    torch.manual_seed(0)
    model = build_model(cfg, 13).eval()
    blob = onnx_model(model).SerializeToString()
    for batch, steps in ((1, 5), (3, 17)):  # batch and time are dynamic
        x = np.random.default_rng(batch).standard_normal((batch, steps, 13)).astype(np.float32)
        assert check_onnx(blob, model, x) < 1e-5  # float32 vs float32: a few ulps of the log-probs


def test_missing_onnx_says_how_to_install(monkeypatch):
    from rnnaccel.export.onnx import onnx_model

    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ValueError, match=r"pip install 'rnnaccel\[onnx\]'"):
        onnx_model(build_model(SHAPES[1], 13))


def test_cli_onnx(tmp_path):
    pytest.importorskip("onnxruntime")
    from rnnaccel.cli import main
    from rnnaccel.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = SHAPES[0]
    model = build_model(cfg, 13)
    save_checkpoint(tmp_path / "run", 1, model, torch.optim.Adam(model.parameters()),
                    {"mean": torch.zeros(13), "std": torch.ones(13)}, {"config": {"model": cfg.model_dump()}})
    res = CliRunner().invoke(main, ["export", str(tmp_path / "run"), "--onnx", str(tmp_path / "m.onnx")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "m.onnx").stat().st_size > 1000 and "onnxruntime vs torch" in res.output
