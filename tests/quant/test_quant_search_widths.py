"""The overflow-driven integer-bit fit and the PER-budget width search (issue 13 items 4 and 7)."""

import pytest
import torch

from rnnaccel.quant import QuantConfig
from rnnaccel.quant.config import POINT_NAMES
from rnnaccel.quant.formats import EngineData, engine_overflows, engine_per
from rnnaccel.quant.search import (
    MIN_INT_BITS,
    POINT_GROUPS,
    calibrate,
    fit_int_bits,
    point_widths,
    search_widths,
)
from rnnaccel.shape import RnnShape
from rnnaccel.train import build_model, greedy_decode

NEEDS = {"input": 4, "weight": 1, "bias": -2, "fft": 5, "freq_acc": 6, "ifft": 7, "gate_acc": 5,
         "sigmoid": 2, "tanh": 2, "cell": 3, "hidden": 2, "proj": 3}


def _threshold_check(needs, calls=None):
    """A check whose point p overflows exactly when it has fewer than needs[p] integer bits."""
    def check(cfg):
        if calls is not None:
            calls.append(cfg)
        return {p: int(cfg[p].int_bits < n) * 7 for p, n in needs.items()}
    return check


@pytest.mark.parametrize("start", [None, dict.fromkeys(POINT_NAMES, 1), dict.fromkeys(POINT_NAMES, 12)])
def test_fit_finds_the_fewest_integer_bits_of_every_point(start):
    calls = []
    cfg, counts, rounds = fit_int_bits(_threshold_check(NEEDS, calls), QuantConfig.c_lstm(), 14, start=start)
    assert {p: cfg[p].int_bits for p in NEEDS} == NEEDS and sum(counts.values()) == 0
    assert all(cfg[p].bits == 14 for p in POINT_NAMES) and rounds == len(calls) <= 12
    assert cfg.twiddle.int_bits == 1  # not counted by any check: the fewest that hold the twiddles
    assert cfg.sigmoid_pwl.coef_format.bits == 14 and cfg.sigmoid_pwl.coef_format.int_bits == 4


def test_fit_from_the_answer_takes_two_checks():
    """A start at a neighbouring width's result (the usual case): one clean check, one failing trial."""
    calls = []
    cfg, _, rounds = fit_int_bits(_threshold_check(NEEDS, calls), QuantConfig.c_lstm(), 12, start=NEEDS)
    assert {p: cfg[p].int_bits for p in NEEDS} == NEEDS and rounds == len(calls) == 2


def test_fit_per_group_widths_and_errors():
    widths = {"fft": 12, "weights": 10, **{g: 14 for g in POINT_GROUPS if g not in ("fft", "weights")}}
    cfg, _, _ = fit_int_bits(_threshold_check(NEEDS), QuantConfig.c_lstm(), widths)
    assert cfg.ifft.bits == cfg.fft.bits == 12 and cfg.weight.bits == 10 and cfg.cell.bits == 14
    assert {p: cfg[p].int_bits for p in NEEDS} == NEEDS
    with pytest.raises(ValueError, match="'ifft' overflows on the calibration data even as ap_fixed<8,8>"):
        fit_int_bits(_threshold_check({**NEEDS, "ifft": 9}), QuantConfig.c_lstm(), 8)
    with pytest.raises(ValueError, match=r"unknown group or point name\(s\) \['ffts'\]"):
        point_widths({"ffts": 8})
    assert MIN_INT_BITS <= min(NEEDS.values())


def _synthetic_per(widths_to_per):
    """evaluate(config) -> PER looked up by the config's total width (uniform configs)."""
    def evaluate(cfg):
        return widths_to_per[cfg.gate_acc.bits], {}
    return evaluate


def test_search_returns_the_smallest_uniform_width_within_the_budget_even_if_per_is_not_monotone():
    per = {16: 0.300, 15: 0.300, 14: 0.302, 13: 0.311, 12: 0.304, 11: 0.340, 10: 0.400, 9: 0.5, 8: 0.6}
    res = search_widths(_threshold_check(NEEDS), _synthetic_per(per), QuantConfig.c_lstm(), 0.30, 0.005,
                        8, 16, groups=False)
    assert [t.total_bits for t in res.uniform] == list(range(16, 7, -1))
    assert res.best_uniform.total_bits == 12 and res.best is res.best_uniform  # 13 is over, 12 within
    none = search_widths(_threshold_check(NEEDS), _synthetic_per(per), QuantConfig.c_lstm(), 0.20, 0.005,
                         8, 16, groups=False)
    assert none.best is None and none.best_uniform is None


def test_group_narrowing_keeps_each_group_at_its_smallest_width_within_the_budget():
    # PER rises by 1 point for every bit the fft group loses below 12 and the state group below 10,
    # and fails (+10 points) when any other group goes below 11; budget 2 points. Uniform 11 bits costs
    # 1 point (fft); then fft 10 (+2 in all) is kept, 9 is over; state 10 is free, 9 is over.
    def evaluate(cfg):
        fft, state = cfg.ifft.bits, cfg.cell.bits
        others = min(cfg.gate_acc.bits, cfg.weight.bits, cfg.input.bits, cfg.sigmoid.bits)
        return 0.3 + 0.01 * (max(0, 12 - fft) + max(0, 10 - state)) + (0.1 if others < 11 else 0.0), {}
    res = search_widths(_threshold_check(NEEDS), evaluate, QuantConfig.c_lstm(), 0.30, 0.0201, 8, 16)
    assert res.best_uniform.total_bits == 11
    assert res.best.widths == {"input": 11, "weights": 11, "fft": 10, "gate_acc": 11, "activations": 11,
                               "state": 10}
    assert res.within(res.best)


def _tiny_case():
    """A tiny random recognizer; its own float greedy decodes are the reference transcripts (float PER 0)."""
    torch.manual_seed(0)
    model = build_model(RnnShape("lstm", 6, 8, num_layers=1, block_sizes=4)).double().eval()
    with torch.no_grad():
        for w in model.rnn.parameters():
            w.mul_(3.0)
        feats = [torch.randn(int(n), 6, dtype=torch.float64) * 2 for n in torch.randint(8, 20, (10,))]
        logp = [model(f[None])[0].numpy() for f in feats]
    phones = [torch.tensor(greedy_decode(lp)) for lp in logp]
    return model, EngineData(feats[:6]), EngineData(feats[6:], phones[6:])


def test_search_on_a_tiny_model_never_saturates_on_its_calibration_data_and_returns_the_smallest_width():
    model, calib, dev = _tiny_case()
    rnn, base = model.rnn, QuantConfig.c_lstm()
    res = search_widths(lambda cfg: engine_overflows(rnn, cfg, calib),
                        lambda cfg: engine_per(model, cfg, dev), base, 0.0, 0.05, 4, 12, groups=False)
    for t in res.uniform:
        assert sum(engine_overflows(rnn, t.config, calib).values()) == 0
        # the fake-quant torch model agrees: nothing saturates on the calibration data
        assert sum(calibrate(rnn, t.config, [f[None] for f in calib.feats]).values()) == 0
    within = [t.total_bits for t in res.uniform if t.per <= 0.05]
    assert res.best_uniform.total_bits == min(within)
    assert res.uniform[0].per <= 0.05 and res.uniform[-1].per > res.uniform[0].per  # the narrowest costs PER
