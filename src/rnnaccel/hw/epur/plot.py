"""Energy breakdown per network with and without MWL (matplotlib, imported lazily, Agg backend)."""

from __future__ import annotations

from pathlib import Path

from rnnaccel.hw.epur.report import Evaluation

__all__ = ["plot_breakdown"]


def plot_breakdown(pairs: list[tuple[Evaluation, Evaluation]], path: str | Path) -> None:
    """Stacked bars of energy per sequence (mJ) by component: MWL off / on for each network."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = list(pairs[0][0].breakdown_j())
    labels, rows = [], []
    for off, on in pairs:
        for ev, tag in ((off, "off"), (on, "on")):
            labels.append(f"{ev.sim.network.name}\nMWL {tag}")
            rows.append(ev.breakdown_j())
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(labels)), 4.5))
    bottom = [0.0] * len(rows)
    for part in parts:
        vals = [r[part] * 1e3 for r in rows]
        ax.bar(range(len(rows)), vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("energy per sequence (mJ, log)")
    ax.set_title("E-PUR energy breakdown, MWL off vs on")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
