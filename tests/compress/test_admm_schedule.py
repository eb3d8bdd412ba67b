"""The ADMM schedule: proximal W-step on a convex toy problem, ρ/LR schedules, fresh optimizer after the
hard projection, one schedule type for compress and flow, the residual log."""

import json

import pytest
import torch

from rnnaccel.compress import ADMMSchedule, ADMMState, iter_roles
from rnnaccel.compress import pipeline as pipe
from rnnaccel.compress.admm import write_admm_log
from rnnaccel.compress.config import CompressConfig
from rnnaccel.nn import LSTM, block_circulant_vectors, expand_block_circulant


def _constrained_optimum(x: torch.Tensor, target: torch.Tensor, k: int) -> torch.Tensor:
    """argmin over block-circulant W of ‖x (W − T)ᵀ‖²: least squares over the defining vectors."""
    out, inp = target.shape
    n = block_circulant_vectors(torch.zeros(out, inp), k).numel()
    shape = block_circulant_vectors(torch.zeros(out, inp), k).shape
    basis = [expand_block_circulant(torch.eye(n, dtype=torch.float64)[j].reshape(shape), out, inp)
             for j in range(n)]
    design = torch.stack([(x @ b.T).reshape(-1) for b in basis], 1)
    coef = torch.linalg.lstsq(design, (x @ target.T).reshape(-1, 1)).solution
    return sum(c * b for c, b in zip(coef[:, 0], basis, strict=True))


def test_proximal_w_step_converges_to_the_constrained_optimum():
    torch.manual_seed(0)
    model = LSTM(8, 4, block_size=None).double()
    x = torch.randn(64, 8, dtype=torch.float64)
    state = ADMMState(model, 4, ADMMSchedule(iterations=25, rho0=0.01, rho_growth=1.0))
    targets = {r.key: torch.randn_like(r.module.weight) for r in state.roles}
    for _ in range(25):
        for _ in range(50):
            with torch.no_grad():
                for r in state.roles:  # an SGD step on f = mean((x (W − T)ᵀ)²), gradient in closed form
                    w, xs = r.module.weight, x[:, : r.module.weight.shape[1]]
                    w -= 0.1 * 2 * (w - targets[r.key]) @ (xs.T @ xs) / (xs.shape[0] * w.shape[0])
            state.proximal_step()  # the penalty outside the optimizer
        state.step()
    for r in state.roles:
        best = _constrained_optimum(x[:, : r.module.weight.shape[1]], targets[r.key], 4)
        err = float((state.z_dense(r.key) - best).norm() / best.norm())
        assert err < 1e-3, (r.key, err)
    assert state.log[-1].residual < 1e-3 < state.log[0].residual


def test_proximal_step_is_the_exact_prox_operator():
    model = LSTM(8, 4, block_size=None)
    state = ADMMState(model, 4, ADMMSchedule(rho0=0.3))
    role = state.roles[0]
    with torch.no_grad():
        role.module.weight.add_(1.0)
        state.u[role.key].fill_(0.25)
    state._refresh_targets()
    w0 = role.module.weight.detach().clone()
    state.proximal_step()
    expected = (w0 + 0.3 * (state.z_dense(role.key) - 0.25)) / 1.3
    assert torch.allclose(role.module.weight, expected, atol=1e-6)


def test_rho_and_lr_schedules_as_configured():
    s = ADMMSchedule(iterations=3, epochs_per_iteration=3, rho0=1e-3, rho_growth=1.3, lr=0.02)
    assert [s.rho(i) for i in range(3)] == pytest.approx([1e-3, 1.3e-3, 1.69e-3])
    assert [s.lr_of(e, 1.0) for e in range(1, 10)] == pytest.approx([0.02, 0.02, 0.002] * 3)
    assert [s.is_update_epoch(e) for e in range(1, 7)] == [False, False, True] * 2
    assert s.total_epochs == 3 * 3 + 2
    two = ADMMSchedule(epochs_per_iteration=4, lr_drop_epoch=2, lr_drop_factor=0.5)
    assert [two.lr_of(e, 1.0) for e in range(1, 9)] == [1, 0.5, 0.5, 0.5] * 2
    assert [ADMMSchedule(epochs_per_iteration=1).lr_of(e, 0.3) for e in (1, 2)] == [0.3, 0.3]
    assert [ADMMSchedule(lr_drop_epoch=None).lr_of(e, 0.3) for e in (1, 2)] == [0.3, 0.3]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"rho_growth": 0.5}, "rho_growth"),
    ({"rho0": 2.0, "rho_max": 1.0}, "rho0 <= rho_max"),
    ({"iterations": 0}, "iterations"),
    ({"lr_drop_epoch": 3, "epochs_per_iteration": 2}, "lr_drop_epoch must be in 1..epochs_per_iteration=2"),
    ({"w_step": "adam"}, "w_step"),
    ({"rho": 1.0}, "rho"),
])
def test_schedule_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ADMMSchedule(**kwargs)


def test_one_schedule_type_for_compress_and_flow():
    from rnnaccel.flow import FlowConfig

    assert type(CompressConfig().admm) is ADMMSchedule
    assert FlowConfig.model_fields["admm"].annotation is ADMMSchedule
    assert CompressConfig().admm == ADMMSchedule()
    with pytest.raises(ValueError, match="lr_drop_epoch"):
        CompressConfig.model_validate({"admm": {"lr_drop_epoch": 5}})


def test_w_step_optimizers():
    params = [torch.nn.Parameter(torch.zeros(3))]
    sgd = ADMMSchedule(w_step="sgd", momentum=0.8).make_optimizer(params, 0.1)
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.8
    assert isinstance(ADMMSchedule().make_optimizer(params, 0.1), torch.optim.Adam)


@pytest.fixture
def tiny(tmp_path):
    import numpy as np

    from rnnaccel.data.features import FeatureStats
    from rnnaccel.train import Config, Dataset, build_model

    gen = torch.Generator().manual_seed(1)
    feats = [torch.randn(18, 13, generator=gen) for _ in range(4)]
    phones = [torch.randint(0, 61, (5,), generator=gen) for _ in range(4)]
    frames = [torch.randint(0, 61, (18,), generator=gen) for _ in range(4)]
    data = Dataset("train", feats, frames, phones)
    stats = FeatureStats(np.zeros(13, np.float32), np.ones(13, np.float32))
    config = Config.model_validate({"model": {"cell": "lstm", "hidden_size": 8, "num_layers": 1},
                                    "optim": {"epochs": 1, "batch_size": 2, "lr": 0.01},
                                    "out_dir": str(tmp_path / "d")})
    return config, (data, {"dev": data}, stats), build_model(config.model, 13), tmp_path


@pytest.mark.parametrize("w_step", ["proximal", "sgd"])
def test_admm_flow_schedule_and_fresh_optimizer_after_projection(tiny, monkeypatch, w_step):
    config, data, dense, tmp = tiny
    made = []

    def spy(params, lr):
        opt = torch.optim.Adam(params, lr=lr)
        made.append((opt, [id(p) for p in params], len(opt.state)))
        return opt

    monkeypatch.setattr(pipe, "_finetune_optimizer", spy)
    schedule = ADMMSchedule(iterations=2, epochs_per_iteration=2, rho0=0.1, rho_growth=2.0,
                            w_step=w_step, finetune_epochs=1, finetune_lr=0.004)
    result = pipe.admm_flow(dense, config, 4, schedule, None, data, tmp / "a")
    assert [r["lr"] for r in result.stages["admm"]] == pytest.approx([0.01, 0.001, 0.01, 0.001])
    assert [e.rho for e in result.admm_log] == pytest.approx([0.1, 0.2])
    assert [r["lr"] for r in result.stages["finetune"]] == [0.004]
    (opt, ids, state_size), = made  # one fresh optimizer, built for the projected model's parameters
    assert ids == [id(p) for p in result.model.parameters()] and state_size == 0
    assert all(type(r.module).__name__ == "BlockCirculantLinear" for r in iter_roles(result.model))
    log = json.loads((tmp / "a" / "admm" / "admm_residuals.json").read_text())
    assert [e["iteration"] for e in log] == [0, 1] and set(log[0]["residual_per_role"]) == {
        r.key for r in iter_roles(result.model)}
    assert (tmp / "a" / "admm" / "admm_residuals.png").read_bytes()[:4] == b"\x89PNG"


def test_write_admm_log_without_plot(tmp_path):
    model = LSTM(8, 4, block_size=None)
    state = ADMMState(model, 4, ADMMSchedule())
    state.step()
    path = write_admm_log(state.log, tmp_path, plot=False)
    assert json.loads(path.read_text())[0]["rho"] == pytest.approx(1.5e-3)
    assert not path.with_suffix(".png").exists()
