"""rnnaccel.ref.cell (the elementwise units' model) equals the integer engine's LSTM/GRU steps exactly."""

import numpy as np
import pytest

from rnnaccel.quant import QFormat, QuantConfig
from rnnaccel.ref import Engine, Fx, IntDirection
from rnnaccel.ref.cell import gru_update, lstm_cell, pwl_codes, require_points
from rnnaccel.ref.engine import _gru_step, _lstm_step

PRESETS = {"16bit": QuantConfig.c_lstm(), "12bit": QuantConfig.twelve_bit()}
N = 4096


def _codes(rng, fmt: QFormat, n=N, spread=4):
    """Codes spanning ``spread`` times the format's range (inputs that saturate) and small ones."""
    wide = rng.integers(spread * fmt.code_min, spread * fmt.code_max + 1, n)
    small = rng.integers(fmt.code_min // 16, fmt.code_max // 16 + 1, n)
    return np.where(rng.random(n) < 0.5, wide, small)


def _pre(rng, cfg: QuantConfig, frac: int, n=N):
    """Exact pre-activations at ``frac``: half up to 4x beyond the gate_acc range, half within 1/8 of it,
    every low bit random (the rounding to gate_acc sees all remainders)."""
    scale = cfg.gate_acc.code_max << (frac - cfg.gate_acc.frac)
    wide, small = rng.integers(-4 * scale, 4 * scale + 1, n), rng.integers(-scale // 8, scale // 8 + 1, n)
    return np.where(rng.random(n) < 0.5, wide, small)


def _ends(fmt: QFormat):
    return np.array([fmt.code_min, fmt.code_min + 1, -1, 0, 1, fmt.code_max - 1, fmt.code_max], np.int64)


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("peephole", [False, True])
@pytest.mark.parametrize("pre_frac", [8, 16])
def test_lstm_cell_equals_engine_step(preset, peephole, pre_frac):
    cfg, rng = PRESETS[preset], np.random.default_rng(pre_frac + 2 * peephole)
    pre_fmt = QFormat(bits=28, frac=pre_frac)
    gates = [_pre(rng, cfg, pre_frac) for _ in range(4)]
    gates[1][:7] = _ends(pre_fmt)  # forget-gate pre-activation at the pre format's ends
    c_prev = _codes(rng, cfg.cell, spread=1)
    c_prev[:7] = _ends(cfg.cell)
    peep = [_codes(rng, cfg.weight, spread=1) for _ in range(3)] if peephole else None
    d = IntDirection(None, None, None, None if peep is None else tuple(peep), N)
    eng = Engine(cfg)
    m_ref, c_ref = _lstm_step(Fx(np.concatenate(gates), pre_frac), Fx(c_prev, cfg.cell.frac), d, eng)
    m, c = lstm_cell(cfg, gates, pre_frac, c_prev, peep)
    assert np.array_equal(m, m_ref.codes) and np.array_equal(c, c_ref.codes)
    assert eng.stats["cell"] > 0 and eng.stats["gate_acc"] > 0  # the vectors saturate both points


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize(("gx_frac", "gh_frac"), [(8, 8), (16, 12)])
def test_gru_update_equals_engine_step(preset, gx_frac, gh_frac):
    cfg, rng = PRESETS[preset], np.random.default_rng(gx_frac + gh_frac)
    gx = [_pre(rng, cfg, gx_frac) for _ in range(3)]
    gh = [_pre(rng, cfg, gh_frac) for _ in range(3)]
    h_prev = _codes(rng, cfg.hidden, spread=1)
    h_prev[:7] = _ends(cfg.hidden)
    eng = Engine(cfg)
    gx_fx, gh_fx = Fx(np.concatenate(gx), gx_frac), Fx(np.concatenate(gh), gh_frac)
    ref = _gru_step(gx_fx, gh_fx, Fx(h_prev, cfg.hidden.frac), N, eng)
    assert np.array_equal(gru_update(cfg, gx, gx_frac, gh, gh_frac, h_prev), ref.codes)
    assert eng.stats["gate_acc"] > 0


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("fn", ["sigmoid", "tanh"])
@pytest.mark.parametrize("source", ["gate_acc", "cell"])
def test_pwl_codes_equals_engine_act(preset, fn, source):
    cfg = PRESETS[preset]
    fmt = cfg[source]
    x = np.arange(fmt.code_min, fmt.code_max + 1)  # every code, beyond both saturating ends
    assert np.array_equal(pwl_codes(cfg, fn, x, source), Engine(cfg).act(Fx(x, fmt.frac), fn).codes)


def test_missing_points_are_named():
    with pytest.raises(ValueError, match=r"\['cell', 'sigmoid_pwl'\]"):
        require_points(PRESETS["16bit"].with_formats(cell=None, sigmoid_pwl=None), ["gate_acc", "cell"])
    with pytest.raises(ValueError, match="'relu'"):
        pwl_codes(PRESETS["16bit"], "relu", np.zeros(1), "gate_acc")
    with pytest.raises(ValueError, match="4 gate pre-activations"):
        lstm_cell(PRESETS["16bit"], [np.zeros(1)] * 3, 8, np.zeros(1))
