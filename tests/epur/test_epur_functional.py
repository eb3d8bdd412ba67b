"""Functional mode: outputs equal the float model; MWL on and off are bit-identical in fixed point."""

import numpy as np
import pytest
import torch

from rnnaccel.hw.epur.functional import FixedPoint, run_functional
from rnnaccel.nn import GRU, LSTM


def _models():
    f64 = {"dtype": torch.float64}
    return [LSTM(6, 8, 2, proj_size=5, peephole=True, bidirectional=True, **f64),
            LSTM(8, 8, 1, block_size=4, **f64), GRU(5, 7, 2, bidirectional=True, **f64),
            GRU(8, 8, 1, block_size=4, **f64)]


@pytest.mark.parametrize("idx", range(4))
def test_float_path_equals_the_model(idx):
    model = _models()[idx].eval()
    x = torch.randn(9, model.input_size, dtype=torch.float64)
    with torch.no_grad():
        ref = model(x)[0].numpy()
    for mwl in (True, False):
        np.testing.assert_allclose(run_functional(model, x, mwl=mwl), ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("idx", range(4))
def test_fixed_point_mwl_on_off_bit_identical(idx):
    model = _models()[idx].eval()
    x = torch.randn(9, model.input_size, dtype=torch.float64)
    fx = FixedPoint(16, 8)
    on, off = run_functional(model, x, mwl=True, fixed=fx), run_functional(model, x, mwl=False, fixed=fx)
    assert np.array_equal(on, off)
    assert np.all(on * 256 == np.round(on * 256))  # on the Q8.8 grid
    with torch.no_grad():
        ref = model(torch.from_numpy(fx.requant(x.numpy())))[0].numpy()
    # Q8.8 rounding of weights and every intermediate: a few LSB (1 LSB = 1/256) after 9 steps
    assert np.abs(on - ref).max() < 8 / 256
    finer = run_functional(model, x, mwl=True, fixed=FixedPoint(24, 16))
    assert np.abs(finer - model(torch.from_numpy(FixedPoint(24, 16).requant(x.numpy())))[0]
                  .detach().numpy()).max() < np.abs(on - ref).max()


def test_functional_errors():
    with pytest.raises(TypeError, match="needs an rnnaccel.nn.LSTM or GRU, got LSTM"):
        run_functional(torch.nn.LSTM(3, 4), torch.zeros(2, 3))
    with pytest.raises(ValueError, match=r"one sequence \(T, in\)"):
        run_functional(LSTM(3, 4), torch.zeros(2, 1, 3))
    with pytest.raises(ValueError, match="0 <= frac_bits < bits"):
        FixedPoint(8, 8)
