"""The processing element (FFT-k -> MAC bank -> IFFT-k per lane) in Amaranth's simulator,
bit-exact against the engine's circulant path (rnnaccel.ref.pe.pe_block)."""

import numpy as np
import pytest
import torch
from rtl_cases import CONFIGS

from rnnaccel.nn import LSTM
from rnnaccel.ref.export import export_model
from rnnaccel.ref.pe import pe_block
from rnnaccel.rtl.fft import fft_latency
from rnnaccel.rtl.pe import PE
from rnnaccel.rtl.sim import run_stream
from rnnaccel.rtl.vectors import pe_inputs, pe_outputs, random_codes, random_role


def _run_pe(pe, x):
    run = run_stream(pe, pe_inputs(pe, x), len(x) * pe.passes)
    return pe_outputs(pe, run.outputs), run


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize(("k", "p", "q", "lanes"), [(4, 3, 2, 2), (8, 2, 3, 1), (16, 1, 2, 1)])
def test_pe_matches_ref(k, p, q, lanes, name):
    cfg, rng = CONFIGS[name], np.random.default_rng(k)
    role = random_role(k, p, q, cfg, rng)
    x = np.concatenate([random_codes(cfg.input, (1, q * k), rng) // k,
                        random_codes(cfg.input, (1, q * k), rng, saturating=True)])
    want, frac = pe_block(role, x, cfg.input.frac, cfg)
    pe = PE(role, cfg, cfg.input, lanes)
    got, run = _run_pe(pe, x)
    bad = np.argwhere(got != want)
    if bad.size:
        at = tuple(bad[0])
        pytest.fail(f"first mismatch (vector, feature) {at}: rtl {got[at]} != ref {want[at]}")
    assert frac == pe.out_frac
    assert run.in_cycles == tuple(range(len(x) * pe.passes * q))
    first_out = run.in_cycles[q - 1] + pe.latency
    assert run.out_cycles[0] == first_out and pe.latency == 2 * fft_latency(k) + 3


def test_pe_runs_an_exported_lstm_role():
    torch.manual_seed(0)
    cfg = CONFIGS["ap_fixed<12,4>"]
    role = export_model(LSTM(8, 4, block_size=4), cfg).layers[0][0].ih  # 16 x 8: p = 4, q = 2
    x = np.random.default_rng(2).integers(-200, 200, (2, 8))
    want, _ = pe_block(role, x, cfg.input.frac, cfg)
    got, run = _run_pe(PE(role, cfg, cfg.input, 2), x)
    assert (got == want).all()
    assert np.diff(run.out_cycles).tolist() == [2, 2, 2]  # P = 2 blocks every q = 2 input blocks
