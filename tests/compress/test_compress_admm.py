"""ADMM towards block-circulant weights: ρ schedule, residual -> 0, hard projection = Z exactly."""

import pytest
import torch

from rnnaccel.compress import ADMMSchedule, ADMMState, iter_roles, project_block_circulant
from rnnaccel.nn import LSTM, BlockCirculantLinear, dense_weight


def test_rho_schedule_geometric_and_capped():
    s = ADMMSchedule(iterations=5, rho0=0.1, rho_growth=2.0, rho_max=0.5)
    assert [s.rho(i) for i in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"rho_growth": 0.5}, "rho_growth"),
    ({"rho0": 0.0}, "rho0"),
    ({"iterations": 0}, "iterations"),
])
def test_schedule_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ADMMSchedule(**kwargs)


def _least_squares_admm(k: int, iterations: int) -> tuple[LSTM, ADMMState, dict]:
    """min Σ_l ‖X W_lᵀ − X T_lᵀ‖²/N  s.t. W_l block-circulant (a convex problem on a subspace)."""
    model = LSTM(12, 8, proj_size=6, block_size=None)
    x = torch.randn(64, 12)
    targets = {r.key: torch.randn_like(r.module.weight) for r in iter_roles(model)}
    state = ADMMState(model, {"input": k, "recurrent": k, "projection": k},
                      ADMMSchedule(iterations=iterations, rho0=0.5, rho_growth=1.5, rho_max=50.0))
    weights = [r.module.weight for r in state.roles]
    for _ in range(iterations):
        opt = torch.optim.SGD(weights, lr=0.05)
        for _ in range(60):
            loss = sum(((_inputs(x, r) @ (r.module.weight - targets[r.key]).T) ** 2).mean()
                       for r in state.roles)
            opt.zero_grad()
            (loss + state.penalty(model)).backward()
            opt.step()
        state.step()
    return model, state, targets


def _inputs(x: torch.Tensor, role) -> torch.Tensor:
    return x[:, : role.module.weight.shape[1]]


def test_admm_residual_goes_to_zero():
    _, state, _ = _least_squares_admm(k=4, iterations=8)
    residuals = [e.residual for e in state.log]
    assert residuals[0] > 0.3  # the random dense start is far from the circulant set
    assert residuals[-1] < 1e-3
    assert residuals[-1] < residuals[len(residuals) // 2] < residuals[0]
    assert [e.rho for e in state.log][:3] == pytest.approx([0.5, 0.75, 1.125])
    assert set(state.log[-1].residual_per_role) == {r.key for r in state.roles}


def test_hard_projection_equals_z_exactly():
    model, state, _ = _least_squares_admm(k=4, iterations=3)
    z = {key: state.z_dense(key).clone() for key in state.z}
    state.hard_project()
    for role in iter_roles(model):
        assert isinstance(role.module, BlockCirculantLinear)
        assert torch.equal(dense_weight(role.module), z[role.key])
        assert torch.equal(role.module.weight, state.z[role.key])


def test_z_is_the_projection_of_w_plus_u():
    model = LSTM(10, 6, block_size=None)
    state = ADMMState(model, 4, ADMMSchedule())
    role = state.roles[0]
    with torch.no_grad():
        role.module.weight.add_(0.3)
    u_before = state.u[role.key].clone()
    state.step()
    expected = project_block_circulant(role.module.weight + u_before, 4)
    assert torch.allclose(state.z_dense(role.key), expected, atol=1e-6)


def test_admm_state_errors():
    with pytest.raises(ValueError, match="constrains no role"):
        ADMMState(LSTM(4, 4), None, ADMMSchedule())
    with pytest.raises(TypeError, match="ADMM trains dense roles"):
        ADMMState(LSTM(4, 4, block_size=2), 2, ADMMSchedule())
