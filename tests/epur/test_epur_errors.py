"""Bad configurations and inputs give clear errors."""

import pytest

from rnnaccel.hw.epur import (
    ComputeUnitConfig,
    DRAMConfig,
    EPURConfig,
    NetworkSpec,
    get_network,
    load_config,
    simulate_layer,
)
from rnnaccel.shape import RnnShape


def test_zero_dpu_width():
    with pytest.raises(ValueError, match=r"dpu_width must be > 0, got 0"):
        ComputeUnitConfig(dpu_width=0)


@pytest.mark.parametrize("field", ["weight_buffer_kib", "input_buffer_kib"])
def test_negative_buffer(field):
    with pytest.raises(ValueError, match=rf"{field} must be > 0, got -1"):
        ComputeUnitConfig(**{field: -1})


def test_negative_memory_and_bandwidth():
    with pytest.raises(ValueError, match="intermediate_memory_kib must be > 0"):
        EPURConfig(intermediate_memory_kib=-5)
    with pytest.raises(ValueError, match="bandwidth_mb_s must be > 0"):
        DRAMConfig(bandwidth_mb_s=0)


def test_buffer_too_small_for_one_row():
    cfg = EPURConfig(cu=ComputeUnitConfig(weight_buffer_kib=0.125))  # 128 B < (60 + 10) x 2 B
    with pytest.raises(ValueError, match=r"too small for one weight row of 140 B \(layer 0\)"):
        simulate_layer(RnnShape("lstm", 60, 10), cfg, 4, mwl=True)


def test_intermediate_memory_too_small():
    cfg = EPURConfig(intermediate_memory_kib=0.01)
    with pytest.raises(ValueError, match="cannot hold the partial sums of one timestep"):
        simulate_layer(RnnShape("lstm", 60, 10), cfg, 4, mwl=True)


def test_unknown_network():
    with pytest.raises(ValueError, match=r"unknown network 'lenet'; expected one of eesen"):
        get_network("lenet")


def test_bad_layers():
    with pytest.raises(ValueError, match=r"block_size = 3: E-PUR \(rnnaccel.hw.epur\) needs a power of two"):
        simulate_layer(RnnShape("lstm", 8, 8, block_sizes=3), EPURConfig(), 2, mwl=False)
    with pytest.raises(ValueError, match=r"block_size\[1\] = 6: E-PUR"):
        NetworkSpec("x", (RnnShape("lstm", 8, 8, num_layers=2, block_sizes=[8, 6]),), 4, None)
    with pytest.raises(ValueError, match=r"block_size: E-PUR .* needs one block size for every role"):
        NetworkSpec("x", (RnnShape("lstm", 8, 8, block_sizes={"input": 4}),), 4, None)
    with pytest.raises(ValueError, match="cell must be one of 'lstm', 'gru', got 'rnn'"):
        RnnShape("rnn", 8, 8)
    with pytest.raises(ValueError, match=r"E-PUR maps one layer at a time .* num_layers = 2"):
        simulate_layer(RnnShape("lstm", 8, 8, num_layers=2), EPURConfig(), 2, mwl=False)
    with pytest.raises(ValueError, match="block_size must be an integer >= 1, got 0"):
        get_network("eesen").with_block_size(0)
    with pytest.raises(ValueError, match="one CU per gate: 4 gates but n_cu=3"):
        simulate_layer(RnnShape("lstm", 8, 8), EPURConfig(n_cu=3), 2, mwl=False)


def test_toml_config(tmp_path):
    good = tmp_path / "a.toml"
    good.write_text("freq_mhz = 400\n[cu]\ndpu_width = 32\n[dram]\nbandwidth_mb_s = 12800\n")
    cfg = load_config(good)
    assert (cfg.freq_mhz, cfg.cu.dpu_width, cfg.dram.bandwidth_mb_s, cfg.n_cu) == (400, 32, 12800, 4)
    bad = tmp_path / "b.toml"
    bad.write_text("[cu]\ndpu_widht = 32\n")
    with pytest.raises(ValueError, match="dpu_widht"):
        load_config(bad)
    zero = tmp_path / "c.toml"
    zero.write_text("[cu]\ndpu_width = 0\n")
    with pytest.raises(ValueError, match="dpu_width must be > 0"):
        load_config(zero)
