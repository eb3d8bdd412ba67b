# amaranth: UnusedElaboratable=no
"""The pipelined layer top (rtl.pipeline: gate mat-vec | elementwise | projection over S interleaved
streams) in Amaranth's simulator: every stream bit-exact with rnnaccel.ref (its own direction, its
state reset at each sequence start), output cycles equal to the controller's cycle model, the
steady-state interval equal to rnnaccel.hw.fpga's slowest stage."""

import numpy as np
import pytest
import torch
from rtl_cases import CONFIGS

from rnnaccel.nn import GRU, LSTM
from rnnaccel.ref.export import export_model
from rnnaccel.rtl.build import model_cycles
from rnnaccel.rtl.pipeline import (
    PipelinedTop,
    interleave,
    pack_frames,
    pipeline_schedule,
    reference_streams,
    stage_cycles,
    steady_interval,
)
from rnnaccel.rtl.sim import run_stream, unpack
from rnnaccel.rtl.vectors import random_codes

pytestmark = pytest.mark.filterwarnings("ignore:.*created but never used")


def _layer(kind, proj, cfg, seed=0):
    torch.manual_seed(seed)
    if kind == "gru":
        net = GRU(8, 8, block_size=4, bidirectional=True)
    else:
        net = LSTM(8, 16 if proj else 8, block_size=4, peephole=True, proj_size=proj, bidirectional=True)
    return export_model(net, cfg).layers[0]


def _run(top, frames, first, ready=None):
    raws = pack_frames(top, frames, first)
    run = run_stream(top, raws, len(raws), ready=ready, max_cycles=200 * len(raws) * max(stage_cycles(top)))
    return np.array([unpack(top.o.payload.shape(), r) for r in run.outputs], np.int64), run


def _sequences(cfg, streams, rng, lengths=(3, 2)):
    """Per stream two sequences (moderate frames, then saturating ones); a bidirectional pair for the
    first two streams: stream 1 sees stream 0's frames last first."""
    seqs = []
    for n in lengths:
        last = n == lengths[-1]
        xs = [random_codes(cfg.input, (n, 8), rng, saturating=last) // (1 if last else 4)
              for _ in range(streams)]
        xs[1] = xs[0][::-1]
        seqs.append(xs)
    return seqs


def _check(got, want):
    bad = np.argwhere(got != want)
    if bad.size:
        at = tuple(bad[0])
        pytest.fail(f"first mismatch (output frame, point) {at}: rtl {got[at]} != ref {want[at]}")


@pytest.mark.parametrize(("kind", "proj", "streams", "lanes", "name"), [
    ("lstm", 0, 2, 1, "ap_fixed<12,4>"),
    ("gru", 0, 2, 2, "ap_fixed<16,8>"),
    ("lstm", 8, 2, 2, "ap_fixed<16,8>"),
    ("lstm", 8, 3, 1, "ap_fixed<12,4>"),
])
def test_streams_bit_exact_and_cycles(kind, proj, streams, lanes, name):
    cfg, rng = CONFIGS[name], np.random.default_rng(streams + lanes)
    layer = _layer(kind, proj, cfg)
    dirs = [layer[s % 2] for s in range(streams)]
    top = PipelinedTop(kind, dirs, cfg, cfg.input, lanes)
    seqs = _sequences(cfg, streams, rng)
    parts = [interleave(xs) for xs in seqs]  # a second sequence per stream: every state resets
    frames, first = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    want = np.concatenate([reference_streams(kind, dirs, cfg, xs) for xs in seqs])
    got, run = _run(top, frames, first)
    _check(got, want)
    stages = stage_cycles(top)
    assert list(run.out_cycles) == pipeline_schedule(stages, streams, len(frames))
    # steady state: the last S outputs arrive one per model interval (hw.fpga: one frame per slowest stage)
    model = model_cycles(kind, dirs[0], lanes, streams)
    assert list(stages) == list(model)
    interval = (run.out_cycles[-1] - run.out_cycles[-1 - streams]) / streams
    assert interval == steady_interval(model, streams)
    if streams >= sum(1 for s in stages if s):
        assert interval == max(model)


def test_stalling_sink_and_the_backward_direction():
    """A sink that is ready one cycle in three: same codes; stream 1 (the backward direction fed the
    frames last first) gives run_direction(reverse=True)'s outputs reversed."""
    from rnnaccel.rtl.top import reference_frames

    cfg, rng = CONFIGS["ap_fixed<12,4>"], np.random.default_rng(5)
    layer = _layer("gru", 0, cfg, seed=2)
    top = PipelinedTop("gru", layer, cfg, cfg.input, 2)
    x = random_codes(cfg.input, (4, 8), rng) // 4
    frames, first = interleave([x, x[::-1]])
    got, _ = _run(top, frames, first, ready=[False, False, True])
    assert (got[0::2] == reference_frames("gru", layer[0], cfg, x)).all()
    assert (got[1::2][::-1] == reference_frames("gru", layer[1], cfg, x, reverse=True)).all()


def test_single_stream_loop_is_the_sequential_tops():
    """One stream loops through the stages in D1 + D2 (+ D3): the sequential LayerTop's frame time
    (LSTM, GRU); with a projection one cycle more (the projection stage's own load cycle)."""
    from rnnaccel.rtl.top import LayerTop, top_cycles

    cfg = CONFIGS["ap_fixed<16,8>"]
    for kind, proj in (("lstm", 0), ("gru", 0), ("lstm", 8)):
        layer = _layer(kind, proj, cfg)
        d1, d2, d3 = stage_cycles(PipelinedTop(kind, layer, cfg, cfg.input, 2))
        assert d1 + d2 + d3 == top_cycles(LayerTop(kind, layer[0], cfg, cfg.input, 2)) + (proj > 0)


def test_pipelined_top_rejects_what_it_cannot_interleave():
    cfg = CONFIGS["ap_fixed<12,4>"]
    layer = _layer("lstm", 0, cfg)
    with pytest.raises(ValueError, match="2 or more streams"):
        PipelinedTop("lstm", layer[:1], cfg, cfg.input)
    other = _layer("lstm", 8, cfg)
    with pytest.raises(ValueError, match="one shape"):
        PipelinedTop("lstm", [layer[0], other[0]], cfg, cfg.input)
    with pytest.raises(ValueError, match="one length"):
        interleave([np.zeros((3, 8)), np.zeros((2, 8))])


def test_two_utterances_share_one_direction():
    """S copies of one direction (several utterances): one set of weight words (the MAC memories are
    not stacked), each stream its own frames and state."""
    cfg, rng = CONFIGS["ap_fixed<16,8>"], np.random.default_rng(9)
    d = _layer("lstm", 0, cfg, seed=4)[0]
    top = PipelinedTop("lstm", [d, d], cfg, cfg.input, 1)
    assert top.pe_ih.role is d.ih and top.pe_hh.role is d.hh
    xs = [random_codes(cfg.input, (3, 8), rng) // 4 for _ in range(2)]
    frames, first = interleave(xs)
    got, _ = _run(top, frames, first)
    _check(got, reference_streams("lstm", [d, d], cfg, xs))
