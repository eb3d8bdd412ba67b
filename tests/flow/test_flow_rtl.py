"""The flow's optional last stage (``rtl = true``): every layer-direction of the chosen model as RTL,
a real test utterance (its first frames, to stay small) through it in Icarus, recorded in the report:
the whole network (RTL outputs of a layer feeding the next) bit-exact with rnnaccel.ref, measured
cycles per frame equal to rnnaccel.hw.fpga's."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flow_configs import write_train_config

from rnnaccel.cli import main

pytestmark = pytest.mark.skipif(shutil.which("flite") is None or shutil.which("iverilog") is None,
                                reason="needs flite and iverilog (apt-get)")

_FLOW = """
train_config = "{out}/train.toml"
synth_utterances = 20
block_size = 4
direct_epochs = 1
check_utterances = 1
out_dir = "{out}/flow"
report = "{out}/flow.json"
rtl = true
rtl_frames = 5
"""


def test_flow_rtl_stage(tmp_path: Path) -> None:
    write_train_config(tmp_path, "gru", 8)
    (tmp_path / "flow.toml").write_text(_FLOW.format(out=tmp_path))
    result = CliRunner().invoke(main, ["flow", "--config", str(tmp_path / "flow.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    rtl = json.loads((tmp_path / "flow.json").read_text())["rtl"]
    assert rtl["bit_exact"] is True and rtl["cycles_match_model"] is True and rtl["frames"] == 5
    runs = rtl["layer_directions"]
    assert [(r["layer"], r["direction"]) for r in runs] == [(0, 0), (0, 1)]
    assert all(r["cycles_per_frame"] == r["model_cycles_per_frame"] > 0 for r in runs)
    assert rtl["network_cycles_per_frame"] == rtl["model_network_cycles_per_frame"] > 0
    assert json.loads((tmp_path / "flow" / "rtl" / "network.json").read_text())["bit_exact"] is True
    design = json.loads((Path(runs[1]["dir"]) / "design.json").read_text())
    assert design["source"]["split"] == "test" and design["source"]["utterance_frames"] >= 5
