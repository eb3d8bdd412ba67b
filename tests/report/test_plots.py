"""Issue 14 item 6: the plots the commands write beside their data (and the report embeds): PER vs
storage and PER vs frames/s/W of Phase I trials with the selected trial marked, training curves, ADMM
residuals, FPGA resource use per design point; each a parseable SVG with its points labelled."""

import re
from xml.etree import ElementTree

import pytest

from rnnaccel.report.plots import write_compress_plots

pytest.importorskip("matplotlib")


def _svg_text(path):
    root = ElementTree.fromstring(path.read_text())  # well-formed XML
    return " ".join(t for t in root.itertext() if t.strip())


def test_compress_writes_per_vs_storage_and_frames_per_s_per_w(compress_run):
    import json

    paths = write_compress_plots(compress_run)
    names = sorted(p.stem for p in paths)
    assert names == ["admm_residuals", "per_vs_frames_per_s_per_w", "per_vs_storage", "training_curves"]
    folder = compress_run.with_name("compress_plots")
    assert all(p.parent == folder and oct(p.stat().st_mode & 0o777) == "0o644" for p in paths)
    selected = json.loads(compress_run.read_text())["summary"]["selected"]
    storage = _svg_text(folder / "per_vs_storage.svg")
    assert "storage (bytes)" in storage and selected in storage  # the chosen trial is labelled
    assert "frames/s/W" in _svg_text(folder / "per_vs_frames_per_s_per_w.svg")
    curves = _svg_text(folder / "training_curves.svg")
    assert "epoch" in curves and "loss" in curves.lower()
    assert "ADMM residuals" in _svg_text(folder / "admm_residuals.svg")


def test_explore_writes_the_front_and_resource_use_per_design_point(explore_run):
    assert {"pareto.svg", "resources.svg"} <= {p.name for p in explore_run.iterdir()}
    resources = _svg_text(explore_run / "resources.svg")
    assert "FPGA resource use per design point" in resources and {"DSP", "BRAM", "LUT", "FF"} <= set(
        resources.split())
    front = _svg_text(explore_run / "pareto.svg")
    assert re.search(r"k[48]/4 w(8|16)", front) and "ku060" in front and "vx690t" in front  # labelled points
