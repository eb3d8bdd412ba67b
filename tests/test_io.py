"""rnnaccel.io: atomic writes (0644, unique temporary names, nothing left behind on failure), strict JSON."""

import json
import math
import os
import stat

import numpy as np
import pytest

from rnnaccel.io import (
    atomic_output,
    to_strict_json,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_0644_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        write_bytes_atomic(tmp_path / "sub" / "a.bin", b"\x00\x01")
        write_text_atomic(tmp_path / "b.txt", "hé")
    finally:
        os.umask(old)
    binary = tmp_path / "sub" / "a.bin"
    assert binary.read_bytes() == b"\x00\x01" and _mode(binary) == 0o644
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "hé" and _mode(tmp_path / "b.txt") == 0o644


def test_json_is_strict_nan_and_inf_become_null(tmp_path):
    payload = {"loss": math.nan, "per": [0.5, math.inf, -math.inf], "shape": (2, 3),
               "np": {"f": np.float64("nan"), "i": np.int64(7), "a": np.array([1.5, np.nan])}}
    path = write_json_atomic(tmp_path / "r.json", payload)
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {"loss": None, "per": [0.5, None, None], "shape": [2, 3],
                                "np": {"f": None, "i": 7, "a": [1.5, None]}}
    assert to_strict_json({"k": 1.0}) == {"k": 1.0}


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "r.json"
    write_json_atomic(path, {"v": 1})
    with pytest.raises(TypeError, match="not JSON serializable"):
        write_json_atomic(path, {"v": object()})
    with pytest.raises(RuntimeError, match="writer died"), atomic_output(path) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("writer died")
    assert json.loads(path.read_text()) == {"v": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_temporary_names_are_unique_per_writer(tmp_path):
    path = tmp_path / "x.bin"
    with atomic_output(path) as first, atomic_output(path) as second:
        assert first != second and first.parent == second.parent == tmp_path
        assert first.name.startswith(".x.bin.") and first.name.endswith(".tmp")
        first.write_bytes(b"1")
        second.write_bytes(b"2")
    assert path.read_bytes() == b"1"  # the outer writer finished last
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


def test_suffix_for_writers_that_pick_the_format_from_the_name(tmp_path):
    with atomic_output(tmp_path / "plot.svg", suffix=".svg") as tmp:
        assert tmp.suffix == ".svg" and tmp.name.startswith(".plot.svg.")
        tmp.write_text("<svg/>")
    assert (tmp_path / "plot.svg").read_text() == "<svg/>" and _mode(tmp_path / "plot.svg") == 0o644
