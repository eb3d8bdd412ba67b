"""`rnnaccel rtl build --shape` / `rnnaccel rtl sim`: the generated layer top in Icarus through
cocotb is bit-exact with rnnaccel.ref, its cycles per frame equal the schedule's, a wrong expected
value fails at that frame and point, bad inputs fail before any file is written."""

import json
import shutil

import pytest
from click.testing import CliRunner

from rnnaccel.cli.rtl import rtl
from rnnaccel.rtl.build import parse_shape, run_sim

pytestmark = pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog missing (apt-get)")


def _build(tmp_path, shape, parallel):
    out = tmp_path / shape.replace(":", "_")
    res = CliRunner().invoke(rtl, ["build", "--shape", shape, "-k", "8", "--parallel", str(parallel),
                                   "--frames", "4", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize(("shape", "parallel"), [("lstm:8:16", 2), ("gru:16:8", 1), ("lstm:8:16:8", 2)])
def test_build_and_sim_bit_exact(tmp_path, shape, parallel):
    out = _build(tmp_path, shape, parallel)
    res = CliRunner().invoke(rtl, ["sim", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads((out / "sim.json").read_text())
    assert doc["bit_exact"] and doc["frames"] == 4 and doc["failure"] is None
    assert doc["cycles_between_frames"] == [doc["schedule_cycles_per_frame"]] * 3
    # hw.fpga's single-stream frame time (gate + elementwise stage) for the same design, measured
    model = doc["model_cycles_per_frame"]
    assert model == sum(doc["design"]["model_stage_cycles"]) == doc["cycles_per_frame"]


def test_sim_names_first_differing_frame_and_point(tmp_path):
    out = _build(tmp_path, "lstm:8:8", 1)
    vec = json.loads((out / "vectors.json").read_text())
    bits = vec["code_bits"]
    raw = int(vec["expected"][1])
    vec["expected"][1] = str(raw ^ (1 << (3 * bits)))  # flip the low bit of point 3 of frame 1
    (out / "vectors.json").write_text(json.dumps(vec))
    doc = run_sim(out)
    assert not doc["bit_exact"]
    assert "frame 1, point 3" in doc["failure"]


def test_bad_inputs_write_nothing(tmp_path):
    for shape, msg in [("lstm:8", "lstm:IN:HIDDEN"), ("gru:8:16:4", "projection"), ("rnn:8:8", "'rnn:8:8'")]:
        with pytest.raises(ValueError, match=msg):
            parse_shape(shape)
    out = tmp_path / "none"
    res = CliRunner().invoke(rtl, ["build", "--shape", "lstm:8:12", "-k", "8", "--out", str(out)])
    assert res.exit_code != 0 and "HIDDEN=12" in res.output and not out.exists()
    res = CliRunner().invoke(rtl, ["sim", str(tmp_path)])
    assert res.exit_code != 0 and "missing" in res.output


def test_weights_come_from_readmemh_files(tmp_path):
    """top.v holds no inline weights: Icarus loads mem/*.mem; a changed word (hash updated too) makes
    the simulation differ, a changed file without its hash is refused before Icarus runs."""
    out = _build(tmp_path, "gru:8:8", 1)
    verilog = (out / "top.v").read_text()
    assert verilog.count("$readmemh(") == 2 and "weights0[0] =" not in verilog
    design = json.loads((out / "design.json").read_text())
    name = "pe_ih.mac.weights0.mem"
    path = out / "mem" / name
    lines = path.read_text().split()
    lines[0] = "7" * len(lines[0])  # every code of the first word large and positive
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"SHA-256 differs"):
        run_sim(out)
    import hashlib

    design["mem"][name] = hashlib.sha256(path.read_bytes()).hexdigest()
    (out / "design.json").write_text(json.dumps(design))
    assert not run_sim(out)["bit_exact"]


def test_streams_build_and_sim(tmp_path):
    """--streams 2: the pipelined top over both directions of a random bidirectional LSTM layer (the
    backward stream fed the frames last first) in Icarus: bit-exact, every output in the cycle the
    controller's schedule names, one frame per hw.fpga's slowest stage; a bad count fails first."""
    out = tmp_path / "s2"
    args = ["build", "--shape", "lstm:8:16", "-k", "8", "--parallel", "2", "--frames", "4", "--out"]
    res = CliRunner().invoke(rtl, [*args, str(out), "--streams", "2"])
    assert res.exit_code == 0 and "2 stream(s)" in res.output, res.output
    doc = run_sim(out)
    assert doc["bit_exact"] and doc["frames"] == 8 and doc["streams"] == 2, doc["failure"]
    design = doc["design"]
    outs = json.loads((out / "vectors.cycles.json").read_text())["out_cycles"]
    assert outs == design["schedule_out_cycles"]
    assert design["stage_cycles"] == design["model_stage_cycles"]
    assert doc["cycles_per_frame"] == doc["model_cycles_per_frame"] == max(design["model_stage_cycles"])
    res = CliRunner().invoke(rtl, [*args, str(tmp_path / "none"), "--streams", "0"])
    assert res.exit_code != 0 and "streams" in res.output and not (tmp_path / "none").exists()
