"""Resource and cycle formulas of the scalar model against hand calculations; the vectorized twin."""

import math

import numpy as np
import pytest

from rnnaccel.hw.fpga import (
    GOOGLE_LSTM,
    CirculantDesign,
    RnnShape,
    SparseDesign,
    evaluate,
    evaluate_circulant,
    fpga_device,
    imbalance_from_counts,
    load_power_model,
)
from rnnaccel.hw.fpga.design import imbalance_gaussian
from rnnaccel.hw.fpga.vector import DESIGN_COLUMNS, evaluate_grid
from rnnaccel.hw.fpga.workload import design_blocks, layer_work
from rnnaccel.hw.spec import FPGA_DEVICES

POWER = load_power_model()
KU = fpga_device("ku060")


@pytest.fixture(autouse=True)
def _uncalibrated(monkeypatch):
    """The hand calculations are of the formulas with LogicCosts' defaults, not the synthesis fit."""
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", "none")


def test_google_lstm_shape():
    assert GOOGLE_LSTM.matrix_weights == 4096 * (153 + 512) + 512 * 1024  # = 3,248,128
    assert GOOGLE_LSTM.matrix_weights + 3 * 1024 + 4096 == 3_255_296  # papers.md, with peepholes + bias
    deep = RnnShape("lstm", 40, 256, proj_size=128, num_layers=2, bidirectional=True)
    works = layer_work(deep)
    assert len(works) == 4 and works[2].in_x == 2 * 128 and works[0].in_x == 40


def test_cycles_by_hand():
    d = CirculantDesign(
        block_gate=8, block_proj=8, pe_gate=8, lanes_gate=16, pe_proj=4, lanes_proj=8, elem_lanes=32, ii=1
    )
    r = evaluate(GOOGLE_LSTM, d, KU, POWER)
    # gate: p = 4096/8 = 512, q = ceil(153/8) + 512/8 = 84; rounds = ceil(84/8) * 512/16 = 11 * 32 = 352;
    # depth = FFT+IFFT 2*(2 wired + 2*1 multiplied stages) + MAC 4 + adder tree log2(8) = 15
    # proj: p = 64, q = 128; rounds = 32 * 8 = 256; depth = 8 + 4 + 2;
    # elem: 1024/32 + (LSTM cell 8 + two PWL levels 2*3 + write-back 1 + hand-out 1)
    assert r.stage_cycles == (352 + 15, 32 + 16, 256 + 14)
    assert r.cycles_per_frame == 367 and r.latency_cycles == 367 + 48 + 270
    assert math.isclose(r.frames_per_s, 200e6 / 367)
    assert math.isclose(r.latency_us, 685 / 200)


def test_ii_doubles_rounds():
    fast = evaluate(GOOGLE_LSTM, CirculantDesign(ii=1), KU, POWER)
    slow = evaluate(GOOGLE_LSTM, CirculantDesign(ii=2), KU, POWER)
    depth = 15  # FFT+IFFT 8 + MAC 4 + adder tree log2(8) (test_cycles_by_hand)
    assert slow.stage_cycles[0] - depth == 2 * (fast.stage_cycles[0] - depth)
    assert slow.dsp < fast.dsp


def test_resources_by_hand():
    d = CirculantDesign(
        block_gate=8, block_proj=8, pe_gate=8, lanes_gate=16, pe_proj=4, lanes_proj=8, elem_lanes=32, ii=1
    )
    r = evaluate(GOOGLE_LSTM, d, KU, POWER)
    # MAC banks 8*16*14 + 4*8*14; FFT units (8+16)*2*4 + (4+8)*2*4; elementwise 32 lanes * 11 mults
    assert r.dsp == 1792 + 448 + 192 + 96 + 352
    # weights: 128 memories of 128 b (8 codes) x 352 words (4 RAMB18 each) + 32 of 128 b x 256 (4
    # each); buffers 8 + 16 + 4 + 4; shell 40
    assert r.bram18 == 128 * 4 + 32 * 4 + 32 + 40
    assert not r.fits and r.fractions["dsp"] == r.dsp / 2760  # 2880 DSPs > 2760


def test_ops_by_hand():
    d = CirculantDesign(block_gate=8, block_proj=8)
    r = evaluate(GOOGLE_LSTM, d, KU, POWER)
    per_bp = 2 * 2 + 8 * 3
    fft = 4 * 12 + 6 * 2
    expected = 512 * 84 * per_bp + (512 + 84) * fft + 64 * 128 * per_bp + (64 + 128) * fft
    assert r.actual_ops == expected
    assert r.dense_ops == 2 * GOOGLE_LSTM.matrix_weights
    assert math.isclose(r.dense_gops, r.dense_ops * r.frames_per_s / 1e9)


def test_dense_google_lstm_does_not_fit_on_chip():
    # 3.25 M weights x 16 b = 52 Mb of BRAM; the KU060 has 38 Mb
    r = evaluate(GOOGLE_LSTM, CirculantDesign(block_gate=1, block_proj=1, pe_gate=4, lanes_gate=8), KU, POWER)
    assert not r.fits and r.fractions["bram"] > 1
    small = evaluate(
        GOOGLE_LSTM, CirculantDesign(block_gate=16, block_proj=16, pe_gate=2, lanes_gate=8), KU, POWER
    )
    assert small.fits


def test_sparse_ese_by_hand():
    d = SparseDesign()
    r = evaluate(GOOGLE_LSTM, d, KU, POWER)
    nnz = math.ceil(282 / 2520 * GOOGLE_LSTM.matrix_weights)
    assert r.actual_ops == 2 * nnz
    assert r.stage_cycles == (math.ceil(nnz / 32) + 4, 1024 + 8)
    assert r.cycles_per_frame == math.ceil(nnz / 32) + 4 and r.frames_per_round == 32
    assert (
        r.dsp == 1024 + 32 * 11
    )  # one 12x16 multiply per PE, one 11-multiplier elementwise lane per channel
    assert r.fits
    assert math.isclose(r.ddr_gbyte_s, nnz * 2 * 200e6 / r.cycles_per_frame / 1e9)  # 16 b per nonzero
    slow = evaluate(GOOGLE_LSTM, SparseDesign(imbalance=1.5), KU, POWER)
    assert slow.stage_cycles[0] == math.ceil(nnz * 1.5 / 32) + 4


def test_imbalance_helpers():
    assert imbalance_from_counts([10, 10, 20]) == pytest.approx(1.5)
    assert imbalance_gaussian(0.0, 32) == 1.0
    assert imbalance_gaussian(0.1, 32) == pytest.approx(1 + 0.1 * math.sqrt(2 * math.log(32)))
    with pytest.raises(ValueError, match="non-empty list"):
        imbalance_from_counts([])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_gate": 6}, r"block_gate = 6: the FPGA model \(rnnaccel.hw.fpga\) needs a power of two in "
                            r"1..64"),
        ({"pe_gate": 0}, "pe_gate must be an integer >= 1, got 0"),
        ({"weight_bits": 40}, r"weight_bits must be an integer in \[2, 32\], got 40"),
        ({"complex_mult": 5}, "complex_mult must be 3"),
        ({"freq_mhz": 0.0}, "freq_mhz must be > 0"),
    ],
)
def test_bad_designs(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CirculantDesign(**kwargs)
    with pytest.raises(TypeError, match=r"block_proj must be an integer >= 1, got True \(bool\)"):
        CirculantDesign(block_proj=True)


def test_bad_sparse_and_shapes():
    with pytest.raises(ValueError, match=r"density must be in \(0, 1\]"):
        SparseDesign(density=0.0)
    with pytest.raises(ValueError, match="imbalance .* must be >= 1"):
        SparseDesign(imbalance=0.5)
    with pytest.raises(ValueError, match="cell must be one of"):
        RnnShape("rnn", 10, 10)
    with pytest.raises(ValueError, match="a GRU has no projection"):
        RnnShape("gru", 10, 10, proj_size=5)
    with pytest.raises(TypeError, match="CirculantDesign or SparseDesign"):
        evaluate(GOOGLE_LSTM, object(), KU, POWER)


def test_shape_block_sizes_must_match_the_design():
    k8 = GOOGLE_LSTM.with_block_sizes({"input": 8, "recurrent": 8, "projection": 16})
    assert design_blocks(k8) == (8, 16) and design_blocks(GOOGLE_LSTM) == (1, 1)
    same = evaluate(k8, CirculantDesign(block_gate=8, block_proj=16), KU, POWER)
    assert same == evaluate(GOOGLE_LSTM, CirculantDesign(block_gate=8, block_proj=16), KU, POWER)
    with pytest.raises(ValueError, match=r"design 'circulant' has block_gate = 8, block_proj = 8 but the "
                                         r"network's block sizes are \[\{'input': 8, 'recurrent': 8, "
                                         r"'projection': 16\}\]"):
        evaluate(k8, CirculantDesign(block_gate=8, block_proj=8), KU, POWER)
    with pytest.raises(ValueError, match=r"block_size: the FPGA model .* one block size for the input and"):
        design_blocks(GOOGLE_LSTM.with_block_sizes({"input": 4, "recurrent": 8}))


def _random_points(n, rng):
    return {
        "block_gate": rng.choice([1, 2, 4, 8, 16, 32], n),
        "block_proj": rng.choice([1, 4, 8, 16], n),
        "pe_gate": rng.integers(1, 20, n),
        "lanes_gate": rng.integers(1, 33, n),
        "pe_proj": rng.integers(1, 9, n),
        "lanes_proj": rng.integers(1, 17, n),
        "elem_lanes": rng.integers(1, 65, n),
        "ii": rng.integers(1, 4, n),
        "weight_bits": rng.choice([4, 8, 12, 16, 20], n),
        "data_bits": rng.choice([8, 12, 16, 18], n),
        "complex_mult": rng.choice([3, 4], n),
        "freq_mhz": rng.choice([150.0, 200.0], n),
        "cell": rng.integers(0, 3, n),
        "device": rng.integers(0, 2, n),
    }


def test_vectorized_equals_scalar_point_by_point():
    rng = np.random.default_rng(1)
    shapes = (
        GOOGLE_LSTM,
        RnnShape("gru", 153, 512, num_layers=2, bidirectional=True),
        RnnShape("lstm", 39, 96, num_layers=3),
    )
    devices = tuple(FPGA_DEVICES.values())
    pts = _random_points(150, rng)
    out = evaluate_grid(pts, shapes, devices, POWER)
    for i in range(150):
        fields = {k: (float(pts[k][i]) if k == "freq_mhz" else int(pts[k][i])) for k in DESIGN_COLUMNS}
        r = evaluate_circulant(
            shapes[pts["cell"][i]], CirculantDesign(**fields), devices[pts["device"][i]], POWER
        )
        for key in ("dsp", "bram18", "luts", "ffs", "cycles_per_frame", "latency_cycles"):
            assert getattr(r, key) == out[key][i], (i, key)
        for key in ("frames_per_s", "gops", "dense_gops", "power_w", "frames_per_s_per_w"):
            assert math.isclose(getattr(r, key), out[key][i], rel_tol=1e-12), (i, key)
        assert r.fits == bool(out["fits"][i])


def test_grid_rejects_bad_columns():
    pts = _random_points(4, np.random.default_rng(0))
    del pts["ii"]
    with pytest.raises(ValueError, match=r"lack columns \['ii'\]"):
        evaluate_grid(pts, (GOOGLE_LSTM,), (KU,), POWER)
