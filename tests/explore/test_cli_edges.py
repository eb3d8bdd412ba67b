"""Rough edges of the hardware CLIs: choices listed in --help, `fpga design` naming the resource that
does not fit, and plotting that leaves the caller's matplotlib backend alone."""

import re
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.epur import NETWORK_NAMES
from rnnaccel.hw.spec import FPGA_DEVICE_NAMES

SRC = Path(__file__).resolve().parents[2] / "src" / "rnnaccel"


def test_choices_are_listed_in_help_and_enforced():
    design = CliRunner().invoke(main, ["fpga", "design", "--help"]).output
    assert "[" + "|".join(FPGA_DEVICE_NAMES) + "]" in design
    sim = CliRunner().invoke(main, ["simulate", "--help"]).output
    assert all(name in sim for name in NETWORK_NAMES)
    bad = CliRunner().invoke(main, ["fpga", "compare", "--device", "zu9"])
    assert bad.exit_code == 2 and "'zu9' is not one of" in bad.output
    bad = CliRunner().invoke(main, ["simulate", "--network", "resnet"])
    assert bad.exit_code == 2 and "'resnet' is not one of" in bad.output


def test_fpga_design_names_the_resource_that_does_not_fit():
    over = CliRunner().invoke(main, ["fpga", "design", "--set", "block_gate=1", "--set", "pe_gate=64"])
    assert over.exit_code == 0, over.output
    line = over.output.strip().splitlines()[-1]
    assert re.fullmatch(r"fits ku060: NO, exceeds .*\(\d+%\)", line), line
    assert "RAMB18 blocks" in line or "DSP slices" in line
    ok = CliRunner().invoke(main, ["fpga", "design", "--set", "block_gate=16", "--set", "pe_gate=2"])
    assert "fits ku060: yes (largest use:" in ok.output
    args = ["fpga", "design", "--json", "--set", "block_gate=1", "--set", "pe_gate=64"]
    js = CliRunner().invoke(main, args)
    assert '"exceeds": [' in js.output and '"available"' in js.output


def test_library_plots_leave_the_backend_alone(tmp_path):
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if "matplotlib.use(" in p.read_text() and not p.name.startswith("cli")]
    assert offenders == []
    script = f"""
import sys, matplotlib
matplotlib.use("svg")
from rnnaccel.explore import explore, plot_front, ExploreConfig
from rnnaccel.hw.epur import evaluate, get_network, simulate
from rnnaccel.hw.epur.plot import plot_breakdown
res = explore(ExploreConfig.model_validate({{"sweep": {{"pe_gate": [2], "ii": [1], "weight_bits": [8]}}}}))
plot_front(res, {str(tmp_path / "front.png")!r})
net = get_network("eesen")
plot_breakdown([(evaluate(simulate(net, mwl=False)), evaluate(simulate(net, mwl=True)))],
               {str(tmp_path / "e.svg")!r})
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert "matplotlib.pyplot" not in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "front.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "e.svg").read_text()[:500]
