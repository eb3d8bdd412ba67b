"""Regenerate the README's layer speed table from benchmarks/results/bench_layers.json.

The table lives between ``<!-- bench_layers:begin -->`` and ``<!-- bench_layers:end -->`` in README.md
and is only ever written by this script, so it cannot drift from the measurement it quotes (which says
its command, machine and load average). ``--check`` exits 1 when the README differs from the JSON.

    python benchmarks/bench_layers.py && python benchmarks/readme_tables.py [--check]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench_layers:begin -->", "<!-- bench_layers:end -->"


def _cell(row: dict | None, digits: int = 0, judge: bool = True) -> str:
    if row is None:
        return "–"
    mark = ""
    if row["target"] is not None and judge:
        mark = " ✓" if row["target_met"] else f" (target {row['target']:g}×)"
    ours, dense = f"{row['us_per_frame']:.{digits}f}", f"{row['dense_us_per_frame']:.{digits}f}"
    return f"{ours} ({dense}) {row['speedup']:.2f}×{mark}"


def _find(rows: list[dict], **match: object) -> dict | None:
    hits = [r for r in rows if all(r.get(key) == value for key, value in match.items())]
    return hits[0] if hits else None


def render(data: dict) -> str:
    """The markdown block (table and provenance) for one bench_layers.json payload."""
    rows, m = data["rows"], data["machine"]
    judge = max(m["loadavg_before"][0], m["loadavg_after"][0]) <= m["cpus"]
    verdict = ("✓ = issue-15 target met" if judge else "issue-15 targets not judged: the load average "
               "exceeded the core count, so other jobs' cache and core use distort the ratios")
    lines = [f"`{data['command']}` — µs per frame (dense peer in brackets, same run) and speedup, wall-clock "
             f"medians of {data['reps']} interleaved repetitions; {m['cpu']}, {m['cpus']} CPUs, load average "
             f"{m['loadavg_before'][0]:.1f} before / {m['loadavg_after'][0]:.1f} after (1 min); {verdict}. "
             f"LSTM peer `torch.nn.LSTM(153, 1024, proj_size=512)`, GRU peer `torch.nn.GRU(153, "
             f"1024)`; ours with peepholes, every role block-circulant.", "",
             "| threads | k | mults ratio | LSTM b1 `forward` | LSTM b1 streamer | GRU b1 streamer | "
             "LSTM b32 whole sequence |", "|---|---|---|---|---|---|---|"]
    for threads in sorted({r["threads"] for r in rows}):
        for k in sorted({r["block_size"] for r in rows}):
            fwd = _find(rows, threads=threads, block_size=k, cell="lstm", case="stream_b1", impl="forward")
            if fwd is None:
                continue
            same = {"threads": threads, "block_size": k}
            cells = [_cell(fwd, 0, judge), _cell(_find(rows, **same, cell="lstm", impl="streamer"), 0, judge),
                     _cell(_find(rows, **same, cell="gru", impl="streamer"), 0, judge),
                     _cell(_find(rows, **same, case="whole_b32"), 1, judge)]
            lines.append(f"| {threads} | {k} | {fwd['mult_ratio']:.2f}× | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with everything between the markers replaced by ``block``."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"README.md must contain {BEGIN} once, followed by {END} once")
    head, rest = text.split(BEGIN)
    return f"{head}{BEGIN}\n{block}\n{END}{rest.split(END, 1)[1]}"


@click.command()
@click.option("--results", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path(__file__).parent / "results" / "bench_layers.json", show_default=True)
@click.option("--readme", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=ROOT / "README.md", show_default=True)
@click.option("--check", is_flag=True, help="Only compare: exit 1 when the README is out of date.")
def main(results: Path, readme: Path, check: bool) -> None:
    text = readme.read_text(encoding="utf-8")
    new = replace_block(text, render(json.loads(results.read_text(encoding="utf-8"))))
    if check:
        click.echo("README speed table is up to date" if new == text else "README speed table is stale")
        sys.exit(0 if new == text else 1)
    fd, tmp = tempfile.mkstemp(dir=readme.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new)
    os.replace(tmp, readme)
    click.echo(f"updated {readme}")


if __name__ == "__main__":
    main()
