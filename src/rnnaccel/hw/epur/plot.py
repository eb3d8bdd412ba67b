"""Energy breakdown per network with and without MWL (matplotlib imported lazily; its object API, not
pyplot, so no backend is chosen here and a notebook user's backend is left alone)."""

from __future__ import annotations

from pathlib import Path

from rnnaccel.hw.epur.report import Evaluation
from rnnaccel.io import atomic_output

__all__ = ["plot_breakdown"]


def plot_breakdown(pairs: list[tuple[Evaluation, Evaluation]], path: str | Path) -> None:
    """Stacked bars of each component's share of the energy per sequence (linear %, so every segment is
    read honestly), MWL off / on for each network, with the total in mJ written above each bar."""
    from matplotlib.figure import Figure

    parts = list(pairs[0][0].breakdown_j())
    labels, rows = [], []
    for off, on in pairs:
        for ev, tag in ((off, "off"), (on, "on")):
            labels.append(f"{ev.sim.network.name}\nMWL {tag}")
            rows.append(ev.breakdown_j())
    fig = Figure(figsize=(max(7, 1.1 * len(labels) + 1.5), 4.5))
    ax = fig.subplots()
    bottom = [0.0] * len(rows)
    totals = [sum(r.values()) for r in rows]
    for part in parts:
        vals = [100 * r[part] / tot for r, tot in zip(rows, totals, strict=True)]
        ax.bar(range(len(rows)), vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    for i, tot in enumerate(totals):
        ax.text(i, 101, f"{tot * 1e3:.3g} mJ", ha="center", va="bottom", fontsize=7)
    ax.set_ylim(0, 112)
    ax.set_ylabel("share of energy per sequence (%)")
    ax.set_title("E-PUR energy breakdown, MWL off vs on")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    with atomic_output(path, suffix=Path(path).suffix) as tmp:
        fig.savefig(tmp, dpi=120)  # format from the suffix (.png, .svg, .pdf)
