"""The CLI never shows a traceback for a user error: every verb that reads a config is run on malformed
variants generated from its shipped config (an unknown key in every table, every number set to inf /
nan / a string, a syntax error, YAML hazards), and bad numeric options are usage errors.
``--debug`` shows the traceback."""

import math
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.epur.networks import NETWORK_NAMES

ROOT = Path(__file__).resolve().parents[1]
VERBS = {  # verb argv (before --config) -> shipped config it reads
    ("train",): "configs/train_bilstm.toml",
    ("compress",): "configs/compress_quick.toml",
    ("explore",): "configs/explore_default.toml",
    ("flow",): "configs/flow_default.toml",
    ("simulate", "--network", NETWORK_NAMES[0]): "configs/epur_default.toml",
}


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def dump_toml(doc: dict, prefix: str = "") -> str:
    """A minimal TOML writer (scalars and arrays first, then sub-tables)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += ["", f"[{prefix}{k}]", dump_toml(v, f"{prefix}{k}.")]
    return "\n".join(lines)


def _tables(doc: dict, path: tuple = ()):
    yield path, doc
    for k, v in doc.items():
        if isinstance(v, dict):
            yield from _tables(v, (*path, k))


def malformed_variants(doc: dict):
    """(label, document or raw text, the word the error must name)."""
    for path, table in list(_tables(doc)):
        bad = _copy(doc)
        _at(bad, path)["zz_bogus_key"] = 1
        yield f"unknown key in [{'.'.join(path)}]", bad, "zz_bogus_key"
        for key, value in table.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                for replacement in (math.inf, math.nan, "not-a-number"):
                    bad = _copy(doc)
                    _at(bad, path)[key] = replacement
                    yield f"{'.'.join((*path, key))} = {replacement!r}", bad, key


def _copy(doc: dict) -> dict:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in doc.items()}


def _at(doc: dict, path: tuple) -> dict:
    for k in path:
        doc = doc[k]
    return doc


def _cases():
    for argv, config in VERBS.items():
        doc = tomllib.loads((ROOT / config).read_text())
        for label, bad, word in malformed_variants(doc):
            yield pytest.param(argv, dump_toml(bad), ".toml", word, id=f"{argv[0]}: {label}")
        yield pytest.param(argv, dump_toml(doc) + "\n[[[", ".toml", "bad.toml", id=f"{argv[0]}: syntax")
    for label, text in [("deep", "a: " + "[" * 3000 + "]" * 3000), ("alias", "a: &x 1\nb: *x"),
                        ("control", "optim:\n  lr: \x01"), ("tab", "optim:\n\tlr: 1"), ("list", "- 1")]:
        yield pytest.param(("train",), text, ".yaml", "bad.yaml", id=f"train: yaml {label}")


def _invoke(args: list[str]):
    result = CliRunner().invoke(main, args, catch_exceptions=True)
    return result, result.output + (result.stderr if result.stderr_bytes is not None else "")


def _assert_clean_error(result, output: str) -> None:
    assert result.exit_code not in (0, None), output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback (most recent call last)" not in output and "internal error" not in output, output


@pytest.mark.parametrize(("argv", "text", "suffix", "word"), list(_cases()))
def test_malformed_configs_name_the_bad_key(tmp_path, monkeypatch, argv, text, suffix, word):
    monkeypatch.chdir(ROOT)  # flow's train_config is relative to the repository
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    result, output = _invoke([*argv, "--config", str(path)])
    _assert_clean_error(result, output)
    assert word in output, output


@pytest.mark.parametrize("args", [
    ["train", "--config", "configs/train_bilstm.toml", "--threads", "0"],
    ["flow", "--threads", "-2"],
    ["compress", "--config", "configs/compress_quick.toml", "--jobs", "-3"],
    ["data", "synth", "OUT", "--jobs", "-3"],
    ["data", "synth", "OUT", "--utterances", "0"],
    ["data", "synth", "OUT", "--snr-db", "nan"],
    ["data", "synth", "OUT", "--snr-db", "inf"],
    ["data", "synth", "OUT", "--test-fraction", "1.5"],
    ["simulate", "--network", NETWORK_NAMES[0], "--block-size", "0"],
    ["simulate", "--network", NETWORK_NAMES[0], "--block-size", "-8"],
    ["simulate", "--network", NETWORK_NAMES[0], "--seq-len", "0"],
    ["fpga", "design", "--hidden", "0"],
    ["fpga", "design", "--proj", "-1"],
])  # fmt: skip
def test_bad_numeric_options_are_usage_errors(tmp_path, monkeypatch, args):
    monkeypatch.chdir(ROOT)
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result, output = _invoke(args)
    _assert_clean_error(result, output)
    assert result.exit_code == 2 and "Invalid value" in output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("value", "message"), [
    ("freq_mhz=inf", "--set freq_mhz: expected a positive finite clock"),
    ("freq_mhz=nan", "--set freq_mhz: expected a positive finite clock"),
    ("freq_mhz=-5", "--set freq_mhz: expected a positive finite clock"),
    ("block_gate=abc", "--set block_gate: expected an integer, got 'abc'"),
    ("nope=1", "unknown design field 'nope'"),
])  # fmt: skip
def test_fpga_design_set_values(value, message):
    result, output = _invoke(["fpga", "design", "--set", value])
    _assert_clean_error(result, output)
    assert message in output


def test_os_errors_and_missing_files_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    result, output = _invoke(["train", "--config", str(tmp_path / "missing.toml")])
    _assert_clean_error(result, output)
    assert "missing.toml" in output
    result, output = _invoke(["data", "check", str(tmp_path / "nocorpus")])
    _assert_clean_error(result, output)
    assert "nocorpus" in output


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlr = inf\n")
    result, _ = _invoke(["train", "--config", str(bad)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    result, _ = _invoke(["--debug", "train", "--config", str(bad)])
    assert isinstance(result.exception, ValueError) and "optim.lr" in str(result.exception)


def test_unexpected_exceptions_are_one_line_internal_errors(monkeypatch):
    import rnnaccel.cli.info as cli_info

    def boom(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(cli_info, "collect_info", boom, raising=False)
    monkeypatch.setattr(cli_info.info, "callback", boom)
    result, output = _invoke(["info"])
    assert result.exit_code == 1 and "Traceback" not in output
    assert "internal error: ZeroDivisionError: float division by zero" in output and "--debug" in output
