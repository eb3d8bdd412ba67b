"""The plots of flow runs and sweeps, as SVG text (matplotlib's object API: no pyplot, so no backend is
chosen or changed here; a notebook user's backend stays as it was).

Each ``*_svg`` function takes the plain data the commands write (JSON rows) and returns one SVG
document; :func:`write_compress_plots` writes a compress sweep's plots beside its results JSON.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["admm_residuals_svg", "energy_breakdown_svg", "pareto_figure", "pareto_svg", "per_percent",
           "per_vs_cost_svg", "resources_svg", "training_curves_svg", "write_compress_plots", "write_text"]


def _figure(width: float = 7.0, height: float = 4.0, ncols: int = 1) -> tuple[Any, Any]:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ValueError("plots need matplotlib: pip install 'rnnaccel[plot]'") from None

    fig = Figure(figsize=(width, height))
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, axes


def _svg(fig: Any) -> str:
    import matplotlib

    buf = io.StringIO()
    fig.tight_layout()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "rnnaccel"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})  # text stays text; output reproducible
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE: the SVG is embedded in HTML


def per_percent(record: Mapping[str, Any], split: str | None) -> float | None:
    per = record.get("per")
    if isinstance(per, Mapping):
        per = per.get(split) if split in per else next(iter(per.values()), None)
    return None if per is None else 100.0 * float(per)


def training_curves_svg(stages: Mapping[str, Sequence[Mapping[str, Any]]], split: str | None = None,
                        title: str = "training") -> str:
    """PER (%) and loss per epoch, stages one after another (``{"dense": [{"epoch", "loss", "per"}]}``)."""
    fig, (ax_per, ax_loss) = _figure(9.0, 3.6, 2)
    start = 0
    for name, records in stages.items():
        if not records:
            continue
        x = [start + i + 1 for i in range(len(records))]
        per = [per_percent(r, split) for r in records]
        ax_per.plot(x, per, marker="o", ms=3, label=name)
        loss = [r.get("loss") for r in records]
        if any(v is not None for v in loss):
            ax_loss.plot(x, loss, marker="o", ms=3, label=name)
        start += len(records)
    ax_per.set(xlabel="epoch (all stages)", ylabel=f"PER % ({split or 'eval'})", title=f"{title}: PER")
    ax_loss.set(xlabel="epoch (all stages)", ylabel="training loss", title=f"{title}: loss")
    for ax in (ax_per, ax_loss):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return _svg(fig)


def per_vs_cost_svg(rows: Sequence[Mapping[str, Any]], cost: str, selected: str | None = None,
                    xlabel: str | None = None, log: bool = True) -> str:
    """PER (%) of each trial against ``cost`` (``storage_bytes``, ``frames_per_s_per_w``), each point
    labelled with its trial name; the selected trial ringed."""
    fig, (ax,) = _figure(7.5, 4.5)
    pts = [r for r in rows if r.get(cost) is not None and r.get("per") is not None]
    ax.scatter([r[cost] for r in pts], [100 * r["per"] for r in pts], s=18, c="tab:blue")
    for r in pts:
        ax.annotate(r["trial"], (r[cost], 100 * r["per"]), fontsize=6, xytext=(3, 3),
                    textcoords="offset points")
    chosen = [r for r in pts if r["trial"] == selected]
    if chosen:
        ax.scatter([chosen[0][cost]], [100 * chosen[0]["per"]], s=110, facecolors="none",
                   edgecolors="tab:red", label=f"selected: {selected}")
        ax.legend(fontsize=7)
    if log and pts and min(r[cost] for r in pts) > 0:
        ax.set_xscale("log")
    ax.set(xlabel=xlabel or cost, ylabel="PER %", title=f"Phase I trials: PER vs {xlabel or cost}")
    return _svg(fig)


def admm_residuals_svg(residuals: Mapping[str, Sequence[float]]) -> str:
    """ADMM residual ||W - Z||/||W|| per iteration, one line per trial."""
    fig, (ax,) = _figure(7.0, 3.6)
    for name, values in residuals.items():
        if values:
            ax.plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=6)
    ax.set(xlabel="ADMM iteration", ylabel="residual", title="ADMM residuals", yscale="log")
    return _svg(fig)


def resources_svg(designs: Mapping[str, Mapping[str, float]]) -> str:
    """Fraction of each FPGA resource (DSP, BRAM, LUT, FF) used by each design point; 1.0 = full."""
    fig, (ax,) = _figure(max(6.0, 1.2 * len(designs) + 3), 3.8)
    kinds = ("dsp", "bram", "lut", "ff")
    width = 0.8 / len(kinds)
    for j, kind in enumerate(kinds):
        ax.bar([i + j * width for i in range(len(designs))],
               [100 * float(f.get(kind, 0.0)) for f in designs.values()], width, label=kind.upper())
    ax.axhline(100, color="0.3", lw=0.8, ls="--")
    ax.set_xticks([i + 0.3 for i in range(len(designs))], list(designs), fontsize=7)
    ax.set(ylabel="% of the device", title="FPGA resource use per design point")
    ax.legend(fontsize=7)
    return _svg(fig)


def energy_breakdown_svg(breakdown_j: Mapping[str, float], title: str = "E-PUR energy per utterance") -> str:
    """Horizontal bars: energy (mJ) of each component and leakage."""
    fig, (ax,) = _figure(7.0, 0.35 * len(breakdown_j) + 1.5)
    names = list(breakdown_j)
    ax.barh(names, [1e3 * breakdown_j[n] for n in names], color="tab:green")
    ax.set(xlabel="energy (mJ)", title=title)
    return _svg(fig)


def pareto_svg(groups: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]], resource: str) -> str:
    """:func:`pareto_figure` as SVG."""
    return _svg(pareto_figure(groups, resource))


def pareto_figure(groups: Mapping[str, Mapping[str, Sequence[Mapping[str, Any]]]], resource: str) -> Any:
    """One axis per device (resource fractions of different devices do not share an axis): the
    eligible points (grey) and each cell's Pareto points, labelled with their block sizes. ``groups``:
    ``{device: {"points": [...], "front": [...]}}``; a legend entry only for a series with points."""
    fig, axes = _figure(5.0 * max(1, len(groups)), 4.2, max(1, len(groups)))
    for ax, (device, data) in zip(axes, groups.items(), strict=False):
        points, front = data["points"], data["front"]
        if points:
            ax.scatter([p["resource_use"] for p in points], [p["frames_per_s_per_w"] for p in points],
                       s=3, c="0.8", label="eligible", rasterized=True)  # thousands: one image
        for cell in sorted({p["cell"] for p in front}):
            sel = [p for p in front if p["cell"] == cell]
            ax.scatter([p["resource_use"] for p in sel], [p["frames_per_s_per_w"] for p in sel], s=16,
                       label=f"Pareto {cell}")
            for p in sel[:12]:
                ax.annotate(f"k{p['block_gate']}/{p['block_proj']} w{p['weight_bits']}",
                            (p["resource_use"], p["frames_per_s_per_w"]), fontsize=5, xytext=(2, 2),
                            textcoords="offset points")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right")
            ax.set_yscale("log")
        ax.set(xlabel=f"{resource} fraction of {device}", ylabel="frames/s/W", title=device)
    fig.tight_layout()
    return fig


def write_text(text: str, path: str | Path) -> Path:
    """Atomically write one SVG or HTML file (mode 0644)."""
    from rnnaccel.io import write_text_atomic

    return write_text_atomic(path, text)


def compress_plots(results: Mapping[str, Any]) -> dict[str, str]:
    """The SVGs of a compress results JSON: PER vs storage, PER vs frames/s/W, training curves of the
    selected (else the baseline) trial, ADMM residuals."""
    rows, summary = results["trials"], results["summary"]
    selected = summary.get("selected")
    split = results["config"]["train"]["eval_split"]
    shown = next((r for r in rows if r["trial"] == selected), rows[0])
    out = {"per_vs_storage": per_vs_cost_svg(rows, "storage_bytes", selected, "storage (bytes)"),
           "per_vs_frames_per_s_per_w": per_vs_cost_svg(rows, "frames_per_s_per_w", selected,
                                                        "frames/s/W (FPGA model)"),
           "training_curves": training_curves_svg(shown.get("stages", {}), split, shown["trial"])}
    residuals = {r["trial"]: r["admm_residuals"] for r in rows if r.get("admm_residuals")}
    if residuals:
        out["admm_residuals"] = admm_residuals_svg(residuals)
    return out


def write_compress_plots(results_path: str | Path) -> list[Path]:
    """Write :func:`compress_plots` as ``<results stem>_plots/<name>.svg``; returns the paths."""
    import json

    path = Path(results_path)
    plots = compress_plots(json.loads(path.read_text()))
    folder = path.with_name(f"{path.stem}_plots")
    return [write_text(svg, folder / f"{name}.svg") for name, svg in plots.items()]
