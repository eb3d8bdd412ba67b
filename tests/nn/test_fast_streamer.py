"""The packed streaming step kernels (``compiled_kernels.lstm_step``/``gru_step`` behind ``Streamer``).

They run the same per-frame function as the sequence kernels (``_lstm_frame``/``_gru_frame``) and keep
the state in the kernels' layouts between calls (for an LSTMP the recurrent spectrum too, as a
whole-sequence run does), so a stream equals a whole-sequence forward bit-exactly, in float64 and float32.
"""

import pytest
import torch

from rnnaccel.nn import GRU, LSTM

pytest.importorskip("numba")

MAKERS = {"lstmp-2": lambda: LSTM(7, 8, 2, proj_size=4, peephole=True, block_size=4),
          "lstm": lambda: LSTM(6, 8, block_size=2),
          "gru-2": lambda: GRU(7, 8, 2, block_size=4),
          "gru-k8": lambda: GRU(16, 16, block_size=8),
          "lstmp-k3": lambda: LSTM(7, 9, proj_size=6, block_size=3),  # odd k: the direct IDFT
          "gru-k3": lambda: GRU(6, 9, block_size=3)}


def _states(s: object) -> tuple:
    return s if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("name", list(MAKERS))
def test_packed_stream_equals_whole_sequence_bit_exactly(name: str, dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    model = MAKERS[name]().to(dtype).eval()
    x = torch.randn(5, 1, model.input_size, dtype=dtype)
    with torch.no_grad():
        y_all, state_all = model(x)
    stream = model.streamer()
    assert stream.fused and "packed" in stream.path.reason
    ys = torch.stack([stream.step(x[t, 0]).clone() for t in range(x.shape[0])])
    assert torch.equal(ys, y_all[:, 0])
    for a, b in zip(stream.state, _states(state_all), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["lstmp-2", "gru-2"])
def test_reset_to_a_state_and_frames_in_other_layouts(name: str) -> None:
    torch.manual_seed(1)
    model = MAKERS[name]().double().eval()
    x = torch.randn(8, 1, model.input_size, dtype=torch.float64)
    with torch.no_grad():
        y_all, _ = model(x)
        _, state_mid = model(x[:4])
    stream = model.streamer()
    stream.reset(state_mid)
    wide = torch.zeros(4, 2 * model.input_size, dtype=torch.float64)
    wide[:, ::2] = x[4:, 0]  # non-contiguous frames: copied, not read in place
    ys = torch.stack([stream.step(wide[t, ::2]).clone() for t in range(4)])
    torch.testing.assert_close(ys, y_all[4:, 0], rtol=0.0, atol=1e-12)
    stream.reset()
    first = stream.step(x[0, 0].float()).clone()  # another dtype: converted by the copy
    torch.testing.assert_close(first, y_all[0, 0], rtol=0.0, atol=1e-6)


def test_unfused_input_role_streams_through_the_sequence_kernel() -> None:
    model = LSTM(7, 8, block_size={"recurrent": 4}).double().eval()
    x = torch.randn(4, 1, 7, dtype=torch.float64)
    with torch.no_grad():
        y_all, _ = model(x)
    stream = model.streamer()
    assert not stream.fused
    ys = torch.stack([stream.step(x[t, 0]).clone() for t in range(4)])
    torch.testing.assert_close(ys, y_all[:, 0], rtol=0.0, atol=1e-12)
