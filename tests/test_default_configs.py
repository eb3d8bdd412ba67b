"""Default configs ship in the package (``rnnaccel flow`` works outside the repository); paths written in a
config file are relative to that file's folder (``rnnaccel.configfile``), whatever the working directory;
a config that names another config file is resolved relative to its own folder first."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rnnaccel.compress.config import load_compress_config
from rnnaccel.configfile import PACKAGED_CONFIGS, relative_to_config, resolve_config_path
from rnnaccel.explore.config import load_explore_config
from rnnaccel.flow import FlowConfig, load_flow_config
from rnnaccel.hw.epur.config import load_config as load_epur_config
from rnnaccel.train import load_config as load_train_config

ROOT = Path(__file__).resolve().parents[1]
LOADERS = {"compress_default.toml": load_compress_config, "epur_default.toml": load_epur_config,
           "explore_default.toml": load_explore_config, "train_bilstm.toml": load_train_config}


def _dump(cfg):
    return cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else repr(cfg)


def test_packaged_defaults_are_the_repository_configs(monkeypatch):
    """From the repository root, each repository config (paths relative to configs/) loads to exactly
    the packaged default (paths relative to the working directory)."""
    assert PACKAGED_CONFIGS == ROOT / "src" / "rnnaccel" / "configs"
    names = sorted(p.name for p in PACKAGED_CONFIGS.glob("*.toml"))
    assert names == sorted([*LOADERS, "flow_default.toml"])
    assert not [p for p in PACKAGED_CONFIGS.iterdir() if p.is_symlink()]  # a wheel copies files, not links
    monkeypatch.chdir(ROOT)
    for name, load in LOADERS.items():
        assert _dump(load(PACKAGED_CONFIGS / name)) == _dump(load(ROOT / "configs" / name)), name
    packaged, repo = load_flow_config(PACKAGED_CONFIGS / "flow_default.toml"), load_flow_config(
        ROOT / "configs" / "flow_default.toml")
    assert packaged.model_copy(update={"train_config": ""}) == repo.model_copy(update={"train_config": ""})
    assert _dump(packaged.load_train_config()) == _dump(repo.load_train_config())
    assert repo.out_dir == "runs/flow" and repo.load_train_config().data.corpus == "data/synth-timit"


def test_flow_without_config_runs_the_packaged_defaults():
    """`rnnaccel flow` without --config builds FlowConfig(); the packaged file must say the same values."""
    packaged = load_flow_config(PACKAGED_CONFIGS / "flow_default.toml")
    same = {"train_config": "", "out_dir": "", "report": ""}
    assert FlowConfig().model_copy(update=same) == packaged.model_copy(update=same)


def test_flow_defaults_load_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    train = FlowConfig().load_train_config()
    assert train.model.cell == "lstm" and train.data.corpus == "data/synth-timit"  # relative to the cwd
    cfg = load_flow_config(PACKAGED_CONFIGS / "flow_default.toml")
    assert Path(cfg.train_config) == PACKAGED_CONFIGS / "train_bilstm.toml" and cfg.out_dir == "runs/flow"
    # the repository's copy from elsewhere: its paths still name the repository's folders
    repo = load_flow_config(ROOT / "configs" / "flow_default.toml")
    assert repo.out_dir == str(ROOT / "runs" / "flow") and repo.report == str(ROOT / "results" / "flow.json")
    assert repo.load_train_config().data.corpus == str(ROOT / "data" / "synth-timit")


def test_train_config_is_resolved_relative_to_the_flow_config(tmp_path, monkeypatch):
    sub = tmp_path / "exp"
    sub.mkdir()
    (sub / "train.toml").write_text((ROOT / "configs" / "train_bilstm.toml").read_text())
    (sub / "flow.toml").write_text('train_config = "train.toml"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_flow_config(sub / "flow.toml")
    assert Path(cfg.train_config) == sub / "train.toml"
    (sub / "bad.toml").write_text('train_config = "nope.toml"\n')
    with pytest.raises(ValueError, match=r"nope.toml: cannot read config \(tried .*exp/nope.toml"):
        load_flow_config(sub / "bad.toml")
    assert resolve_config_path(sub / "train.toml") == sub / "train.toml"


def _write_configs(folder: Path) -> None:
    folder.mkdir()
    (folder / "train.toml").write_text('out_dir = "runs/t"\n[data]\ncorpus = "corpus"\n'
                                       'cache_dir = "../cache"\n')
    (folder / "flow.toml").write_text('train_config = "train.toml"\nout_dir = "runs/f"\nreport = "f.json"\n')
    (folder / "compress.toml").write_text('out_dir = "runs/c"\nresults = "/abs/c.json"\n'
                                          '[train]\ncorpus = "./corpus"\n')
    (folder / "explore.toml").write_text('[output]\ndir = "out"\nphase1_results = "p1.json"\n')


@pytest.mark.parametrize("cwd", ["below", "elsewhere"])
def test_paths_are_relative_to_the_config_file_from_any_working_directory(tmp_path, monkeypatch, cwd):
    exp = tmp_path / "exp"
    _write_configs(exp)
    here = tmp_path if cwd == "below" else tmp_path / "elsewhere"
    here.mkdir(exist_ok=True)
    monkeypatch.chdir(here)
    base = "exp" if cwd == "below" else str(exp)  # relative to the cwd when below it, else absolute

    def at(p):
        return str(Path(base) / p)

    train = load_train_config(exp / "train.toml")
    assert (train.out_dir, train.data.corpus) == (at("runs/t"), at("corpus"))
    assert train.data.cache_dir == ("cache" if cwd == "below" else str(tmp_path / "cache"))
    flow = load_flow_config(exp / "flow.toml")
    assert (flow.out_dir, flow.report) == (at("runs/f"), at("f.json"))
    assert flow.load_train_config().data.corpus == at("corpus")
    comp = load_compress_config(exp / "compress.toml")
    assert (comp.out_dir, comp.results, comp.train.corpus) == (at("runs/c"), "/abs/c.json", at("corpus"))
    assert comp.train.cache_dir == "cache/features"  # not written in the file: the cwd-relative default
    exp_cfg = load_explore_config(exp / "explore.toml")
    assert (exp_cfg.output.dir, exp_cfg.output.phase1_results) == (at("out"), at("p1.json"))


def test_relative_to_config_rules(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert relative_to_config("a/b", tmp_path / "x") == "x/a/b"
    assert relative_to_config("../../y", tmp_path / "x") == str(tmp_path.parent / "y")
    assert relative_to_config("/abs", tmp_path) == "/abs" and relative_to_config("a", None) == "a"


def test_rnnaccel_explore_run_from_another_directory_writes_beside_its_config(tmp_path):
    exp = tmp_path / "exp"
    exp.mkdir()
    text = (ROOT / "configs" / "explore_default.toml").read_text()
    text = text.replace('dir = "../results/explore"', 'dir = "out"').replace("plot = true", "plot = false")
    for key, value in {"cell": '["gru"]', "device": '["ku060"]', "block_gate": "[8]", "block_proj": "[8]",
                       "pe_gate": "[4]", "weight_bits": "[16]", "data_bits": "[16]"}.items():
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} =") else line
                         for line in text.splitlines()) + "\n"
    (exp / "explore.toml").write_text(text)
    other = tmp_path / "other"
    other.mkdir()
    done = subprocess.run([sys.executable, "-m", "rnnaccel", "explore", "--config", "../exp/explore.toml",
                           "--json"], cwd=other, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (exp / "out" / "points.csv").is_file() and not list(other.iterdir())
    assert json.loads(done.stdout)
