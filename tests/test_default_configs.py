"""Default configs ship in the package (``rnnaccel flow`` works outside the repository), and a config
that names another config file is resolved relative to its own folder first."""

from pathlib import Path

import pytest

from rnnaccel.configfile import resolve_config_path
from rnnaccel.flow import FlowConfig, load_flow_config

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = ROOT / "src" / "rnnaccel" / "configs"


def test_packaged_defaults_are_the_repository_configs():
    names = sorted(p.name for p in PACKAGED.glob("*.toml"))
    assert {"flow_default.toml", "train_bilstm.toml"} <= set(names)
    for name in names:
        assert (PACKAGED / name).read_bytes() == (ROOT / "configs" / name).read_bytes(), name


def test_flow_defaults_load_outside_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no configs/ here
    train = FlowConfig().load_train_config()
    assert train.model.cell == "lstm" and train.data.corpus == "data/synth-timit"  # relative to the cwd
    cfg = load_flow_config(PACKAGED / "flow_default.toml")
    assert Path(cfg.train_config).is_file()


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
