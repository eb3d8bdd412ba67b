"""Checkpoints both ways with torch.nn.LSTM/GRU; torch.export of eval-mode modules; the Streamer.

Tolerances: float64, atol 1e-12 (same arithmetic, another summation order); a circulant role exported by
``to_torch`` is its exact dense expansion, so the torch module reproduces it to the same tolerance. The
Streamer equals a whole-sequence forward to the same tolerance (not bit-exactly: a whole-sequence LSTMP
keeps the projection's spectrum between steps, a stream starts each frame from the time-domain state).
"""

import pytest
import torch

from rnnaccel.nn import GRU, LSTM

TOL = {"rtol": 0.0, "atol": 1e-12}


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("proj_size", [0, 3])
def test_lstm_loads_torch_state_dict_and_exports_one(proj_size: int) -> None:
    ref = torch.nn.LSTM(5, 6, 2, bidirectional=True, proj_size=proj_size).double()
    ours = LSTM(5, 6, 2, bidirectional=True, proj_size=proj_size).double()
    assert "weight_hh_l0_reverse" in ref.state_dict()
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    for a, b in zip(torch.utils._pytree.tree_leaves(ours(x)), torch.utils._pytree.tree_leaves(ref(x)),
                    strict=True):
        torch.testing.assert_close(a, b, **TOL)
    back = ours.to_torch()
    assert isinstance(back, torch.nn.LSTM) and back.state_dict().keys() == ref.state_dict().keys()
    for key, value in ref.state_dict().items():
        torch.testing.assert_close(back.state_dict()[key], value, rtol=0.0, atol=0.0)


def test_gru_state_dict_round_trip_and_own_keys_still_load() -> None:
    ref = torch.nn.GRU(4, 5, bias=False).double()
    ours = GRU(4, 5, bias=False).double()
    ours.load_state_dict(ref.state_dict())
    again = GRU(4, 5, bias=False).double()
    again.load_state_dict(ours.state_dict())  # rnnaccel's own keys
    x = torch.randn(3, 2, 4, dtype=torch.float64)
    torch.testing.assert_close(again(x)[0], ref(x)[0], **TOL)
    torch.testing.assert_close(again.to_torch()(x)[0], ref(x)[0], **TOL)


def test_circulant_exports_exactly_and_refuses_dense_keys() -> None:
    model = GRU(6, 8, block_size=4).double()
    x = torch.randn(3, 2, 6, dtype=torch.float64)
    torch.testing.assert_close(model.to_torch()(x)[0], model(x)[0], **TOL)
    with pytest.raises(ValueError, match=r"state dict key 'weight_ih_l0' is a dense matrix but role "
                                         r"'layers.0.0.ih' is block-circulant \(block_size=4\)"):
        model.load_state_dict(torch.nn.GRU(6, 8).double().state_dict())
    with pytest.raises(ValueError, match="torch.nn.LSTM has no peepholes"):
        LSTM(3, 4, peephole=True).to_torch()


@pytest.mark.parametrize("make", [lambda: LSTM(5, 8, proj_size=4, peephole=True, block_size=4),
                                  lambda: GRU(5, 8, bidirectional=True),
                                  lambda: LSTM(5, 8, batch_first=True)],
                         ids=["lstmp-circulant", "gru-dense-bi", "lstm-dense"])
def test_torch_export_of_eval_module(make: object) -> None:
    model = make().eval()
    x = torch.randn(3, 2, 5)
    exported = torch.export.export(model, (x,))
    for a, b in zip(torch.utils._pytree.tree_leaves(exported.module()(x)),
                    torch.utils._pytree.tree_leaves(model(x)), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: LSTM(7, 8, 2, proj_size=4, peephole=True, block_size=4),
                                  lambda: LSTM(7, 8, block_size={"recurrent": 4}),
                                  lambda: GRU(7, 8, 2, block_size=4)], ids=["lstmp", "lstm-dense-in", "gru"])
def test_streamer_equals_forward(make: object) -> None:
    pytest.importorskip("numba")
    model = make().double().eval()
    x = torch.randn(6, 1, 7, dtype=torch.float64)
    with torch.no_grad():
        y_all, state_all = model(x)
    stream = model.streamer()
    ys = torch.stack([stream.step(x[t, 0]).clone() for t in range(x.shape[0])])
    torch.testing.assert_close(ys, y_all[:, 0], **TOL)
    for a, b in zip(stream.state, state_all if isinstance(state_all, tuple) else (state_all,), strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_streamer_errors() -> None:
    with pytest.raises(ValueError, match="a bidirectional model cannot stream"):
        GRU(3, 4, bidirectional=True, block_size=2).streamer()
    with pytest.raises(ValueError, match="no compiled path for this model: layer 0 direction 0: the rec"):
        GRU(3, 4).streamer()
    stream = GRU(3, 4, block_size=2).streamer()
    with pytest.raises(ValueError, match=r"frame has shape \(4,\), expected \(3,\)"):
        stream.step(torch.zeros(4))
    with pytest.raises(ValueError, match=r"state 0 has shape \(2, 4\), expected \(1, 1, 4\)"):
        stream.reset(torch.zeros(2, 4))
