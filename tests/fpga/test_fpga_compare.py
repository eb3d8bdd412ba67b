"""The ESE / C-LSTM / E-RNN comparison: calibration, published figures with tolerances, CLI."""

import json

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.fpga.compare import format_comparison, run_comparison


@pytest.fixture(scope="module")
def comparison():
    return run_comparison("ku060")


def test_every_design_fits_and_ese_is_the_calibration(comparison):
    rows = {r["key"]: r for r in comparison.rows}
    assert set(rows) == {"ese", "clstm_fft8", "clstm_fft16", "ernn_lstm", "ernn_gru"}
    assert all(r["fits"] for r in rows.values())
    assert rows["ese"]["power_w"] == pytest.approx(41.0)
    assert rows["ese"]["perf_vs_ese_throughput"] == pytest.approx(1.0)
    # the papers' basis: ESE frames/s = 1 / latency of one channel, so ESE's own aggregate is 32 x that-ish
    assert rows["ese"]["perf_vs_ese"] == pytest.approx(
        rows["ese"]["frames_per_s"] / rows["ese"]["single_stream_frames_per_s"]
    )


def test_published_checks_land_where_the_data_file_says(comparison):
    assert len(comparison.checks) == 18
    for check in comparison.checks:
        assert check["within"] == check["expect_within"], check


def test_block_16_and_gru_beat_block_8_in_energy(comparison):
    rows = {r["key"]: r for r in comparison.rows}
    assert rows["clstm_fft16"]["ee_vs_ese"] > rows["clstm_fft8"]["ee_vs_ese"]
    assert rows["ernn_gru"]["frames_per_s_per_w"] > rows["ernn_lstm"]["frames_per_s_per_w"]


def test_text_and_cli(comparison):
    text = format_comparison(comparison)
    assert "C-LSTM FFT8 16b" in text and "calibrated to ESE 41 W" in text
    result = CliRunner().invoke(main, ["fpga", "compare", "--json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)["rows"]) == 5
    bad = CliRunner().invoke(main, ["fpga", "compare", "--device", "zu9"])
    assert bad.exit_code != 0 and "'zu9' is not one of 'ku060', 'vx690t'" in bad.output  # a click choice


def test_design_cli():
    ok = CliRunner().invoke(main, ["fpga", "design", "--set", "block_gate=16", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["device"] == "ku060"
    bad = CliRunner().invoke(main, ["fpga", "design", "--set", "blocks=16"])
    assert bad.exit_code != 0 and "unknown design field 'blocks'" in bad.output
    bad = CliRunner().invoke(main, ["fpga", "design", "--set", "block_gate=6"])
    expected = "block_gate = 6: the FPGA model (rnnaccel.hw.fpga) needs a power of two in 1..64"
    assert bad.exit_code != 0 and expected in bad.output
