"""Calibration statistics per point and the per-point integer-bit search (issue 13 items 4 and 7)."""

import torch

from rnnaccel.nn.rnn import LSTM
from rnnaccel.quant import QFormat, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats, fake_quant
from rnnaccel.quant.search import calibrate, fewest_int_bits, search_int_bits


def test_stats_on_a_hand_example():
    stats = OverflowStats()
    x = torch.tensor([0.5, -3.0, 9.0, -20.0], dtype=torch.float64)
    fake_quant(x, QFormat.ap_fixed(8, 4), stats, "cell")  # range [-8, 8 - 1/16]
    fake_quant(torch.tensor([1.0], dtype=torch.float64), QFormat.ap_fixed(8, 4), stats, "cell")
    assert stats["cell"] == 2 and stats.amax["cell"] == 20.0


def test_fewest_int_bits():
    like = QFormat.ap_fixed(16, 8)
    assert fewest_int_bits(3.0, like, 12) == QFormat.ap_fixed(12, 3)  # [-4, 4)
    assert fewest_int_bits(4.0, like, 12) == QFormat.ap_fixed(12, 4)
    assert fewest_int_bits(3.999, like, 8) == QFormat.ap_fixed(8, 4)  # 3.999 rounds to 4 at lsb 1/32


def test_search_never_saturates_on_its_calibration_data():
    torch.manual_seed(0)
    model = LSTM(6, 8, 2, batch_first=True, bidirectional=True, block_size=4).double()
    with torch.no_grad():
        for w in model.parameters():
            w.mul_(6.0)
    inputs = [torch.randn(3, 9, 6, dtype=torch.float64) * 4 for _ in range(2)]
    base = QuantConfig.c_lstm()
    assert sum(calibrate(model, base, inputs).values()) > 0  # ap_fixed<16,8> saturates here
    for width in (8, 12, 16):
        cfg, stats = search_int_bits(model, base, inputs, width)
        assert sum(calibrate(model, cfg, inputs).values()) == 0 and sum(stats.values()) == 0
        assert all(cfg[p].bits == width for p in stats)


def test_config_takes_ap_fixed_strings_and_round_trips():
    cfg = QuantConfig.c_lstm().with_formats(ifft="ap_fixed<16,11>")
    assert cfg.ifft == QFormat.ap_fixed(16, 11)
    back = QuantConfig.from_mapping({p: v for p, v in cfg.as_dict().items() if not p.endswith("_pwl")},
                                    base=cfg)
    assert back == cfg
