"""benchmarks/readme_tables.py: the README speed table is rendered from the benchmark JSON."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "readme_tables.py"
_spec = importlib.util.spec_from_file_location("readme_tables", _PATH)
tables = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tables)


def _row(**kw: object) -> dict:
    base = {"threads": 1, "cell": "lstm", "case": "stream_b1", "impl": "forward", "block_size": 8,
            "mult_ratio": 3.17, "us_per_frame": 40.0, "dense_us_per_frame": 400.0, "speedup": 10.0,
            "target": 8.0, "target_met": True}
    return base | kw


PAYLOAD = {"command": "python benchmarks/bench_layers.py --threads 1", "reps": 7,
           "machine": {"cpu": "Test CPU", "cpus": 2, "loadavg_before": [1.5, 3, 3],
                       "loadavg_after": [2.0, 3, 3]},
           "rows": [_row(), _row(impl="streamer", us_per_frame=20.0, speedup=20.0),
                    _row(cell="gru", impl="streamer", speedup=4.0, target_met=False),
                    _row(case="whole_b32", target=3.0, us_per_frame=12.5, dense_us_per_frame=50.0,
                         speedup=4.0)]}


def test_render_quotes_every_measurement_and_the_load() -> None:
    block = tables.render(PAYLOAD)
    assert "load average 1.5 before / 2.0 after" in block and "Test CPU, 2 CPUs" in block
    assert "| 1 | 8 | 3.17× | 40 (400) 10.00× ✓ | 20 (400) 20.00× ✓ | 40 (400) 4.00× (target 8×) | " \
           "12.5 (50.0) 4.00× ✓ |" in block


def test_targets_not_judged_on_an_overloaded_machine() -> None:
    loaded = PAYLOAD | {"machine": PAYLOAD["machine"] | {"loadavg_after": [2.5, 3, 3]}}
    block = tables.render(loaded)
    assert "targets not judged" in block and "✓" not in block and "(target" not in block


def test_replace_block_touches_only_the_marked_section() -> None:
    text = f"# t\nbefore\n{tables.BEGIN}\nold table\n{tables.END}\nafter\n"
    assert tables.replace_block(text, "NEW") == f"# t\nbefore\n{tables.BEGIN}\nNEW\n{tables.END}\nafter\n"
    with pytest.raises(ValueError, match="must contain <!-- bench_layers:begin --> once"):
        tables.replace_block("no markers", "NEW")
