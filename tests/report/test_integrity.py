"""Issue 16 item 3: the JSON artifacts rnnaccel writes carry a content hash and their readers check it
(an edited or damaged file is an error naming it, never data used silently)."""

import json
import math

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.cli import main
from rnnaccel.io import CONTENT_KEY, content_digest, read_json, write_json_atomic

_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=4), max_leaves=20)


@given(st.dictionaries(st.text(max_size=6) | st.integers(), _json, max_size=6))
def test_stamped_json_reads_back_with_a_matching_digest(tmp_path_factory, payload):
    path = tmp_path_factory.mktemp("j") / "a.json"
    write_json_atomic(path, payload, stamp=True)
    data = read_json(path)
    assert data[CONTENT_KEY] == content_digest(data)
    json.loads(path.read_text(), parse_constant=lambda token: pytest.fail(f"non-strict JSON: {token}"))


def test_an_edited_or_truncated_stamped_file_is_an_error_naming_it(tmp_path):
    path = write_json_atomic(tmp_path / "r.json", {"per": 0.25, "rows": [1, 2, math.nan]}, stamp=True)
    assert read_json(path)["rows"] == [1, 2, None]
    data = json.loads(path.read_text())
    data["per"] = 0.2
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"{path}: content_sha256 does not match the content"):
        read_json(path, "results")
    path.write_text('{"per": 0.2')
    with pytest.raises(ValueError, match=rf"{path}: cannot read results"):
        read_json(path, "results")
    assert read_json(write_json_atomic(tmp_path / "plain.json", {"a": 1})) == {"a": 1}  # unstamped: as is


def _edit(path, key, value):
    data = json.loads(path.read_text())
    data[key] = value
    path.write_text(json.dumps(data))


def test_report_refuses_an_edited_compress_result_and_explore_refuses_it_too(compress_run, tmp_path):
    assert CONTENT_KEY in json.loads(compress_run.read_text())
    ok = CliRunner().invoke(main, ["report", str(compress_run), "--out", str(tmp_path / "ok.html")])
    assert ok.exit_code == 0, ok.output
    _edit(compress_run, "summary", {"selected": "lstm-h64-dense"})
    bad = CliRunner().invoke(main, ["report", str(compress_run), "--out", str(tmp_path / "bad.html")])
    assert bad.exit_code == 1 and "content_sha256 does not match" in bad.output
    assert "Traceback" not in bad.output
    from rnnaccel.compress.result import load_phase1_result

    with pytest.raises(ValueError, match="Phase I results was edited or damaged"):
        load_phase1_result(compress_run)


def test_report_refuses_an_explore_folder_whose_front_changed(explore_run, tmp_path):
    summary = json.loads((explore_run / "summary.json").read_text())
    assert CONTENT_KEY in summary and {"pareto.json", "points.csv"} <= set(summary["files_sha256"])
    ok = CliRunner().invoke(main, ["report", str(explore_run), "--out", str(tmp_path / "ok.html")])
    assert ok.exit_code == 0, ok.output
    front = explore_run / "pareto.json"
    front.write_text(front.read_text().replace('"ku060"', '"vx690t"', 1))
    bad = CliRunner().invoke(main, ["report", str(explore_run), "--out", str(tmp_path / "bad.html")])
    assert bad.exit_code == 1 and f"{front}: missing, edited or damaged" in bad.output


def test_report_refuses_an_edited_flow_report(flow_run, tmp_path):
    stamped = write_json_atomic(tmp_path / "flow.json", json.loads(flow_run.read_text()), stamp=True)
    assert CliRunner().invoke(main, ["report", str(stamped)]).exit_code == 0
    _edit(stamped, "ref_check", {**json.loads(stamped.read_text())["ref_check"], "per_integer_engine": 0.1})
    bad = CliRunner().invoke(main, ["report", str(stamped)])
    assert bad.exit_code == 1 and "content_sha256 does not match" in bad.output
