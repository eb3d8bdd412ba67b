"""Yosys synthesis of one small component, checked against rnnaccel.hw.fpga's count of what it needs;
the stat -json parser and the missing-tool errors."""

import math
import shutil

import numpy as np
import pytest

from rnnaccel.hw.fpga.arith import block_product_mults, bram18_for
from rnnaccel.hw.spec import FPGA_DEVICES
from rnnaccel.quant.config import QuantConfig
from rnnaccel.rtl.mac import MACBank
from rnnaccel.rtl.synth import ToolNotFound, parse_stat, require_tool, synth_xilinx, to_verilog, write_atomic
from rnnaccel.rtl.vectors import random_role

needs_yosys = pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys missing: apt-get install yosys")


def _device(family):
    """A device of the family in rnnaccel.hw.spec (its DSP and BRAM specs)."""
    dsp_name = {"xc7": "DSP48E1", "xcu": "DSP48E2"}[family]
    return next(d for d in FPGA_DEVICES.values() if d.dsp.name == dsp_name)


@needs_yosys
def test_mac_bank_dsp_and_bram_match_the_fpga_model(tmp_path):
    """MAC bank, k = 4, q = 4 input blocks, one lane, 12-bit: the model's multipliers per block
    product (2 real bins + 4 per complex bin) and its RAMB18 tiling of the weight memory (one word
    of k codes per block pair; q = 4 words so that no bit column of the ROM is constant)."""
    cfg = QuantConfig.twelve_bit()
    role = random_role(4, 1, 4, cfg, np.random.default_rng(0))
    path = tmp_path / "mac4.v"
    write_atomic(path, to_verilog(MACBank(role, cfg), "mac4"))
    report = synth_xilinx(path, "mac4", "xc7")
    dev = _device("xc7")
    mults = block_product_mults(4, complex_mult=4)
    assert report.dsp == math.ceil(mults * dev.dsp_per_mult(cfg.weight.bits, cfg.fft.bits)) == 6
    assert report.bram18 == bram18_for(4 * cfg.weight.bits, role.q, dev.bram) == 2
    assert report.version.startswith("0.") and report.family == "xc7" and "synth_xilinx" in report.script
    assert report.lut > 0 and report.ff > 0


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


def test_missing_tool_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolNotFound, match=r"yosys not found on PATH: install it with `apt-get install yos"):
        require_tool("yosys")
    with pytest.raises(ToolNotFound, match="iverilog not found on PATH: install it with `apt-get inst"):
        require_tool("iverilog")
