"""Long fuzz run of the SPHERE/RIFF, PHN and config parsers (the suite runs a few hundred examples each).

Runs the strategies and contract checks of ``tests/test_fuzz_parsers.py`` with many examples and a
random (printed) seed, and writes ``benchmarks/results/fuzz_parsers.json``: per parser the number of
inputs, how many were read and how many were refused with the reader's ValueError, and the first
contract violation (any other exception, or a message not naming the file) with its shrunk input.

    python benchmarks/fuzz_parsers.py --examples 20000 [--seed 1] [--only audio phn config]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

ROOT = Path(__file__).resolve().parents[1]


def _fuzz_module():
    path = ROOT / "tests" / "test_fuzz_parsers.py"
    spec = importlib.util.spec_from_file_location("fuzz_parsers_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(name: str, strategy, check, examples: int, run_seed: int) -> dict:
    outcomes: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as scratch:
        @seed(run_seed)
        @settings(max_examples=examples, derandomize=False, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(example):
            outcomes[check(Path(scratch), example)] += 1

        start = time.perf_counter()
        failure = None
        try:
            run()
        except Exception:  # a contract violation: record it (hypothesis has shrunk the input)
            failure = traceback.format_exc(limit=-3)
    return {"parser": name, "inputs": sum(outcomes.values()), "read": outcomes["ok"],
            "refused_with_value_error": outcomes["error"], "seconds": round(time.perf_counter() - start, 1),
            "violation": failure}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=int, default=20000, help="inputs per parser (default 20000)")
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed)")
    ap.add_argument("--only", nargs="*", default=None, help="parsers to run (audio, phn, config)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "fuzz_parsers.json")
    args = ap.parse_args(argv)
    if args.examples < 1:
        ap.error(f"--examples must be >= 1, got {args.examples}")
    run_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    module = _fuzz_module()
    names = args.only or sorted(module.FUZZ)
    rows = []
    for name in names:
        strategy, check = module.FUZZ[name]
        rows.append(_run(name, strategy, check, args.examples, run_seed))
        print(json.dumps({k: v for k, v in rows[-1].items() if k != "violation"}), flush=True)
        if rows[-1]["violation"]:
            print(rows[-1]["violation"], file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(f".{args.out.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"seed": run_seed, "examples": args.examples, "results": rows}, indent=1))
    os.replace(tmp, args.out)
    return 1 if any(r["violation"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
