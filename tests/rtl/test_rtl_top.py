"""The layer top (two PEs + cell/update unit + controller) in Amaranth's simulator: frames in,
hidden vectors out, bit-exact against rnnaccel.ref.engine.run_direction, cycles per frame exact."""

import numpy as np
import pytest
import torch
from rtl_cases import CONFIGS

from rnnaccel.nn import GRU, LSTM
from rnnaccel.ref.export import export_model
from rnnaccel.rtl.sim import pack, run_stream, unpack
from rnnaccel.rtl.top import LayerTop, reference_frames, top_cycles
from rnnaccel.rtl.vectors import random_codes


def _net(kind, k, peephole):
    torch.manual_seed(k)
    return LSTM(8, 8, block_size=k, peephole=peephole) if kind == "lstm" else GRU(8, 8, block_size=k)


def _run(top, x):
    raws = [pack(top.i.payload.shape(), [int(v) for v in row]) for row in x]
    run = run_stream(top, raws, len(x), max_cycles=100 * len(x) * top_cycles(top))
    return np.array([unpack(top.o.payload.shape(), r) for r in run.outputs], np.int64), run


@pytest.mark.parametrize(("kind", "k", "lanes", "peephole", "name"), [
    ("lstm", 4, 2, True, "ap_fixed<12,4>"),
    ("lstm", 8, 1, False, "ap_fixed<16,8>"),
    ("gru", 4, 1, False, "ap_fixed<12,4>"),
    ("gru", 8, 2, False, "ap_fixed<16,8>"),
])
def test_layer_top_matches_ref(kind, k, lanes, peephole, name):
    cfg, rng = CONFIGS[name], np.random.default_rng(k + lanes)
    d = export_model(_net(kind, k, peephole), cfg).layers[0][0]
    # Moderate frames first, then saturating ones (every later point overflows).
    x = np.concatenate([random_codes(cfg.input, (3, 8), rng) // 4,
                        random_codes(cfg.input, (2, 8), rng, saturating=True)])
    want = reference_frames(kind, d, cfg, x)
    top = LayerTop(kind, d, cfg, cfg.input, lanes)
    got, run = _run(top, x)
    bad = np.argwhere(got != want)
    if bad.size:
        at = tuple(bad[0])
        pytest.fail(f"first mismatch (frame, point) {at}: rtl {got[at]} != ref {want[at]}")
    assert np.diff(run.out_cycles).tolist() == [top_cycles(top)] * (len(x) - 1)


def test_backward_direction_is_the_same_top_fed_last_frame_first():
    cfg, rng = CONFIGS["ap_fixed<12,4>"], np.random.default_rng(7)
    d = export_model(GRU(8, 8, block_size=4, bidirectional=True), cfg).layers[0][1]
    x = random_codes(cfg.input, (4, 8), rng) // 4
    want = reference_frames("gru", d, cfg, x, reverse=True)
    got, _ = _run(LayerTop("gru", d, cfg, cfg.input, 2), x[::-1])
    assert (got[::-1] == want).all()


def test_two_layers_as_two_tops_match_the_whole_model():
    from rnnaccel.ref.engine import run_int_model

    cfg, rng = CONFIGS["ap_fixed<16,8>"], np.random.default_rng(3)
    torch.manual_seed(3)
    model = export_model(LSTM(8, 8, num_layers=2, block_size=4, peephole=True), cfg)
    x = random_codes(cfg.input, (3, 8), rng) // 4
    h1, _ = _run(LayerTop("lstm", model.layers[0][0], cfg, cfg.input), x)
    h2, _ = _run(LayerTop("lstm", model.layers[1][0], cfg, cfg.hidden), h1)
    assert (h2 == run_int_model(model, x[None]).output[0]).all()


@pytest.mark.parametrize(("lanes", "name"), [(1, "ap_fixed<16,8>"), (2, "ap_fixed<12,4>")])
def test_lstm_with_projection_matches_ref(lanes, name):
    """Stage PROJ: r_t = W_proj m_t + b at the proj point is the output and the recurrent state."""
    from rnnaccel.ref.engine import run_int_model

    cfg, rng = CONFIGS[name], np.random.default_rng(lanes)
    torch.manual_seed(lanes)
    model = export_model(LSTM(8, 16, num_layers=2, proj_size=8, block_size=4, peephole=True), cfg)
    x = np.concatenate([random_codes(cfg.input, (3, 8), rng) // 4,
                        random_codes(cfg.input, (2, 8), rng, saturating=True)])
    top = LayerTop("lstm", model.layers[0][0], cfg, cfg.input, lanes)
    r1, run = _run(top, x)
    assert (r1 == reference_frames("lstm", model.layers[0][0], cfg, x)).all()
    assert np.diff(run.out_cycles).tolist() == [top_cycles(top)] * (len(x) - 1)
    r2, _ = _run(LayerTop("lstm", model.layers[1][0], cfg, cfg.proj, lanes), r1)
    assert (r2 == run_int_model(model, x[None]).output[0]).all()


def test_layer_top_rejects_what_it_cannot_build():
    cfg = CONFIGS["ap_fixed<12,4>"]
    torch.manual_seed(0)
    proj = export_model(LSTM(8, 8, proj_size=4, block_size=4), cfg).layers[0][0]
    with pytest.raises(ValueError, match="LSTM projection only"):
        LayerTop("gru", proj, cfg, cfg.input)
    with pytest.raises(ValueError, match="'rnn'"):
        LayerTop("rnn", proj, cfg, cfg.input)
    with pytest.raises(TypeError, match="IntDirection"):
        LayerTop("lstm", object(), cfg, cfg.input)


def test_fpga_model_latencies_are_the_rtl_ones():
    """rnnaccel.hw.fpga's stage depths are built from the RTL components' latencies: FFT-k, PWL,
    the LSTM/GRU elementwise units; the model's frame time equals the layer top's schedule."""
    from rnnaccel.hw.fpga.design import LogicCosts
    from rnnaccel.hw.fpga.model import PWL_CYCLES, elem_depth, fft_depth
    from rnnaccel.hw.fpga.workload import LayerWork
    from rnnaccel.rtl.build import build_shape, model_cycles
    from rnnaccel.rtl.cell import GRU_LATENCY, LSTM_LATENCY
    from rnnaccel.rtl.fft import fft_latency
    from rnnaccel.rtl.pwl import PWL_LATENCY
    from rnnaccel.rtl.top import LayerTop, top_cycles

    costs = LogicCosts()
    ks = (2, 4, 8, 16, 32)
    assert [fft_depth(k, costs) for k in ks] == [fft_latency(k) for k in ks]
    assert PWL_CYCLES == PWL_LATENCY
    assert elem_depth(LayerWork(64, 8, 16, 16, 0), costs) == LSTM_LATENCY + 2
    assert elem_depth(LayerWork(48, 8, 16, 16, 0), costs) == GRU_LATENCY + 2
    for shape, lanes in [("lstm:16:16", 1), ("lstm:8:16", 2), ("gru:16:8", 1), ("gru:32:32", 4)]:
        kind, d, cfg, _ = build_shape(shape, 8, 0, frames=1)
        top = LayerTop(kind, d, cfg, cfg.input, lanes)
        assert top_cycles(top) == sum(model_cycles(kind, d, lanes)), shape
