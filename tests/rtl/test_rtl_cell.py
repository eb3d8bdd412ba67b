# amaranth: UnusedElaboratable=no
"""rnnaccel.rtl.cell (LSTM cell update, GRU update) bit-exact with rnnaccel.ref.cell, every output code
at its cycle, on random codes and on codes that saturate every point the units round at."""

import shutil

import numpy as np
import pytest
from test_rtl_pwl import assert_stream_exact, run_in_icarus, run_stream

from rnnaccel.quant import QFormat, QuantConfig
from rnnaccel.ref import Engine, Fx, IntDirection
from rnnaccel.ref.cell import gru_update, lstm_cell
from rnnaccel.ref.engine import _gru_step, _lstm_step

pytest.importorskip("amaranth")
from rnnaccel.rtl.cell import (  # noqa: E402
    GRU_LATENCY,
    LSTM_LATENCY,
    GRUUpdateUnit,
    LSTMCellUnit,
    circulant_pre_format,
)
from rnnaccel.rtl.synth import to_verilog  # noqa: E402

# ap_fixed<16,8> (C-LSTM), ap_fixed<12,4>; each also with a hidden format too narrow for +-1, so that
# m_t = o tanh(c_t) and h_t saturate too (with the presets |m|, |h| <= 1 cannot overflow "hidden").
PRESETS = {"16bit": QuantConfig.c_lstm(), "12bit": QuantConfig.twelve_bit()}
PRE24 = QFormat(bits=24, frac=16)
NARROW = {f"{k}_narrow_hidden": v.with_formats(hidden=QFormat(bits=8, frac=7)) for k, v in PRESETS.items()}
# ... and the other rounding/overflow paths: round-half-even with wrap-around, truncation with saturation.
MODES = {"rnd_conv+wrap": QuantConfig.uniform(bits=12, frac=6, rounding="rnd_conv", overflow="wrap"),
         "trn+sat": QuantConfig.uniform(bits=10, frac=5, rounding="trn")}
CONFIGS = {**PRESETS, **NARROW, **MODES}
LSTM_CASES = [(n, True) for n in sorted(CONFIGS)] + [(n, False) for n in sorted(PRESETS)]
N_RANDOM = 160


def _ends(fmt: QFormat) -> np.ndarray:
    return np.array([fmt.code_min, fmt.code_min + 1, -1, 0, 1, fmt.code_max - 1, fmt.code_max], np.int64)


def _vec(rng, fmt: QFormat, n: int, beyond: int = 1) -> np.ndarray:
    """Codes of ``fmt``: both ends, then random ones; ``beyond`` > 1 spreads past gate_acc's range
    (pre-activation ports are wider than gate_acc)."""
    lo, hi = max(fmt.code_min, beyond * fmt.code_min), min(fmt.code_max, beyond * fmt.code_max)
    wide, small = rng.integers(lo, hi + 1, n), rng.integers(fmt.code_min // 16, fmt.code_max // 16 + 1, n)
    return np.concatenate([_ends(fmt), np.where(rng.random(n) < 0.5, wide, small)])


def _pre(rng, cfg: QuantConfig, pre: QFormat, n: int) -> np.ndarray:
    """Exact pre-activations in the ``pre`` port: up to 4x beyond gate_acc's range, every low bit random."""
    scale = cfg.gate_acc.code_max << (pre.frac - cfg.gate_acc.frac)
    v = _vec(rng, QFormat(bits=pre.bits, frac=pre.frac), n)
    return np.clip(v, -4 * scale, 4 * scale) if n else v


def _pre_format(cfg: QuantConfig) -> QFormat:
    """A pre-activation port as the dense MAC path delivers it: frac = hidden + weight frac."""
    return QFormat(bits=cfg.gate_acc.bits + 8, frac=cfg.hidden.frac + cfg.weight.frac)


def _lstm_case(name: str, peephole: bool):
    cfg, rng = CONFIGS[name], np.random.default_rng(len(name) + peephole)
    pre = _pre_format(cfg)
    gates = [_pre(rng, cfg, pre, N_RANDOM) for _ in range(4)]
    c_prev = _vec(rng, cfg.cell, N_RANDOM)
    peep = [_vec(rng, cfg.weight, N_RANDOM) for _ in range(3)] if peephole else None
    return cfg, pre, gates, c_prev, peep


@pytest.mark.parametrize(("name", "peephole"), LSTM_CASES)
def test_lstm_cell_unit_exact_every_cycle(name, peephole):
    cfg, pre, gates, c_prev, peep = _lstm_case(name, peephole)
    m_ref, c_ref = lstm_cell(cfg, gates, pre.frac, c_prev, peep)
    eng = Engine(cfg)
    d = IntDirection(None, None, None, None if peep is None else tuple(peep), len(c_prev))
    _lstm_step(Fx(np.concatenate(gates), pre.frac), Fx(c_prev, cfg.cell.frac), d, eng)
    assert eng.stats["gate_acc"] > 0 and eng.stats["cell"] > 0  # the vectors saturate these points
    assert "narrow" not in name or eng.stats["hidden"] > 0
    dut = LSTMCellUnit(cfg, pre, peephole)
    assert dut.latency == LSTM_LATENCY == 14
    keys = ["a_i", "a_f", "a_g", "a_o", "c_prev"] + (["w_ci", "w_cf", "w_co"] if peephole else [])
    cols = [*gates, c_prev, *(peep or [])]
    inputs = [dict(zip(keys, (int(c[j]) for c in cols), strict=True)) for j in range(len(c_prev))]
    want = [{"m": int(a), "c": int(b)} for a, b in zip(m_ref, c_ref, strict=True)]
    assert_stream_exact(*run_stream(dut, inputs, fields=["m", "c"]), want, dut.latency,
                        names=[str(v) for v in inputs])


def _gru_case(name: str):
    cfg, rng = CONFIGS[name], np.random.default_rng(len(name))
    pre_x = QFormat(bits=cfg.gate_acc.bits + 8, frac=cfg.input.frac + cfg.weight.frac)
    pre_h = circulant_pre_format(cfg, 2)  # W_h* h + b_h* from an IFFT-k
    gx = [_pre(rng, cfg, pre_x, N_RANDOM) for _ in range(3)]
    gh = [_pre(rng, cfg, pre_h, N_RANDOM) for _ in range(3)]
    return cfg, pre_x, pre_h, gx, gh, _vec(rng, cfg.hidden, N_RANDOM)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_gru_update_unit_exact_every_cycle(name):
    cfg, pre_x, pre_h, gx, gh, h_prev = _gru_case(name)
    want = gru_update(cfg, gx, pre_x.frac, gh, pre_h.frac, h_prev)
    eng = Engine(cfg)
    gx_fx, gh_fx = Fx(np.concatenate(gx), pre_x.frac), Fx(np.concatenate(gh), pre_h.frac)
    _gru_step(gx_fx, gh_fx, Fx(h_prev, cfg.hidden.frac), len(h_prev), eng)
    assert eng.stats["gate_acc"] > 0 and ("narrow" not in name or eng.stats["hidden"] > 0)
    dut = GRUUpdateUnit(cfg, pre_x, pre_h)
    assert dut.latency == GRU_LATENCY == 12
    keys = ["x_r", "x_z", "x_n", "h_r", "h_z", "h_n", "h_prev"]
    cols = [*gx, *gh, h_prev]
    inputs = [dict(zip(keys, (int(c[j]) for c in cols), strict=True)) for j in range(len(h_prev))]
    assert_stream_exact(*run_stream(dut, inputs, fields=["h"]), [{"h": int(v)} for v in want], dut.latency,
                        names=[str(v) for v in inputs])


def test_cell_units_under_backpressure():
    """Random gaps on both sides: every LSTM output, in order, none lost or repeated."""
    cfg, pre, gates, c_prev, peep = _lstm_case("12bit", True)
    rng, n = np.random.default_rng(5), 48
    keys = ["a_i", "a_f", "a_g", "a_o", "c_prev", "w_ci", "w_cf", "w_co"]
    inputs = [dict(zip(keys, (int(c[j]) for c in [*gates, c_prev, *peep]), strict=True)) for j in range(n)]
    m_ref, c_ref = lstm_cell(cfg, [g[:n] for g in gates], pre.frac, c_prev[:n], [w[:n] for w in peep])
    cycles = 4 * n + 64
    accepted, outputs, _ = run_stream(LSTMCellUnit(cfg, pre), inputs, fields=["m", "c"],
                                      valid=rng.random(cycles) < 0.7, ready=rng.random(cycles) < 0.5)
    assert len(accepted) == n
    assert [v for _, v in outputs] == [{"m": int(a), "c": int(b)} for a, b in zip(m_ref, c_ref, strict=True)]


def test_cell_units_verilog_keeps_names():
    cfg = PRESETS["16bit"]
    text = to_verilog(LSTMCellUnit(cfg, _pre_format(cfg)), "lstm_cell")
    for name in ("module lstm_cell(", "lstm_cell.sigmoid_i", "lstm_cell.tanh_c", "lstm_cell.sigmoid_o",
                 "w_ci_x_c_s1", "f_x_c_s6", "cell_s7", "o_x_tanh_c_s13", "hidden_s14", "i__payload"):
        assert name in text, f"{name} missing from the LSTM cell Verilog"
    text = to_verilog(GRUUpdateUnit(cfg, QFormat(bits=24, frac=16), QFormat(bits=22, frac=8)), "gru_update")
    for name in ("module gru_update(", "gru_update.sigmoid_r", "gru_update.tanh_n", "r_x_h_n_s5",
                 "h_prev_minus_n_s10", "z_x_diff_s11", "hidden_s12"):
        assert name in text, f"{name} missing from the GRU Verilog"


@pytest.mark.parametrize(("kind", "peephole"), [("lstm", True), ("lstm", False), ("gru", False)])
def test_cell_units_have_the_multipliers_and_pwls_of_the_fpga_model(kind, peephole):
    """One elementwise lane: as many multipliers ($mul cells: DSPs after synthesis) and PWL units
    (2 coefficient-ROM reads each) as rnnaccel.hw.fpga.model.elem_unit counts."""
    from amaranth.back import rtlil

    from rnnaccel.hw.fpga.model import elem_unit

    cfg, pre = PRESETS["16bit"], QFormat(bits=24, frac=16)
    dut = LSTMCellUnit(cfg, pre, peephole) if kind == "lstm" else GRUUpdateUnit(cfg, pre, pre)
    text = rtlil.convert(dut, name=kind)
    mults, _, pwls = elem_unit(kind, peephole)
    assert (text.count("cell $mul "), text.count("cell $memrd") // 2) == (mults, pwls)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("terms", [1, 2, 4])
def test_circulant_pre_format_holds_the_worst_sum(name, terms):
    cfg = CONFIGS[name]
    pre = circulant_pre_format(cfg, terms)
    worst = [max(-f.code_min, f.code_max) << (pre.frac - f.frac) for f in (cfg.ifft, cfg.bias)]
    assert terms * max(worst) <= -pre.code_min and pre.frac == max(cfg.ifft.frac, cfg.bias.frac)
    assert terms * max(worst) > -pre.code_min // 2 or terms == 1  # and no wider than needed


def test_cell_unit_errors_name_the_value():
    cfg = PRESETS["16bit"]
    with pytest.raises(ValueError, match=r"\['cell'\]"):
        LSTMCellUnit(cfg.with_formats(cell=None), QFormat(bits=24, frac=16))
    with pytest.raises(ValueError, match="sigmoid_pwl is None"):
        GRUUpdateUnit(cfg.with_formats(sigmoid_pwl=None), PRE24, PRE24)
    with pytest.raises(ValueError, match=r"\['weight'\]"):
        LSTMCellUnit(cfg.with_formats(weight=None), QFormat(bits=24, frac=16))
    LSTMCellUnit(cfg.with_formats(weight=None), PRE24, peephole=False)  # needs no weight format
    with pytest.raises(TypeError, match="pre must be a QFormat"):
        LSTMCellUnit(cfg, 24)
    with pytest.raises(ValueError, match="terms must be a positive int, got 0"):
        circulant_pre_format(cfg, 0)
    with pytest.raises(ValueError, match="pre_h=ap_ufixed<24,8.*must be signed"):
        GRUUpdateUnit(cfg, QFormat(bits=24, frac=16), QFormat(bits=24, frac=16, signed=False))


def _pack(layout, values: dict) -> int:
    """A struct payload as the flat non-negative word of its Verilog port (fields at their offsets)."""
    return sum((int(values[name]) & ((1 << f.width) - 1)) << f.offset for name, f in layout)


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get install -y iverilog)")
def test_lstm_cell_verilog_in_icarus(tmp_path):
    """The emitted Verilog of the LSTM cell unit (12-bit, peepholes) in Icarus on saturating and random
    vectors: every output word (m, c) at accept cycle + 14."""
    cfg, pre, gates, c_prev, peep = _lstm_case("12bit", True)
    m_ref, c_ref = lstm_cell(cfg, gates, pre.frac, c_prev, peep)
    dut = LSTMCellUnit(cfg, pre)
    keys = ["a_i", "a_f", "a_g", "a_o", "c_prev", "w_ci", "w_cf", "w_co"]
    cols = [*gates, c_prev, *peep]
    rows = [dict(zip(keys, (c[j] for c in cols), strict=True)) for j in range(len(c_prev))]
    ins = [_pack(dut.i.payload.shape(), row) for row in rows]
    outs = [_pack(dut.o.payload.shape(), {"m": a, "c": b}) for a, b in zip(m_ref, c_ref, strict=True)]
    run_in_icarus(dut, "lstm_cell", ins, outs, cfg.cell.bits, tmp_path)
