"""The compression flows end to end through rnnaccel.train on a 4-utterance random corpus."""

import numpy as np
import pytest
import torch

from rnnaccel.compress import ADMMSchedule, iter_roles, model_cost, pe_nonzeros
from rnnaccel.compress.pipeline import (
    QuantRecognizer,
    admm_flow,
    direct_flow,
    load_model,
    prune_flow,
    qat_flow,
    save_model,
)
from rnnaccel.data.features import FeatureStats
from rnnaccel.nn import BlockCirculantLinear
from rnnaccel.train import Config, Dataset, build_model


@pytest.fixture
def tiny(tmp_path):
    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(18, 13, generator=gen) for _ in range(4)]
    phones = [torch.randint(0, 61, (5,), generator=gen) for _ in range(4)]
    frames = [torch.randint(0, 61, (18,), generator=gen) for _ in range(4)]
    data = Dataset("train", feats, frames, phones)
    stats = FeatureStats(np.zeros(13, np.float32), np.ones(13, np.float32))
    config = Config.model_validate({"model": {"cell": "lstm", "hidden_size": 8, "num_layers": 1},
                                    "optim": {"epochs": 1, "batch_size": 2}, "out_dir": str(tmp_path / "d")})
    return config, (data, {"dev": data}, stats), build_model(config.model, 13), tmp_path


def test_admm_flow_hard_projects_and_logs_residuals(tiny):
    config, data, dense, tmp = tiny
    schedule = ADMMSchedule(iterations=2, rho0=0.1, rho_growth=2.0)
    spec = {"input": 4, "recurrent": 8}
    result = admm_flow(dense, config, spec, schedule, 1, data, tmp / "a", progress=True)
    assert [e.rho for e in result.admm_log] == pytest.approx([0.1, 0.2])
    assert all(0 <= e.residual < 1 for e in result.admm_log)
    assert set(result.stages) == {"admm", "projected", "finetune"}
    assert [r.module.block_size for r in iter_roles(result.model)] == [4, 8, 4, 8]
    assert all(isinstance(r.module, torch.nn.Linear) for r in iter_roles(dense))  # the input is not changed


def test_direct_flow_from_projection_and_from_scratch(tiny):
    config, data, dense, tmp = tiny
    for start in (dense, None):
        result = direct_flow(start, config, 4, 1, data, tmp / "d")
        assert all(isinstance(r.module, BlockCirculantLinear) for r in iter_roles(result.model))
        assert len(result.stages["direct"]) == 1


def test_prune_flow_keeps_balance_after_fine_tuning(tiny):
    config, data, dense, tmp = tiny
    result = prune_flow(dense, config, 0.9, 4, 2, data, tmp / "p")
    for role in iter_roles(result.model):
        w = role.module.weight
        assert pe_nonzeros(w, 4) == [int((w.shape[0] // 4) * w.shape[1] * 0.1 + 1e-9)] * 4
        assert torch.all(w[~result.masks[role.key]] == 0)
    kept = sum(int(m.sum()) for m in result.masks.values())
    assert model_cost(result.model, 12, sparse=True).params == kept


def test_qat_flow_and_save_load(tiny):
    config, data, dense, tmp = tiny
    from rnnaccel.quant import QuantConfig

    result = qat_flow(dense, config, QuantConfig.c_lstm(), 1, data, tmp / "q")
    assert isinstance(result.model, QuantRecognizer)
    assert np.isfinite(result.stages["qat"][0]["loss"])
    save_model(dense, tmp / "m.safetensors")
    again = load_model(config, 13, None, tmp / "m.safetensors")
    x = torch.randn(1, 6, 13)
    assert torch.equal(again(x), dense(x))
    with pytest.raises(ValueError, match="no saved model"):
        load_model(config, 13, None, tmp / "none.safetensors")
