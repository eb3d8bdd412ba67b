"""Phase I feeds Phase II: the typed Phase1Result that compress writes and explore reads."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnaccel.compress.config import CompressConfig, GridConfig
from rnnaccel.compress.result import Phase1Result, load_phase1_result, trial_from_row

sys.path.insert(0, str(Path(__file__).parent))
from study_fakes import FakeRunner  # noqa: E402


def test_tiny_compress_feeds_explore(tmp_path):
    from rnnaccel.compress.sweep import Sweep
    from rnnaccel.explore.config import ExploreConfig
    from rnnaccel.explore.run import explore

    grid = GridConfig(cells=["lstm"], hidden_sizes=[64], block_sizes=[4, 8], quant=["float", "16bit"])
    config = CompressConfig(results=str(tmp_path / "p1.json"), out_dir=str(tmp_path / "runs"), grid=grid,
                            max_per_degradation=3.0, strategy="full")
    Sweep(config, runner=FakeRunner()).run()
    result = load_phase1_result(tmp_path / "p1.json")
    by_id = {t.trial: t for t in result.trials}
    k8 = by_id["lstm-h64-admm-k8-16bit"]
    assert (k8.cell, k8.hidden, k8.bits, k8.block_sizes.gates, k8.method) == ("lstm", 64, 16, 8, "admm")
    assert by_id["lstm-h64-dense"].block_sizes.gates == 1 and by_id["lstm-h64-dense"].bits == 32
    explore_cfg = ExploreConfig.model_validate({
        "model": {"input_size": 39, "hidden_size": 64, "proj_size": 0},
        "sweep": {"cell": ["lstm"], "device": ["ku060"], "block_gate": [4, 8], "pe_gate": [2],
                  "weight_bits": [16]},
        "output": {"phase1_results": str(tmp_path / "p1.json")}})
    cols = explore(explore_cfg).columns
    for k in (4, 8):
        at = cols["block_gate"] == k
        assert at.any() and np.all(cols["per"][at] == by_id[f"lstm-h64-admm-k{k}-16bit"].per)


def test_schema_round_trips(tmp_path):
    row = {"trial": "gru-h96-direct-ki4.r8", "per": 0.25, "storage_bytes": 123, "stages": {"direct": []},
           "spec": {"cell": "gru", "hidden": 96, "method": "direct", "quant": "12bit", "sparsity": 0.0,
                    "block_size": {"input": 4, "recurrent": 8}}}
    pruned = {"trial": "lstm-h64-prune-s90", "per": 0.3, "spec": {"cell": "lstm", "hidden": 64,
              "method": "prune", "block_size": None, "quant": "float", "sparsity": 0.9}}
    result = Phase1Result(config={"a": 1}, summary={"selected": None},
                          trials=[trial_from_row(row), trial_from_row(pruned)])
    path = result.write(tmp_path / "r.json")
    again = load_phase1_result(path)
    assert again == result and json.loads(path.read_text())["schema"] == 1
    assert again.trials[0].storage_bytes == 123 and again.trials[0].bits == 12
    assert again.trials[0].block_sizes.gates is None  # different input/recurrent sizes: not one design
    assert again.explore_trials() == []  # neither trial has one gate block size


@pytest.mark.parametrize(("payload", "match"), [
    ({"trials": {}}, "must be an object with a 'trials' list"),
    ({"trials": [{"cell": "lstm"}]}, "Phase I trial 0 lacks"),
    ({"trials": [{"cell": "rnn", "hidden": 4, "block_sizes": {"gates": 2}, "bits": 8, "per": 0.1}]}, "cell"),
    ({"trials": [], "schema": 2}, "schema"),
])
def test_bad_phase1_files(tmp_path, payload, match):
    (tmp_path / "p.json").write_text(json.dumps(payload))
    with pytest.raises(ValueError, match=match):
        load_phase1_result(tmp_path / "p.json")
