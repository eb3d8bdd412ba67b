import json

from click.testing import CliRunner

from rnnaccel.cli import main


def test_info_json_reports_versions() -> None:
    result = CliRunner().invoke(main, ["info", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["torch"].startswith("2.13.0")
    assert data["torch_threads"] >= 1
    assert isinstance(data["targets"], dict)
    assert data["nn_inference"]["circulant_lstm_batch1_float32"].startswith(("compiled (", "torch ("))


def test_unknown_verb_is_an_error() -> None:
    result = CliRunner().invoke(main, ["no-such-verb"])
    assert result.exit_code != 0
    assert "no-such-verb" in result.output
