"""`rnnaccel report`: one self-contained HTML page per run, rendered in headless Chromium (screenshot,
no console error, every section present)."""

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.report.html import COMPRESS_SECTIONS, EXPLORE_SECTIONS, FLOW_SECTIONS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)"
)


class _Page(HTMLParser):
    """Section ids, and every attribute that could load something (src, href, url())."""

    def __init__(self):
        super().__init__()
        self.sections, self.loads, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        self.scripts += tag == "script"
        self.loads += [
            v
            for k, v in attrs.items()
            if k in ("src", "href", "xlink:href") and v and not v.startswith(("#", "data:"))
        ]


def _parse(text):
    page = _Page()
    page.feed(text)
    return page


def chromium_render(html_path: Path, png: Path) -> list[str]:
    """Screenshot ``html_path`` with headless Chromium; returns the page's console messages."""
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,2400",
        f"--screenshot={png}",
        html_path.resolve().as_uri(),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if re.search(r":CONSOLE[:(]\d+", line)]


def _not_blank(png: Path) -> bool:
    from matplotlib.image import imread

    pixels = imread(png)
    return png.stat().st_size > 20_000 and float(pixels[..., :3].std()) > 0.05


@needs_chromium
def test_console_detector_catches_errors(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><p>x</p><script>console.error("boom"); missing();</script></body></html>')
    messages = chromium_render(bad, tmp_path / "bad.png")
    assert any('"boom"' in m for m in messages) and any("ReferenceError" in m for m in messages)


_NEEDLES = {
    "flow_run": (
        "Overflow counts per quantization point",
        "gates",
        "weight_buffer",
        "ku060",
        "admm finetune",
        "relative residual",
    ),
    "compress_run": ("lstm-h64-admm-k8-16bit", "lstm-h64-admm-k4", "non-dominated trial"),
    "explore_run": ("ku060", "vx690t", "Pareto fronts (one per device)"),
}
_SECTIONS = {"flow_run": FLOW_SECTIONS, "compress_run": COMPRESS_SECTIONS, "explore_run": EXPLORE_SECTIONS}


@needs_chromium
@pytest.mark.parametrize("run", list(_SECTIONS))
def test_report_renders_in_chromium(request, tmp_path, run):
    path = request.getfixturevalue(run)
    args = (
        ["report", str(path)]
        if run == "flow_run"
        else ["report", str(path), "--out", str(tmp_path / "r.html")]
    )
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    out = path.with_suffix(".html") if run == "flow_run" else tmp_path / "r.html"  # default: beside the run
    text = out.read_text()
    page = _parse(text)
    assert page.sections == list(_SECTIONS[run])
    assert page.loads == [] and page.scripts == 0  # self-contained: nothing to fetch, nothing to run
    assert text.count("<svg") >= 2  # the plots are inline SVG
    for needle in _NEEDLES[run]:
        assert needle in text, needle
    png = tmp_path / f"{run}.png"
    assert chromium_render(out, png) == []
    assert _not_blank(png)


def test_errors(tmp_path):
    other = tmp_path / "other.json"
    other.write_text('{"a": 1}')
    bad = CliRunner().invoke(main, ["report", str(other)])
    assert bad.exit_code != 0 and "neither a flow report" in bad.output
    (tmp_path / "empty").mkdir()
    bad = CliRunner().invoke(main, ["report", str(tmp_path / "empty")])
    assert bad.exit_code != 0 and "expected a flow report" in bad.output
