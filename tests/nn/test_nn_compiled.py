"""Compiled (numba) inference path == training path; fallbacks (sizes, batch, numba missing); activations.

Tolerances: float64 rtol 1e-10 / atol 1e-12 (the kernels' exp is accurate to a few ulp, the DFTs are direct
sums in another order than torch's FFT); float32 rtol 1e-5 / atol 1e-6.
"""

import sys

import numpy as np
import pytest
import torch

from rnnaccel.nn import GRU, LSTM, fast
from rnnaccel.nn.fast import compiled

pytest.importorskip("numba")

TOL = {torch.float64: {"rtol": 1e-10, "atol": 1e-12}, torch.float32: {"rtol": 1e-5, "atol": 1e-6}}


def _states(model: torch.nn.Module, batch: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    n = model.num_layers * model.num_directions
    return (torch.randn(n, batch, model.proj_size or model.hidden_size, dtype=dtype),
            torch.randn(n, batch, model.hidden_size, dtype=dtype))


def _both_paths(model: torch.nn.Module, x: torch.Tensor, hx: object) -> tuple[object, object]:
    train = model(x, hx)
    model.eval()
    with torch.inference_mode():
        fast = model(x, hx)
    return train, fast


def _assert_tree_close(a: object, b: object, dtype: torch.dtype) -> None:
    if isinstance(a, tuple):
        for u, v in zip(a, b, strict=True):
            _assert_tree_close(u, v, dtype)
        return
    assert a.shape == b.shape
    torch.testing.assert_close(a.detach(), b, **TOL[dtype])


def _compiled_used(model: torch.nn.Module) -> bool:
    return model.last_path is not None and model.last_path.name == "compiled"


LSTM_CONFIGS = [
    dict(proj_size=4, peephole=True, block_size=4),
    dict(proj_size=4, peephole=False, block_size=4),
    dict(proj_size=0, peephole=True, block_size=4),
    dict(proj_size=0, peephole=False, block_size=2),
    dict(proj_size=4, peephole=True, block_size={"recurrent": 4, "projection": 4}),  # dense input role
    dict(proj_size=4, peephole=True, block_size={"input": 2, "recurrent": 4, "projection": 4}),
    dict(proj_size=4, peephole=True, block_size=4, bias=False),
    dict(proj_size=4, peephole=True, block_size=4, num_layers=2, bidirectional=True),
    dict(proj_size=0, block_size=4, num_layers=2, batch_first=True),
]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cfg", LSTM_CONFIGS, ids=str)
def test_compiled_lstm_equals_training_path(cfg: dict, dtype: torch.dtype) -> None:
    model = LSTM(7, 8, **cfg).to(dtype)
    x = torch.randn(*((3, 5) if cfg.get("batch_first") else (5, 3)), 7, dtype=dtype)  # width 7: padded
    hx = _states(model, 3, dtype)
    for state in (None, hx):
        train, fast = _both_paths(model.train(), x, state)
        _assert_tree_close(train, fast, dtype)
    assert _compiled_used(model)


def test_compiled_odd_block_size() -> None:
    model = LSTM(7, 9, proj_size=3, peephole=True, block_size=3).double()  # k = 3: direct inverse DFT
    x = torch.randn(4, 2, 7, dtype=torch.float64)
    train, fast = _both_paths(model, x, _states(model, 2, torch.float64))
    _assert_tree_close(train, fast, torch.float64)
    assert _compiled_used(model)


def test_compiled_unbatched_input() -> None:
    model = LSTM(6, 8, proj_size=4, peephole=True, block_size=4).double()
    x, hx = torch.randn(5, 6, dtype=torch.float64), (torch.randn(1, 4).double(), torch.randn(1, 8).double())
    train, fast = _both_paths(model, x, hx)
    _assert_tree_close(train, fast, torch.float64)
    assert fast[0].shape == (5, 4) and fast[1][0].shape == (1, 4) and fast[1][1].shape == (1, 8)


def test_streaming_frames_equal_whole_sequence_and_training_path() -> None:
    model = LSTM(9, 16, proj_size=8, peephole=True, block_size=4).double()
    x = torch.randn(7, 1, 9, dtype=torch.float64)
    y_train, (h_train, c_train) = model(x)
    model.eval()
    with torch.inference_mode():
        state, ys = None, []
        for t in range(x.shape[0]):
            y, state = model(x[t:t + 1], state)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys), y_train.detach(), **TOL[torch.float64])
    torch.testing.assert_close(state[1], c_train.detach(), **TOL[torch.float64])


NO_COMPILED_FORM = [
    dict(hidden_size=9, block_size=4),  # k does not divide H
    dict(hidden_size=8, proj_size=3, block_size=4),  # k does not divide P
    dict(hidden_size=8, proj_size=4, block_size={"recurrent": 4, "projection": 2}),  # two block sizes
]


@pytest.mark.parametrize("cfg", NO_COMPILED_FORM, ids=str)
def test_structures_without_compiled_form_fall_back(cfg: dict) -> None:
    model = LSTM(5, **cfg).double()
    x = torch.randn(4, 2, 5, dtype=torch.float64)
    train, fast = _both_paths(model, x, None)
    _assert_tree_close(train, fast, torch.float64)
    assert model.last_path.name == "reference" and "not block-circulant" in model.last_path.reason


def test_large_batch_takes_torch_path() -> None:
    model = LSTM(5, 8, proj_size=4, block_size=4).double()
    batch = fast.MAX_COMPILED_BATCH + 1
    x = torch.randn(3, batch, 5, dtype=torch.float64)
    train, out = _both_paths(model, x, None)
    _assert_tree_close(train, out, torch.float64)
    reason = f"batch {batch} > 64: batched torch matmuls are faster"
    assert model.last_path == fast.PathChoice("torch", reason)
    assert model.inference_path(batch=1).name == "compiled"
    assert model.inference_path(batch=1, dtype=torch.float32).reason.startswith("input/state dtype differs")


def test_numba_missing_falls_back_to_torch_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rnnaccel.nn.fast.compiled_kernels", None)  # import raises ImportError
    assert compiled.load_kernels() is None
    assert fast.kernel_status()[0] is False and "numba cannot be imported" in fast.kernel_status()[1]
    model = LSTM(7, 8, proj_size=4, peephole=True, block_size=4, bidirectional=True).double()
    x = torch.randn(5, 2, 7, dtype=torch.float64)
    train, out = _both_paths(model, x, _states(model, 2, torch.float64))
    _assert_tree_close(train, out, torch.float64)
    assert model.last_path.name == "torch" and "numba cannot be imported" in model.last_path.reason


def test_plan_rebuilt_after_parameter_update_and_replacement() -> None:
    model = LSTM(4, 8, proj_size=4, peephole=True, block_size=4).eval()
    x = torch.randn(3, 1, 4, dtype=torch.float64)
    with torch.no_grad():
        model(x.float())
        model.double()  # cast after a float32 compiled call: new storage, new plans
        model(x)
        model.layers[0][0].hh.weight.mul_(2.0)
        model.layers[0][0].w_co = torch.nn.Parameter(torch.randn(8, dtype=torch.float64))
        fast = model(x)
    train = model.train()(x)
    _assert_tree_close(train, fast, torch.float64)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("cfg", [dict(block_size=4), dict(block_size={"recurrent": 4}, bidirectional=True),
                                 dict(block_size=4, bias=False, num_layers=2)], ids=str)
def test_compiled_gru_equals_training_path(cfg: dict, dtype: torch.dtype) -> None:
    model = GRU(5, 8, **cfg).to(dtype)
    x = torch.randn(4, 2, 5, dtype=dtype)
    h0 = torch.randn(model.num_layers * model.num_directions, 2, 8, dtype=dtype)
    train, fast = _both_paths(model, x, h0)
    _assert_tree_close(train, fast, dtype)
    assert _compiled_used(model)


def test_compiled_gru_streaming_unbatched_equals_training_path() -> None:
    model = GRU(6, 8, block_size=4).double()
    x = torch.randn(5, 6, dtype=torch.float64)  # unbatched: (T, in)
    y_train, h_train = model(x)
    model.eval()
    with torch.inference_mode():
        h, ys = None, []
        for t in range(x.shape[0]):
            y, h = model(x[t:t + 1], h)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys), y_train.detach(), **TOL[torch.float64])
    torch.testing.assert_close(h, h_train.detach(), **TOL[torch.float64])
    assert h.shape == (1, 8) and _compiled_used(model)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-15), (np.float32, 3e-7)], ids=["f64", "f32"])
def test_kernel_activations_match_libm(dtype: type, rtol: float) -> None:
    from rnnaccel.nn.fast import compiled_kernels

    a = np.concatenate([np.linspace(-60, 60, 4001), np.logspace(-12, 1.5, 500), -np.logspace(-12, 1.5, 500),
                        [0.0]]).astype(dtype)
    cst = compiled.kernel_constants(torch.float64 if dtype == np.float64 else torch.float32)
    work = np.empty((2, a.size), dtype)
    bits = work[1].view(np.int64 if dtype == np.float64 else np.int32)
    ref = a.astype(np.float64)
    for fn, exact in ((compiled_kernels._sigmoid, 1.0 / (1.0 + np.exp(-ref))),
                      (compiled_kernels._tanh, np.tanh(ref))):
        out = a.copy()
        fn(out, work, bits, cst)
        # below -87 the exp argument is clamped: sigmoid is then off by < sigmoid(-87) = 1.7e-38
        np.testing.assert_allclose(out, exact, rtol=rtol, atol=1.7e-38, err_msg=fn.__name__)


def test_state_dtype_mismatch_is_not_run_by_the_kernel() -> None:
    model = LSTM(4, 8, proj_size=4, block_size=4).eval()  # float32; float64 states go to the torch path
    hx = (torch.zeros(1, 1, 4, dtype=torch.float64), torch.zeros(1, 1, 8, dtype=torch.float64))
    with torch.no_grad(), pytest.raises(RuntimeError, match="same dtype"):
        model(torch.randn(3, 1, 4), hx)
