"""The synthesis calibration of the FPGA model: loading, fitting, and that the model uses it."""

import json
from dataclasses import replace

import pytest

from rnnaccel.hw.fpga import calibration as cal
from rnnaccel.hw.fpga.compare import run_comparison
from rnnaccel.hw.fpga.design import LogicCosts


@pytest.fixture(autouse=True)
def _fresh_cache():
    cal._cached.cache_clear()
    yield
    cal._cached.cache_clear()


def _fake_rows(costs: LogicCosts) -> list[dict]:
    """Design points whose 'synthesized' counts are exactly what ``costs`` predict."""
    rows = []
    for kind, n, h, k, lanes in (("lstm", 8, 8, 8, 1), ("lstm", 8, 8, 8, 4), ("gru", 16, 16, 16, 2)):
        tally = cal.tally_dict(cal.top_tally(kind, n, h, k, lanes))
        point = f"{kind}:{n}:{h}:{k}:{lanes}"
        rows.append({"point": point, "tally": tally, "yosys": cal.predict(tally, costs)})
    return rows


def test_fit_recovers_known_costs_from_a_tiny_fake_set():
    truth = replace(LogicCosts(), lut_per_adder_bit=1.7, lut_per_pwl_bit=9.0, ff_per_reg_bit=0.8,
                    fft_dsp_per_mult=0.5)
    fitted = cal.fit_costs(_fake_rows(truth))
    for name in ("lut_per_adder_bit", "ff_per_reg_bit", "fft_dsp_per_mult"):
        assert getattr(fitted, name) == pytest.approx(getattr(truth, name), rel=0.02), name
    after, before = cal.errors(_fake_rows(truth), fitted), cal.errors(_fake_rows(truth), LogicCosts())
    assert max(after.values()) < 0.01 < max(before.values())
    with pytest.raises(ValueError, match="at least 2 synthesized design points, got 1"):
        cal.fit_costs(_fake_rows(truth)[:1])


def test_top_tally_counts_the_rtl_structure():
    t = cal.top_tally("lstm", 8, 8, 8, 1)
    # two PEs: MAC lane 2 + 4*3 = 14 mults each; FFT + IFFT per PE, 2 twiddles x 4; LSTM lane 11
    assert (t.mults_wide, t.mults_fft, t.mults_data) == (2 * 14, 2 * 2 * 2 * 4, 11)
    assert cal.predict(cal.tally_dict(t), LogicCosts())["dsp"] == 28 + 32 + 11
    # two weight ROMs (ih, hh) of 8 codes x 16 bit = 128 bits x 4 words (p = 4 passes of q = 1): 4 RAMB18
    assert t.bram18 == 2 * 4
    # the 2-stream pipelined top: both directions' words in each ROM (8 words), same PEs
    two = cal.top_tally("lstm", 8, 8, 8, 1, streams=2)
    assert (two.bram18, two.mults_wide) == (2 * 4, t.mults_wide)
    # 128 -> 128: p = 64 passes x q = 16 blocks = 1024 words per ROM, past 512: 8 RAMB18 each
    assert cal.top_tally("lstm", 128, 128, 8, 1).bram18 == 2 * 8
    assert cal.top_tally("gru", 8, 8, 8, 1).mults_wide == t.mults_wide  # same PEs, 3 gates: 3 passes
    with pytest.raises(ValueError, match="kind must be one of 'lstm', 'gru', got 'rnn'"):
        cal.top_tally("rnn", 8, 8, 8, 1)


def test_yosys_ramb_by_hand():
    # the synthesized lstm:8:8:8:1 keeps 102 and 113 bits of its two 4-word ROMs: 3 RAMB18 + 2 RAMB36
    assert cal.yosys_ramb(102, 4) == (3, 0)  # 3 x 129 < 2 x 257 (brams_xc4v.txt costs)
    assert cal.yosys_ramb(113, 4) == (0, 2)  # 4 x 129 > 2 x 257
    assert cal.yosys_ramb(128, 1024) == (0, 4)
    assert cal.yosys_ramb(0, 4) == (0, 0)
    with pytest.raises(ValueError, match="width >= 0 and depth >= 1, got 8x0"):
        cal.yosys_ramb(8, 0)


def test_yosys_ramb_is_the_models_bram18_for_in_ramb18_equivalents():
    from rnnaccel.hw.fpga.arith import bram18_for
    from rnnaccel.hw.spec import BramSpec

    for width in (1, 9, 16, 36, 37, 72, 100, 108, 109, 128, 160, 236, 256, 512):
        for depth in (1, 2, 4, 100, 512, 513, 1024, 2049, 16385):
            r18, r36 = cal.yosys_ramb(width, depth)
            assert r18 + 2 * r36 == bram18_for(width, depth, BramSpec()), (width, depth)


def test_live_width_counts_the_columns_yosys_keeps():
    assert cal.live_width([0b1010, 0b1000], 4) == 1  # bit 1 differs; bits 0, 2 (0) and 3 (1) constant
    assert cal.live_width([5], 3) == 0  # a one-word ROM is a constant
    assert cal.live_width([0, 0xFFFF], 16) == 16


def _write(tmp_path, costs: dict, source=None) -> str:
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"costs": costs, "source": source or {"tool": "yosys", "version": "0.23",
                                                                      "family": "xcu", "design_points": ["a"],
                                                                      "date": "2026-12-02"}}))
    return str(path)


def test_default_costs_follow_the_environment(tmp_path, monkeypatch):
    path = _write(tmp_path, {"lut_per_adder_bit": 2.5, "fft_dsp_per_mult": 0.25})
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", path)
    costs = cal.default_costs()
    assert (costs.lut_per_adder_bit, costs.fft_dsp_per_mult, costs.shell_luts) == (2.5, 0.25, 20_000)
    assert cal.describe_costs(costs).startswith("calibrated to yosys 0.23 synth_xilinx -family xcu (1 design")
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", "none")
    assert cal.default_costs() == LogicCosts()
    assert cal.describe_costs(LogicCosts()) == "uncalibrated (LogicCosts defaults)"


def test_bad_calibration_files_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"unknown cost field\(s\) \['luts'\]"):
        cal.load_calibration(_write(tmp_path, {"luts": 1.0}))
    with pytest.raises(ValueError, match=r"costs.ff_per_reg_bit must be a number >= 0, got -1"):
        cal.load_calibration(_write(tmp_path, {"ff_per_reg_bit": -1}))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="cannot read FPGA calibration .*bad.json"):
        cal.load_calibration(tmp_path / "bad.json")


def test_the_shipped_calibration_names_its_source():
    if not cal.CALIBRATION_JSON.exists():
        pytest.skip("no calibration file shipped")
    c = cal.load_calibration()
    assert c.source["tool"] == "yosys" and c.source["family"] == "xcu"
    assert len(c.source["design_points"]) >= 6 and c.source["date"] and c.source["script"]
    assert set(c.error_after) == set(cal.RESOURCES)
    bram = json.loads(cal.CALIBRATION_JSON.read_text())["bram"]
    assert len(bram["points"]) == len(c.source["design_points"])
    for point in bram["points"]:  # Yosys's rule on the kept widths reproduces its RAMB18 / RAMB36
        assert point["kept_width_rule"] == point["yosys_ramb18_ramb36"], point["point"]


def test_compare_uses_the_calibration(tmp_path, monkeypatch):
    path = _write(tmp_path, {"fft_dsp_per_mult": 0.25, "lut_per_adder_bit": 0.5})
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", path)
    calibrated = run_comparison()
    assert calibrated.costs.startswith("calibrated to yosys") and "cal.json" in calibrated.costs
    plain = run_comparison(costs=LogicCosts())
    assert plain.costs.startswith("uncalibrated")
    ese = {r["key"]: r for r in calibrated.rows}["ese"], {r["key"]: r for r in plain.rows}["ese"]
    assert ese[0]["luts"] < ese[1]["luts"]  # the sparse design's LUTs use the fitted adder cost


def test_the_vectorized_model_of_explore_uses_the_calibration(tmp_path, monkeypatch):
    import numpy as np

    from rnnaccel.hw.fpga import GOOGLE_LSTM, fpga_device, load_power_model
    from rnnaccel.hw.fpga.vector import DESIGN_COLUMNS, evaluate_grid

    defaults = {"block_gate": 8, "block_proj": 8, "pe_gate": 4, "lanes_gate": 8, "pe_proj": 2,
                "lanes_proj": 4, "elem_lanes": 8, "ii": 1, "weight_bits": 16, "data_bits": 16,
                "complex_mult": 4, "freq_mhz": 200.0}
    points = {k: np.array([defaults[k]]) for k in DESIGN_COLUMNS}
    points.update(cell=np.array([0]), device=np.array([0]))

    def dsp() -> int:
        out = evaluate_grid(points, (GOOGLE_LSTM,), (fpga_device("ku060"),), load_power_model())
        return int(out["dsp"][0])

    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", "none")
    plain = dsp()
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", _write(tmp_path, {"fft_dsp_per_mult": 0.5}))
    assert dsp() < plain


def test_explore_cli_uses_and_names_the_calibration(tmp_path, monkeypatch):
    import csv

    from click.testing import CliRunner

    from rnnaccel.cli import main

    cfg = tmp_path / "cfg.toml"
    cfg.write_text('[model]\ninput_size = 40\nhidden_size = 64\nproj_size = 32\n\n[sweep]\n'
                   'cell = ["lstm"]\ndevice = ["ku060"]\nblock_gate = [8]\nblock_proj = [8]\n'
                   'pe_gate = [2]\nlanes_gate = [4]\n\n[output]\nplot = false\n')

    def run(name: str) -> tuple[dict, dict]:
        out = tmp_path / name
        result = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--out", str(out), "--json"])
        assert result.exit_code == 0, result.output
        with open(out / "points.csv") as f:
            return json.loads(result.output), next(csv.DictReader(f))

    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", "none")
    plain, plain_row = run("plain")
    monkeypatch.setenv("RNNACCEL_FPGA_CALIBRATION", _write(tmp_path, {"fft_dsp_per_mult": 0.5}))
    calibrated, row = run("cal")
    assert plain["model_costs"].startswith("uncalibrated")
    assert calibrated["model_costs"].startswith("calibrated to yosys 0.23")
    assert "cal.json" in calibrated["model_costs"]
    assert int(row["dsp"]) < int(plain_row["dsp"])
