"""Yosys synthesis of one small PE through the CLI, checked against rnnaccel.hw.fpga's count of
what it needs; the stat -json parser and the missing-tool errors."""

import json
import math
import shutil

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.fpga.arith import block_product_mults, bram18_for, fft_nontrivial_twiddles
from rnnaccel.hw.spec import FPGA_DEVICES
from rnnaccel.rtl.synth import ToolNotFound, load_stat_json, parse_stat, require_tool

needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys missing: apt-get install yosys")


def _device(family):
    """A device of the family in rnnaccel.hw.spec (its DSP and BRAM specs)."""
    dsp_name = {"xc7": "DSP48E1", "xcu": "DSP48E2"}[family]
    return next(d for d in FPGA_DEVICES.values() if d.dsp.name == dsp_name)


@needs_yosys
def test_pe_dsp_and_bram_match_the_fpga_model(tmp_path):
    """`rnnaccel rtl pe` (CLI end to end) on a small PE, synthesized with Yosys for xc7: k = 4,
    1 x 4 blocks, 12 bit. Its DSPs and RAMB18s must be what rnnaccel.hw.fpga counts for it: the
    FFT-4 / IFFT-4 need no multiplier (fft_nontrivial_twiddles(4) = 0), the MAC lane needs
    block_product_mults(4, 4) = 6, and its weight memory (one word of k codes per block pair, q = 4
    words so that no bit column of the ROM is constant) tiles into bram18_for(4 * 12, 4) RAMB18s."""
    out = tmp_path / "pe4"
    args = ["rtl", "pe", "-k", "4", "--format", "ap_fixed<12,4>", "--out-blocks", "1", "--in-blocks", "4",
            "--family", "xc7", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    text = (out / "pe.v").read_text()
    assert all(f"module {m}" in text for m in ("pe(", "\\pe.fft ", "\\pe.mac ", "\\pe.ifft0 "))  # hierarchy
    doc = json.loads((out / "synth.json").read_text())
    assert (doc["block_size"], doc["format"], list(doc["families"])) == (4, "ap_fixed<12,4,rnd,sat>", ["xc7"])
    report, dev = doc["families"]["xc7"], _device("xc7")
    fft_dsp = 2 * fft_nontrivial_twiddles(4) * 4  # FFT + one IFFT (one lane)
    mac_dsp = block_product_mults(4, complex_mult=4) * dev.dsp_per_mult(12, 12)
    assert report["dsp"] == math.ceil(fft_dsp + mac_dsp) == 6
    assert report["bram18"] == bram18_for(4 * 12, 4, dev.bram) == 2
    assert report["tool"] == "yosys" and report["version"].startswith("0.")
    assert "synth_xilinx -top pe -family xc7" in report["script"]
    assert report["lut"] > 0 and report["ff"] > 0 and "differ from Vivado" in doc["note"]


def test_parse_stat_counts_dsp_bram_lut_ff():
    stat = {"design": {"num_cells_by_type": {
        "DSP48E2": 3, "RAMB18E2": 1, "RAMB36E2": 2, "LUT2": 5, "LUT6": 7, "FDRE": 9, "FDSE": 1,
        "CARRY8": 4, "RAM64M": 2, "BUFG": 1}}}
    got = parse_stat(stat, "xcu")
    counts = tuple(got[key] for key in ("dsp", "bram18", "lut", "ff", "carry", "lutram"))
    assert counts == (3, 5, 12, 10, 4, 2)
    assert parse_stat(stat, "xc7")["dsp"] == 0  # DSP48E2 is not a 7-series cell
    with pytest.raises(ValueError, match="unknown Xilinx family 'xc9'"):
        parse_stat(stat, "xc9")
    with pytest.raises(ValueError, match="no design.num_cells_by_type"):
        parse_stat({"modules": {}}, "xc7")


def test_stat_json_with_yosys_0_23_hierarchy_text():
    # Yosys 0.23 prints a deep hierarchy as text inside stat -json (seen on the layer top).
    text = """{
   "modules": {
      "\\top": {"num_cells": 2}
   },
       top.unit.sigmoid_f            1
       top.pe_ih.fft                 1
      "design": {"num_cells_by_type": {"DSP48E2": 57, "RAMB36E2": 2, "RAMB18E2": 3}}
}"""
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)
    got = parse_stat(load_stat_json(text), "xcu")
    assert (got["dsp"], got["bram18"]) == (57, 7)
    assert load_stat_json('{"design": {}}') == {"design": {}}


def test_missing_tool_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolNotFound, match=r"yosys not found on PATH: install it with `apt-get install yos"):
        require_tool("yosys")
    with pytest.raises(ToolNotFound, match="iverilog not found on PATH: install it with `apt-get inst"):
        require_tool("iverilog")
