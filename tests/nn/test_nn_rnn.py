"""LSTM/GRU: dense equivalence with torch, fast path == training path, block-size specs, errors."""

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from strategies import batch_sizes, seq_lens

from rnnaccel.nn import GRU, LSTM, BlockCirculantLinear, dense_weight, resolve_block_sizes

GRID = list(itertools.product([False, True], [False, True], [1, 2]))


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("batch_first, bidirectional, num_layers", GRID)
@pytest.mark.parametrize("proj_size", [0, 3])
def test_lstm_from_torch_dense_matches(batch_first: bool, bidirectional: bool, num_layers: int,
                                       proj_size: int) -> None:
    ref = torch.nn.LSTM(5, 6, num_layers, batch_first=batch_first, bidirectional=bidirectional,
                        proj_size=proj_size)
    ours = LSTM.from_torch(ref)
    x = torch.randn(4, 3, 5)
    states = (torch.randn(num_layers * (1 + bidirectional), 4 if batch_first else 3, proj_size or 6),
              torch.randn(num_layers * (1 + bidirectional), 4 if batch_first else 3, 6))
    for hx in (None, states):
        y_ref, (h_ref, c_ref) = ref(x, hx)
        y, (h, c) = ours(x, hx)
        for a, b in ((y, y_ref), (h, h_ref), (c, c_ref)):
            assert a.shape == b.shape
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5)


@pytest.mark.parametrize("batch_first, bidirectional, num_layers", GRID)
def test_gru_from_torch_dense_matches(batch_first: bool, bidirectional: bool, num_layers: int) -> None:
    ref = torch.nn.GRU(5, 6, num_layers, batch_first=batch_first, bidirectional=bidirectional)
    ours = GRU.from_torch(ref)
    x = torch.randn(4, 3, 5)
    h0 = torch.randn(num_layers * (1 + bidirectional), 4 if batch_first else 3, 6)
    for hx in (None, h0):
        (y_ref, h_ref), (y, h) = ref(x, hx), ours(x, hx)
        torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-5)
        torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-5)


def test_unbatched_input_matches_torch() -> None:
    ref = torch.nn.GRU(4, 5, 2)
    x, h0 = torch.randn(6, 4), torch.randn(2, 5)
    (y_ref, h_ref), (y, h) = ref(x, h0), GRU.from_torch(ref)(x, h0)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=1e-5)
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-5)


def test_from_torch_projects_onto_block_circulant() -> None:
    ref = torch.nn.LSTM(10, 8, proj_size=4)
    ours = LSTM.from_torch(ref, block_size={"recurrent": 4, "projection": 2})
    d = ours.layers[0][0]
    assert isinstance(d.ih, torch.nn.Linear)
    assert isinstance(d.hh, BlockCirculantLinear) and d.hh.block_size == 4
    assert isinstance(d.proj, BlockCirculantLinear) and d.proj.block_size == 2
    torch.testing.assert_close(dense_weight(d.ih), ref.weight_ih_l0)
    again = BlockCirculantLinear.from_dense(ref.weight_hh_l0, 4).to_dense()
    torch.testing.assert_close(dense_weight(d.hh), again)


def _lstm_configs():
    cfgs = [dict(proj_size=p, peephole=pe, block_size=k, bidirectional=bi, num_layers=n)
            for p, pe, k, bi, n in itertools.product([0, 4], [False, True], [4, 3], [False, True], [1, 2])]
    cfgs.append(dict(proj_size=4, peephole=True, block_size={"input": 3, "recurrent": 4, "projection": 4}))
    cfgs.append(dict(proj_size=4, block_size=[None, {"recurrent": 2}], num_layers=2))
    cfgs.append(dict(proj_size=4, peephole=True, block_size=4, bias=False))
    cfgs.append(dict(block_size={"input": 4, "recurrent": 4}, bias=False))
    return cfgs


@pytest.mark.parametrize("cfg", _lstm_configs(), ids=str)
def test_lstm_fast_path_equals_training_path(cfg: dict) -> None:
    model = LSTM(5, 8, **cfg).double()
    x = torch.randn(5, 3, 5, dtype=torch.float64)
    hx = (torch.randn(model.num_layers * model.num_directions, 3, model.proj_size or 8, dtype=torch.float64),
          torch.randn(model.num_layers * model.num_directions, 3, 8, dtype=torch.float64))
    y, (h, c) = model(x, hx)
    model.eval()
    with torch.inference_mode():
        y2, (h2, c2) = model(x, hx)
    for a, b in ((y, y2), (h, h2), (c, c2)):
        torch.testing.assert_close(a.detach(), b, rtol=1e-10, atol=1e-12)


def test_path_taken_is_recorded() -> None:
    model = LSTM(6, 8, proj_size=4, peephole=True, block_size=4)
    model(torch.randn(2, 1, 6))
    assert model.last_path.name == "reference" and "training mode" in model.last_path.reason
    model.eval()
    model(torch.randn(2, 1, 6))
    assert model.last_path.name == "reference" and "grad enabled" in model.last_path.reason
    with torch.no_grad():
        model(torch.randn(2, 1, 6))
    assert model.last_path.name in ("compiled", "torch")


@pytest.mark.parametrize("k", [4, 3, None, {"input": 2}])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gru_fast_path_equals_training_path(k: object, bidirectional: bool) -> None:
    model = GRU(5, 8, 2, bidirectional=bidirectional, block_size=k).double()
    x = torch.randn(5, 3, 5, dtype=torch.float64)
    y, h = model(x)
    model.eval()
    with torch.no_grad():
        y2, h2 = model(x)
    torch.testing.assert_close(y.detach(), y2, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(h.detach(), h2, rtol=1e-10, atol=1e-12)


def test_streaming_equals_whole_sequence() -> None:
    model = LSTM(7, 8, proj_size=4, peephole=True, block_size=4).eval()
    x = torch.randn(6, 2, 7)
    with torch.inference_mode():
        y_all, (h_all, c_all) = model(x)
        state, ys = None, []
        for t in range(6):
            y, state = model(x[t:t + 1], state)
            ys.append(y)
    torch.testing.assert_close(torch.cat(ys), y_all, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state[1], c_all, rtol=1e-5, atol=1e-6)


@given(batch=batch_sizes, length=seq_lens, k=st.sampled_from([2, 4]), peephole=st.booleans())
def test_lstm_circulant_equals_dense_expansion(batch: int, length: int, k: int, peephole: bool) -> None:
    model = LSTM(5, 4, proj_size=2, peephole=peephole, block_size=k).double()
    dense = LSTM(5, 4, proj_size=2, peephole=peephole).double()
    with torch.no_grad():
        src, dst = model.layers[0][0], dense.layers[0][0]
        for role in ("ih", "hh", "proj"):
            getattr(dst, role).weight.copy_(dense_weight(getattr(src, role)))
        for name, param in src.named_parameters():
            if not name.startswith(("ih.weight", "hh.weight", "proj.weight")):
                dst.get_parameter(name).copy_(param)
    x = torch.randn(length, batch, 5, dtype=torch.float64)
    torch.testing.assert_close(model(x)[0], dense(x)[0], rtol=1e-10, atol=1e-12)


def test_lstm_gradcheck_float64() -> None:
    model = LSTM(3, 4, proj_size=2, peephole=True, block_size=2).double()
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x_: model(x_)[0], (x,))
    params = dict(model.named_parameters())
    fn = lambda *ps: torch.func.functional_call(model, dict(zip(params, ps, strict=True)), (x.detach(),))[0]  # noqa: E731
    assert torch.autograd.gradcheck(fn, tuple(params.values()))


def test_gru_gradcheck_float64() -> None:
    model = GRU(3, 4, block_size=2).double()
    x = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x_: model(x_)[0], (x,))


def test_block_size_specs() -> None:
    assert resolve_block_sizes(8, 2) == [{"input": 8, "recurrent": 8, "projection": 8}] * 2
    assert resolve_block_sizes({"recurrent": 4}, 1) == [{"input": None, "recurrent": 4, "projection": None}]
    model = LSTM(6, 8, 2, proj_size=4, block_size=[{"input": 2}, 4])
    assert isinstance(model.layers[0][0].ih, BlockCirculantLinear)
    assert isinstance(model.layers[0][0].hh, torch.nn.Linear)
    assert model.layers[1][0].proj.block_size == 4


@pytest.mark.parametrize("spec, exc, msg", [
    (0, ValueError, "block_size must be >= 1, got 0"),
    ({"recurent": 4}, ValueError, r"unknown block_size role\(s\) \['recurent'\]"),
    ({"input": -1}, ValueError, r"block_size\['input'\] must be >= 1, got -1"),
    ([4, 4, 4], ValueError, r"block_size list has 3 entries, expected one per layer \(num_layers=2\)"),
    ("8", TypeError, "block_size must be None, an int, a mapping"),
])
def test_bad_block_size_spec(spec: object, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        LSTM(4, 4, 2, block_size=spec)


def test_bad_arguments_and_inputs() -> None:
    with pytest.raises(ValueError, match=r"proj_size must be an int in \[0, hidden_size=4\), got 4"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        GRU(3, 0)
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\], got 1.5"):
        GRU(3, 4, dropout=1.5)
    model = LSTM(3, 4, 2, proj_size=2)
    with pytest.raises(ValueError, match="input has width 5, expected input_size=3"):
        model(torch.randn(2, 1, 5))
    with pytest.raises(ValueError, match=r"h_0 has shape \(2, 3, 2\), expected \(2, 1, 2\)"):
        model(torch.randn(2, 1, 3), (torch.zeros(2, 3, 2), torch.zeros(2, 1, 4)))
    with pytest.raises(ValueError, match=r"c_0 has shape \(2, 1, 2\), expected \(2, 1, 4\)"):
        model(torch.randn(2, 1, 3), (torch.zeros(2, 1, 2), torch.zeros(2, 1, 2)))
    with pytest.raises(TypeError, match="expected a torch.nn.LSTM, got GRU"):
        LSTM.from_torch(torch.nn.GRU(3, 4))
