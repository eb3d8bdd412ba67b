"""Variable-length batches: PackedSequence and explicit ``lengths`` equal torch and per-utterance runs.

Tolerances: dense layers against ``torch.nn.LSTM``/``GRU`` in float64, rtol 0 / atol 1e-12 (the same
arithmetic in another summation order); batch 1 equals batch N bit-exactly for the circulant layers in
float64 on the compiled inference path (each sample runs the same scalar code whatever its batch); with a
dense role, on the torch inference path and on the training path to atol 1e-12 (BLAS blocks a matmul
differently for other row counts).
"""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnaccel.nn import GRU, LSTM, BlockCirculantLinear, fast

LENGTHS = [5, 2, 7, 1]  # unsorted, with ties below the max: exercises sorted/unsorted indices
EXACT = {"rtol": 0.0, "atol": 0.0}


def _padded(batch_first: bool = False, width: int = 5) -> torch.Tensor:
    x = torch.randn(len(LENGTHS), max(LENGTHS), width, dtype=torch.float64)
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 0.0
    return x if batch_first else x.transpose(0, 1)


def _assert_close(a: object, b: object, **tol: float) -> None:
    if isinstance(a, tuple):
        for u, v in zip(a, b, strict=True):
            _assert_close(u, v, **tol)
        return
    if isinstance(a, torch.nn.utils.rnn.PackedSequence):
        torch.testing.assert_close(a.batch_sizes, b.batch_sizes)
        a, b = a.data, b.data
    assert a.shape == b.shape
    torch.testing.assert_close(a, b, **tol)


@pytest.mark.filterwarnings("ignore:LSTM with projections")
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("proj_size", [0, 3])
def test_lstm_packed_equals_torch(bidirectional: bool, proj_size: int) -> None:
    ref = torch.nn.LSTM(5, 6, 2, bidirectional=bidirectional, proj_size=proj_size).double()
    ours = LSTM.from_torch(ref)
    packed = pack_padded_sequence(_padded(), torch.tensor(LENGTHS), enforce_sorted=False)
    n = 2 * (1 + bidirectional)
    hx = (torch.randn(n, 4, proj_size or 6, dtype=torch.float64), torch.randn(n, 4, 6, dtype=torch.float64))
    for state in (None, hx):
        _assert_close(ours(packed, state), ref(packed, state), rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gru_packed_equals_torch(bidirectional: bool) -> None:
    ref = torch.nn.GRU(5, 6, 2, bidirectional=bidirectional).double()
    ours = GRU.from_torch(ref)
    packed = pack_padded_sequence(_padded(), torch.tensor(LENGTHS), enforce_sorted=False)
    h0 = torch.randn(2 * (1 + bidirectional), 4, 6, dtype=torch.float64)
    for state in (None, h0):
        _assert_close(ours(packed, state), ref(packed, state), rtol=0.0, atol=1e-12)


@pytest.mark.parametrize("batch_first", [False, True])
def test_lengths_keyword_equals_packed(batch_first: bool) -> None:
    model = LSTM(5, 8, bidirectional=True, proj_size=4, peephole=True, block_size=4,
                 batch_first=batch_first).double()
    x = _padded(batch_first)
    y, (h, c) = model(x, lengths=LENGTHS)
    yp, (hp, cp) = model(pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=batch_first,
                                              enforce_sorted=False))
    y_pad, _ = pad_packed_sequence(yp, batch_first=batch_first)
    _assert_close((y, h, c), (y_pad, hp, cp), **EXACT)
    pad = y[2:, 1] if not batch_first else y[1, 2:]  # sequence 1 has 2 frames
    assert torch.count_nonzero(pad) == 0


def _per_utterance(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, object]:
    """Each sequence alone (batch 1, its own length), re-padded with zeros."""
    width = (getattr(model, "proj_size", 0) or model.hidden_size) * model.num_directions
    ys, finals = torch.zeros(x.shape[0], x.shape[1], width, dtype=x.dtype), []
    for b, n in enumerate(LENGTHS):
        y, state = model(x[:n, b:b + 1])
        ys[:n, b:b + 1] = y
        finals.append(state)
    if isinstance(finals[0], tuple):
        return ys, tuple(torch.cat([f[i] for f in finals], dim=1) for i in range(len(finals[0])))
    return ys, torch.cat(finals, dim=1)


def _models() -> list[torch.nn.Module]:
    return [LSTM(5, 8, 2, bidirectional=True, proj_size=4, peephole=True, block_size=4).double(),
            LSTM(5, 8, bidirectional=True, block_size={"recurrent": 4}).double(),
            GRU(5, 8, 2, bidirectional=True, block_size=4).double(),
            GRU(5, 8, bidirectional=True, block_size={"recurrent": 2}).double()]


@pytest.mark.parametrize("model", _models(), ids=["lstmp", "lstm-dense-in", "gru", "gru-dense-in"])
@pytest.mark.parametrize("path", ["compiled", "torch-fused"])
def test_batch_one_equals_batch_n_exactly_inference(model: torch.nn.Module, path: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if path == "compiled":
        pytest.importorskip("numba")
    else:
        monkeypatch.setattr(fast, "MAX_COMPILED_BATCH", 0)
    model.eval()
    x = _padded()
    with torch.inference_mode():
        batched = model(x, lengths=LENGTHS)
        assert model.last_path.name == path.removesuffix("-fused")
        alone = _per_utterance(model, x)
    exact = path == "compiled" and all(isinstance(role, BlockCirculantLinear) for role in model.modules()
                                       if isinstance(role, torch.nn.Linear | BlockCirculantLinear))
    _assert_close(batched, alone, **(EXACT if exact else {"rtol": 0.0, "atol": 1e-12}))


@pytest.mark.parametrize("model", _models()[::2], ids=["lstmp", "gru"])
def test_batch_one_equals_batch_n_training_path(model: torch.nn.Module) -> None:
    x = _padded()
    _assert_close(model(x, lengths=LENGTHS), _per_utterance(model, x), rtol=0.0, atol=1e-12)


def test_bad_lengths() -> None:
    model = GRU(5, 4)
    x = torch.zeros(3, 2, 5)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 3\] \(the padded length\), got \[4, 1\]"):
        model(x, lengths=[4, 1])
    with pytest.raises(ValueError, match=r"lengths has shape \(3,\), expected \(2,\)"):
        model(x, lengths=[1, 1, 1])
    with pytest.raises(TypeError, match="lengths must be integers, got dtype torch.float32"):
        model(x, lengths=[1.0, 2.0])
    with pytest.raises(ValueError, match="lengths needs a batched"):
        model(x[:, 0], lengths=[3])
    packed = pack_padded_sequence(x, torch.tensor([3, 1]))
    with pytest.raises(ValueError, match="lengths must not be given with a PackedSequence"):
        model(packed, lengths=[3, 1])
    with pytest.raises(TypeError, match="input must be a Tensor or a PackedSequence, got list"):
        model([1, 2])
