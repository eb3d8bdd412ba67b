"""Cycle counts against hand calculations, the naive per-cycle twin, and MWL DRAM traffic."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.hw.epur import ComputeUnitConfig, EPURConfig, get_network, simulate, simulate_layer
from rnnaccel.hw.epur.naive import naive_simulate_layer
from rnnaccel.shape import RnnShape


def test_dense_lstm_hand_calculation():
    # 8 neurons x ceil((20+8)/16) = 2 cycles, + pipeline (1 mult + log2 16 + 1 acc = 6) + MFU 4 = 26/step
    lay = RnnShape("lstm", 20, 8)
    res = simulate_layer(lay, EPURConfig(), seq_len=3, mwl=False)
    (phase,) = res.phases
    assert phase.compute_cycles == 3 * (8 * 2 + 6 + 4)
    # weights 4 x 8 x 28 x 2 B, biases 32 x 2 B, inputs 3 x 20 x 2 B; outputs 3 x 8 x 2 B
    assert phase.counts["dram.read_bytes"] == 4 * 8 * 28 * 2 + 64 + 120
    assert phase.counts["dram.write_bytes"] == 48
    assert phase.dram_cycles == -(-2024 * 500 // 25_600)
    assert phase.bound == "compute" and phase.cycles == 78
    assert phase.counts["dpu.mac"] == 3 * 4 * 8 * 28
    assert phase.counts["weight_buffer.read"] == 3 * 4 * 8 * 2


def test_projection_stage_hand_calculation():
    # gate: 16 x ceil((10+6)/16)=16 cycles; projection 6 rows over 4 CUs -> 2 rows x ceil(16/16) = 2
    lay = RnnShape("lstm", 10, 16, proj_size=6, peepholes=True)
    phase = simulate_layer(lay, EPURConfig(), seq_len=5, mwl=False).phases[0]
    assert phase.compute_cycles == 5 * ((16 + 6 + 4) + (2 + 6))


def test_circulant_hand_calculation():
    # k=4: rows = 16/4 = 4 block rows; per row 4*(4/2+1)*(q_x+q_h) = 12*(4+4) = 96 mults -> 6 cycles
    # transforms: FFT-4 = 2*4*2 = 16 mults -> 1 cycle; q_x+q_h = 8 FFTs + 4 IFFTs = 12 cycles
    lay = RnnShape("lstm", 16, 16, block_sizes=4)
    phase = simulate_layer(lay, EPURConfig(), seq_len=2, mwl=False).phases[0]
    assert phase.compute_cycles == 2 * (4 * 6 + 12 + 6 + 4)
    dense = simulate_layer(lay.with_block_sizes(1), EPURConfig(), seq_len=2, mwl=False).phases[0]
    # stored weights shrink by k (k reals per k x k block)
    w_bytes = lambda p, t: p.counts["dram.read_bytes"] - t * 16 * 2 - 4 * 16 * 2  # noqa: E731
    assert w_bytes(dense, 2) == 4 * w_bytes(phase, 2)


def test_memory_bound_streaming_layer():
    # RLDRADSPR layers do not fit 2 MiB per CU: without MWL half of each gate streams every step
    net = get_network("rldradspr").with_seq_len(50)
    off, on = simulate(net, mwl=False), simulate(net, mwl=True)
    assert off.layers[1].phases[0].bound == "memory"
    assert all(lay.schedule == "mwl" for lay in on.layers)
    assert on.dram_bytes < off.dram_bytes / 10


_SMALL = EPURConfig(cu=ComputeUnitConfig(dpu_width=4, weight_buffer_kib=0.5), intermediate_memory_kib=1)


def test_mwl_matches_closed_form_traffic():
    lay, t, b = RnnShape("lstm", 30, 10), 20, 2
    res = simulate_layer(lay, _SMALL, t, mwl=True)
    # window: 1024 B // ((4 gates x 10 psums + 30 inputs) x 2 B) = 7 steps -> 3 windows
    n_w = -(-t // (1024 // ((4 * 10 + 30) * b)))
    assert res.schedule == "mwl" and res.n_windows == n_w == 3
    # W_x fetched once per window; W_h (fits) reloaded after each window's input phase
    expected = 4 * (n_w * 10 * 30 * b + n_w * 10 * 10 * b) + 4 * 10 * b + t * 30 * b + t * 10 * b
    assert res.dram_bytes == expected
    # baseline: 512 B // 80 B = 6 resident rows per CU, 4 re-fetched every step
    base = simulate_layer(lay, _SMALL, t, mwl=False)
    assert base.dram_bytes == 4 * (6 * 80 + t * 4 * 80) + 4 * 10 * b + t * 30 * b + t * 10 * b


layers = st.builds(
    lambda kind, m, n, p, peep, k: RnnShape(kind, m, n, proj_size=0 if kind == "gru" else min(p, n - 1),
                                            peepholes=peep and kind == "lstm", block_sizes=k),
    st.sampled_from(["lstm", "gru"]), st.integers(1, 24), st.integers(2, 20), st.integers(0, 8),
    st.booleans(), st.sampled_from([1, 2, 4]))
configs = st.builds(
    lambda w, wb, im, lat: EPURConfig(
        cu=ComputeUnitConfig(dpu_width=w, weight_buffer_kib=wb, mfu_latency_cycles=lat),
        intermediate_memory_kib=im),
    st.sampled_from([1, 3, 4, 16]), st.sampled_from([0.25, 0.5, 1.0, 64.0]),
    st.sampled_from([0.5, 1.0, 64.0]),
    st.integers(0, 5))


def _runnable(lay, cfg, t, mwl):
    try:
        return simulate_layer(lay, cfg, t, mwl)
    except ValueError:
        return None


@given(layers, configs, st.integers(1, 6), st.booleans())
def test_naive_twin_agrees_exactly(lay, cfg, t, mwl):
    fast = _runnable(lay, cfg, t, mwl)
    if fast is None:
        return
    slow = naive_simulate_layer(lay, cfg, t, mwl)
    assert slow.schedule == fast.schedule
    for a, b in zip(fast.phases, slow.phases, strict=True):
        assert (a.name, a.compute_cycles, a.dram_cycles) == (b.name, b.compute_cycles, b.dram_cycles)
        assert a.counts == b.counts


@pytest.mark.parametrize("kind,block", [("lstm", 1), ("gru", 1), ("lstm", 4), ("gru", 2)])
def test_naive_twin_on_a_windowed_streaming_layer(kind, block):
    lay = RnnShape(kind, 30, 10, block_sizes=block)
    fast, slow = simulate_layer(lay, _SMALL, 20, True), naive_simulate_layer(lay, _SMALL, 20, True)
    assert fast == slow


@given(layers, configs, st.integers(1, 40))
def test_mwl_never_increases_dram_traffic(lay, cfg, t):
    off, on = _runnable(lay, cfg, t, False), _runnable(lay, cfg, t, True)
    if off is None:
        return
    assert on.dram_bytes <= off.dram_bytes
    if on.schedule == "mwl":
        assert on.dram_bytes < off.dram_bytes


def test_all_benchmark_networks_run_and_mwl_helps_or_ties():
    for name in ("eesen", "rldradspr", "gmat", "bysdne", "neuraltalk", "google-lstm"):
        net = get_network(name).with_seq_len(20)
        off, on = simulate(net, mwl=False), simulate(net, mwl=True)
        assert 0 < on.dram_bytes <= off.dram_bytes
        assert on.cycles > 0
