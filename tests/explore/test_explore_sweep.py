"""Explore: config validation, grid, Pareto (vs a quadratic twin), PER attachment, CSV/PNG, CLI."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.explore import (
    ExploreConfig,
    build_points,
    explore,
    load_explore_config,
    pareto_front,
    pareto_front_naive,
    write_csv,
)

SMALL = """
[model]
input_size = 40
hidden_size = 128
proj_size = 64

[sweep]
cell = ["lstm", "gru"]
device = ["ku060", "vx690t"]
block_gate = [1, 8]
block_proj = [4]
pe_gate = [1, 64]
lanes_gate = [8]
pe_proj = [2]
lanes_proj = [4]
elem_lanes = [8]
ii = [1, 2]
weight_bits = [8, 16]
data_bits = [16]

[output]
plot = true
"""


def _write(tmp_path, text, name="cfg.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_grid_is_the_cartesian_product(tmp_path):
    cfg = load_explore_config(_write(tmp_path, SMALL))
    pts = build_points(cfg)
    assert pts["cell"].size == 2 * 2 * 2 * 2 * 2 * 2
    combos = {
        (int(a), int(b), int(c)) for a, b, c in zip(pts["cell"], pts["device"], pts["pe_gate"], strict=True)
    }
    assert len(combos) == 8


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sweep]\nblocks = [8]\n", "Extra inputs are not permitted"),
        ('[sweep]\ndevice = ["zu9"]\n', r"unknown devices \['zu9'\]"),
        ("[sweep]\nblock_gate = [6]\n", r"sweep.block_gate: Value error, block_gate = 6: the FPGA model "
         r"\(rnnaccel.hw.fpga\) needs a power of two in 1..64"),
        ("[sweep]\nblock_proj = [128]\n", r"block_proj = 128: .* needs a power of two in 1..64"),
        ("[sweep]\nblock_proj = [true]\n", r"sweep.block_proj.0: Input should be a valid integer"),
        ("[model]\nproj_size = 2048\n", r"model \(lstm\): proj_size = 2048 > hidden_size = 1024: the FPGA "
         r"model \(rnnaccel.hw.fpga\) needs a projection no wider than the hidden state"),
        ("[model]\nhidden_size = true\n", r"model.hidden_size: Input should be a valid integer"),
        ("[model]\nhidden = 5\n", r"model.hidden: Extra inputs are not permitted"),
        ("[sweep]\npe_gate = []\n", "sweep.pe_gate must list at least one value"),
        ("[sweep]\nweight_bits = [1]\n", r"bit widths must be in \[2, 32\]"),
        ("[output]\nresource = 'area'\n", "resource"),
        ("[sweep\n", "is not valid TOML"),
    ],
)
def test_bad_configs(tmp_path, text, message):
    with pytest.raises(ValueError, match=message):
        load_explore_config(_write(tmp_path, text))


def test_missing_config(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_explore_config(tmp_path / "nope.toml")


def test_pareto_matches_naive_twin():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.integers(0, 6, 40).astype(float), rng.integers(0, 6, 40).astype(float)
        assert np.array_equal(pareto_front(a, b), pareto_front_naive(a, b))
    assert pareto_front(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 1.0])).tolist() == [False, False, True]


def test_explore_fit_front_and_per(tmp_path):
    trials = {
        "trials": [
            {"cell": "lstm", "hidden": 128, "block_sizes": {"gates": 8, "proj": 4}, "bits": 8, "per": 0.21}
        ]
    }
    (tmp_path / "p1.json").write_text(json.dumps(trials))
    cfg = load_explore_config(_write(tmp_path, SMALL))
    cfg = cfg.model_copy(
        update={"output": cfg.output.model_copy(update={"phase1_results": str(tmp_path / "p1.json")})}
    )
    result = explore(cfg)
    cols = result.columns
    assert not cols["fits"].all() and cols["fits"].any()  # pe_gate=64 with dense blocks does not fit
    assert not (result.front & ~cols["fits"]).any()
    known = ~np.isnan(cols["per"])
    assert known.sum() == 2 * 2 * 2  # lstm, k=8, w8: devices x pe_gate x ii
    assert np.all(cols["block_gate"][known] == 8) and np.all(cols["per"][known] == 0.21)
    strict = cfg.model_copy(update={"output": cfg.output.model_copy(update={"max_per": 0.25})})
    front = explore(strict).front
    assert front.any() and np.all(known[front])


def test_bad_phase1_file(tmp_path):
    (tmp_path / "p1.json").write_text(json.dumps({"trials": [{"cell": "lstm"}]}))
    cfg = ExploreConfig.model_validate(
        {
            "output": {"phase1_results": str(tmp_path / "p1.json")},
            "sweep": {"pe_gate": [2], "device": ["ku060"]},
        }
    )
    with pytest.raises(ValueError, match="Phase I trial 0 lacks"):
        explore(cfg)


def test_csv_is_complete_and_atomic(tmp_path):
    result = explore(load_explore_config(_write(tmp_path, SMALL)))
    path = write_csv(result, tmp_path / "out" / "points.csv")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == result.n_points
    assert {"frames_per_s_per_w", "dsp", "fits", "pareto", "per"} <= set(rows[0])
    assert {r["device"] for r in rows} == {"ku060", "vx690t"}
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["points.csv"]


def test_cli_explore(tmp_path):
    cfg = _write(tmp_path, SMALL)
    out = tmp_path / "res"
    result = CliRunner().invoke(main, ["explore", "--config", str(cfg), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["points"] == 64 and summary["pareto"] >= 1
    assert (out / "points.csv").exists() and (out / "pareto.json").exists()
    assert "<svg" in (out / "pareto.svg").read_text()[:400]
    bad = CliRunner().invoke(main, ["explore", "--config", str(_write(tmp_path, "[x]\n", "bad.toml"))])
    assert bad.exit_code != 0 and "Extra inputs are not permitted" in bad.output


def test_default_config_parses():
    cfg = load_explore_config(Path(__file__).resolve().parents[2] / "configs" / "explore_default.toml")
    assert cfg.model.hidden_size == 1024 and set(cfg.sweep.device) == {"ku060", "vx690t"}
