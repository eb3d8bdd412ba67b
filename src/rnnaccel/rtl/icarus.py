"""Emitted Verilog in Icarus Verilog through cocotb 2.x (``cocotb_tools.runner``).

The testbench module (``tests/rtl/cocotb_stream.py`` in this repository) drives any stream
component from a JSON vectors file; this module writes that file, builds and runs the simulation
and returns the outcome. Build and run directories are the caller's (tests use ``tmp_path``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rnnaccel.rtl.synth import require_tool, write_atomic

__all__ = ["IcarusRun", "build_icarus", "run_cocotb", "write_vectors"]

TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class IcarusRun:
    """Outcome of one cocotb run: tests and failures from its results file, wall-clock seconds."""

    tests: int
    failed: int
    seconds: float
    results_xml: Path


def write_vectors(path: Path, inputs: Sequence[int], expected: Sequence[int], *, latency: int,
                  inputs_per_output: int, code_bits: int, codes_per_output: int) -> Path:
    """The testbench's vectors file: raw payloads as decimal strings (they exceed 64 bits)."""
    doc = {"inputs": [str(int(v)) for v in inputs], "expected": [str(int(v)) for v in expected],
           "latency": latency, "inputs_per_output": inputs_per_output, "code_bits": code_bits,
           "codes_per_output": codes_per_output}
    write_atomic(Path(path), json.dumps(doc))
    return Path(path)


def build_icarus(verilog_path: Path, top: str, build_dir: Path):
    """Compile ``verilog_path`` with Icarus (cocotb runner); returns the runner for :func:`run_cocotb`."""
    require_tool("iverilog")
    from cocotb_tools.runner import get_runner

    runner = get_runner("icarus")
    runner.build(sources=[Path(verilog_path)], hdl_toplevel=top, build_dir=Path(build_dir),
                 timescale=TIMESCALE, always=True)
    return runner


def run_cocotb(runner, top: str, vectors: Path, testbench_dir: Path, build_dir: Path,
               module: str = "cocotb_stream") -> IcarusRun:
    """Run the testbench ``module`` (importable from ``testbench_dir``) on a built ``top``."""
    from cocotb_tools.runner import get_results

    env = {"RNNACCEL_VECTORS": str(Path(vectors).resolve())}
    start = time.perf_counter()
    build, tb_dir = Path(build_dir), str(Path(testbench_dir).resolve())
    # The runner passes its own sys.path to the simulator's Python as PYTHONPATH.
    sys.path.insert(0, tb_dir)
    try:
        xml = runner.test(test_module=module, hdl_toplevel=top, build_dir=build, test_dir=build,
                          extra_env=env, timescale=TIMESCALE,
                          results_xml=str((build / f"{top}.results.xml").resolve()))
    finally:
        sys.path.remove(tb_dir)
    seconds = time.perf_counter() - start
    tests, failed = get_results(Path(xml))
    return IcarusRun(tests, failed, round(seconds, 3), Path(xml))
