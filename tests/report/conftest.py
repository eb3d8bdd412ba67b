"""Runs to report on: a flow report whose hardware parts come from the real FPGA and E-PUR models
(training curves and engine figures are given, as a short run would write them), a compress sweep on
fake trials, and an explore run of a small grid."""

import json
import sys
from pathlib import Path

import pytest


def _epochs(pers, split="test", start=1):
    return [
        {"epoch": start + i, "loss": 3.0 - 0.4 * i, "per": {split: p}, "seconds": 1.0}
        for i, p in enumerate(pers)
    ]


def flow_report() -> dict:
    from rnnaccel.explore.config import ModelSection
    from rnnaccel.hw.epur import NETWORK_NAMES, evaluate, get_network, simulate
    from rnnaccel.hw.fpga import CirculantDesign, fpga_device
    from rnnaccel.hw.fpga import evaluate as fpga_evaluate
    from rnnaccel.hw.fpga.compare import ese_calibrated_power

    shape = ModelSection(
        input_size=39, hidden_size=64, proj_size=0, num_layers=1, bidirectional=True, peepholes=False
    ).shape("lstm")
    design = CirculantDesign(block_gate=4, block_proj=4, weight_bits=16, data_bits=16, name="flow-k4-16b")
    fpga = fpga_evaluate(shape, design, fpga_device("ku060"), ese_calibrated_power()).to_dict()
    epur = evaluate(simulate(get_network(NETWORK_NAMES[0]), mwl=True)).summary()
    return {
        "config": {"method": "admm", "block_size": 4, "quant": "16bit"},
        "train_config": {"data": {"eval_splits": ["test"]}},
        "dense": {"per_curve": _epochs([0.9, 0.6, 0.45])},
        "compress": {
            "method": "admm",
            "residuals": [0.31, 0.12, 0.05],
            "stages": {"admm": _epochs([0.5, 0.48], start=4), "finetune": _epochs([0.47], start=6)},
        },
        "qat": {"stages": {}},
        "ref_check": {
            "utterances": 20,
            "checked_utterances": 2,
            "bit_exact": True,
            "per_integer_engine": 0.475,
            "overflows": {"gates": 3, "cell": 0, "hidden": 1},
            "seconds": 1.0,
        },
        "hardware": {"fpga": fpga, "epur": epur},
    }


@pytest.fixture
def flow_run(tmp_path) -> Path:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps(flow_report()))
    return path


@pytest.fixture
def compress_run(tmp_path) -> Path:
    sys.path.insert(0, str(Path(__file__).parents[1] / "compress"))
    from study_fakes import FakeRunner

    from rnnaccel.compress.config import CompressConfig, GridConfig
    from rnnaccel.compress.sweep import Sweep

    grid = GridConfig(cells=["lstm"], hidden_sizes=[64], block_sizes=[4, 8], quant=["float", "16bit"])
    config = CompressConfig(
        results=str(tmp_path / "compress.json"),
        out_dir=str(tmp_path / "runs"),
        grid=grid,
        max_per_degradation=3.0,
        strategy="full",
    )

    class Runner(FakeRunner):  # the fake trials with training curves and ADMM residuals
        def run(self, spec):
            row = super().run(spec)
            return {
                **row,
                "stages": {spec.method: _epochs([row["per"] + 0.1, row["per"]], "dev")},
                "admm_residuals": [0.2, 0.05] if spec.method == "admm" else [],
            }

    Sweep(config, runner=Runner()).run()
    return tmp_path / "compress.json"


@pytest.fixture
def explore_run(tmp_path) -> Path:
    from click.testing import CliRunner

    from rnnaccel.cli import main

    cfg = tmp_path / "explore.toml"
    cfg.write_text(
        "[model]\ninput_size = 40\nhidden_size = 128\nproj_size = 64\n[sweep]\n"
        "block_gate = [4, 8]\nblock_proj = [4]\npe_gate = [2, 8]\nlanes_gate = [8]\npe_proj = [2]\n"
        "lanes_proj = [4]\nelem_lanes = [8]\nii = [1]\nweight_bits = [8, 16]\ndata_bits = [16]\n"
    )
    out = tmp_path / "explore"
    result = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out
