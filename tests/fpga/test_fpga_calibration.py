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
