"""The end-to-end flow on a tiny synthetic corpus: every stage runs and the integer engine is bit-exact."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flow_configs import write_train_config

from rnnaccel.cli import main
from rnnaccel.flow import FlowConfig, load_flow_config, run_flow

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (apt-get install flite)")

_FLOW = """
train_config = "{out}/train.toml"
synth_utterances = 40
block_size = 4
qat_epochs = {qat}
method = "{method}"
direct_epochs = 1
check_utterances = 2
out_dir = "{out}/flow"
report = "{out}/flow.json"
[admm]
iterations = 1
finetune_epochs = 0
"""


@pytest.mark.parametrize(("qat", "method"), [(0, "admm"), (1, "direct")])
def test_flow_runs_end_to_end(tmp_path: Path, qat: int, method: str) -> None:
    write_train_config(tmp_path, "lstm", 16)
    (tmp_path / "flow.toml").write_text(_FLOW.format(out=tmp_path, qat=qat, method=method))
    result = CliRunner().invoke(main, ["flow", "--config", str(tmp_path / "flow.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "flow.json").read_text())
    assert report["ref_check"]["bit_exact"] is True
    assert len(report["compress"]["residuals"]) == (1 if method == "admm" else 0)
    assert "finetune" in report["compress"]["stages"] or method == "admm"  # direct: 1 epoch budget
    assert report["ref_check"]["per_integer_engine"] >= 0.0  # PER is unbounded above (insertions)
    assert ("qat" in report["qat"]["stages"]) == bool(qat)
    assert report["ref_check"]["utterances"] > report["ref_check"]["checked_utterances"] == 2
    assert report["hardware"]["fpga"]["fits"] is True
    assert report["hardware"]["epur"]["energy_j"] > 0
    assert "bit-exact=True" in result.output
    # the flow ends with the HTML report beside its JSON (same page as `rnnaccel report`), JSON stamped
    page = (tmp_path / "flow.html").read_text()
    assert f"html report: {tmp_path / 'flow.html'}" in result.output and page.count("<section") == 7
    assert "content_sha256" in report


def test_flow_config_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "flow.toml"
    path.write_text("block_sise = 8\n")
    with pytest.raises(ValueError, match="block_sise"):
        load_flow_config(path)


def test_flow_config_rejects_bad_block_size() -> None:
    with pytest.raises(ValueError, match="block_size"):
        FlowConfig(block_size=1)


def test_flow_config_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nope.toml"):
        load_flow_config(tmp_path / "nope.toml")


def test_flow_rerun_resumes_from_checkpoints(tmp_path: Path) -> None:
    """A second run (e.g. after a kill) continues from the dense and direct checkpoints: nothing is
    retrained and the report is the same."""
    write_train_config(tmp_path, "lstm", 16)
    (tmp_path / "flow.toml").write_text(_FLOW.format(out=tmp_path, qat=0, method="direct"))
    cfg = load_flow_config(tmp_path / "flow.toml")
    first = run_flow(cfg)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("checkpoint.json")}
    assert len(stamps) == 2  # dense, direct
    second = run_flow(cfg)
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("checkpoint.json")} == stamps
    del first["ref_check"]["seconds"], second["ref_check"]["seconds"]
    for key in ("dense", "compress", "ref_check"):
        assert first[key] == second[key]


def test_flow_config_rejects_unknown_fpga_device_before_training() -> None:
    with pytest.raises(ValueError, match="ku061"):
        FlowConfig(fpga_device="ku061")


def test_config_files_share_one_reader(tmp_path: Path) -> None:
    """TOML and YAML through rnnaccel.configfile: the same errors for every config kind."""
    from rnnaccel.configfile import load_config_file

    (tmp_path / "f.yaml").write_text("block_size: 4\nmethod: admm\n")
    assert load_config_file(tmp_path / "f.yaml", FlowConfig).block_size == 4
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="must be a mapping"):
        load_flow_config(tmp_path / "list.yaml")
    (tmp_path / "bad.toml").write_text("[admm\n")
    with pytest.raises(ValueError, match="bad.toml is not valid TOML"):
        load_flow_config(tmp_path / "bad.toml")
    (tmp_path / "bad.toml").write_text("method = 'magic'\n")
    with pytest.raises(ValueError, match=r"bad.toml: invalid flow config: method: "):
        load_flow_config(tmp_path / "bad.toml")


def test_summary_names_the_restored_best_dense_epoch() -> None:
    from rnnaccel.cli.flow import _dense_per

    curve = [{"epoch": 1, "per": {"test": 0.5}}, {"epoch": 2, "per": {"test": 0.4}},
             {"epoch": 3, "per": {"test": 0.45}}]
    assert _dense_per({"per_curve": curve, "best_epoch": 2}) == "{'test': 0.4} (best dev epoch 2, restored)"
    assert _dense_per({"per_curve": curve, "best_epoch": None}) == "{'test': 0.45}"
