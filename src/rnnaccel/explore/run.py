"""Run a sweep: vectorized evaluation, Pareto front, atomic CSV, PNG plot."""

from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnaccel.explore.config import ExploreConfig
from rnnaccel.explore.grid import build_points, load_phase1, per_column, shapes_for
from rnnaccel.explore.pareto import pareto_front
from rnnaccel.hw.fpga.power import PowerModel
from rnnaccel.hw.fpga.vector import evaluate_grid
from rnnaccel.hw.spec import fpga_device

__all__ = ["ExploreResult", "explore", "plot_front", "write_csv"]


@dataclass(frozen=True)
class ExploreResult:
    """Every point (columns), the Pareto mask, and the names used to decode indices."""

    columns: dict[str, np.ndarray]
    front: np.ndarray
    cells: tuple[str, ...]
    devices: tuple[str, ...]
    resource: str

    @property
    def n_points(self) -> int:
        return int(self.front.size)

    def front_rows(self) -> list[dict[str, object]]:
        """The Pareto points as dicts, best frames/s/W first."""
        idx = np.flatnonzero(self.front)
        idx = idx[np.argsort(-self.columns["frames_per_s_per_w"][idx])]
        return [_row(self, i) for i in idx]


def _row(result: ExploreResult, i: int) -> dict[str, object]:
    row = {key: col[i].item() for key, col in result.columns.items()}
    row["cell"] = result.cells[int(row["cell"])]
    row["device"] = result.devices[int(row["device"])]
    return row


def _resource_use(columns: dict[str, np.ndarray], resource: str) -> np.ndarray:
    if resource == "max":
        return np.max(np.stack([columns[f"{r}_frac"] for r in ("dsp", "bram", "lut", "ff")]), axis=0)
    return columns[f"{resource}_frac"]


def explore(config: ExploreConfig, power: PowerModel | None = None) -> ExploreResult:
    """Evaluate the whole grid; the front is over points that fit (and meet ``max_per`` if set).

    Power defaults to the ESE-calibrated coefficients, as in ``rnnaccel fpga compare``.
    """
    if power is None:
        from rnnaccel.hw.fpga.compare import ese_calibrated_power

        power = ese_calibrated_power()
    points = build_points(config)
    shapes = shapes_for(config.model, config.sweep.cell)
    devices = tuple(fpga_device(name) for name in config.sweep.device)
    out = evaluate_grid(points, shapes, devices, power)
    columns = {**points, **out}
    trials = load_phase1(config.output.phase1_results) if config.output.phase1_results else []
    columns["per"] = per_column(points, config, trials)
    columns["resource_use"] = _resource_use(out, config.output.resource)
    eligible = out["fits"].copy()
    if config.output.max_per is not None:
        eligible &= columns["per"] <= config.output.max_per  # NaN (unknown PER) compares False
    front = np.zeros(eligible.size, dtype=bool)
    idx = np.flatnonzero(eligible)
    front[idx] = pareto_front(columns["frames_per_s_per_w"][idx], columns["resource_use"][idx])
    columns["pareto"] = front
    return ExploreResult(
        columns, front, tuple(config.sweep.cell), tuple(config.sweep.device), config.output.resource
    )


def write_csv(result: ExploreResult, path: str | Path) -> Path:
    """All points as CSV, written to a temp file in the same directory and renamed (atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(result.columns)
    cols = [result.columns[n] for n in names]
    cols[names.index("cell")] = np.asarray(result.cells)[result.columns["cell"]]
    cols[names.index("device")] = np.asarray(result.devices)[result.columns["device"]]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(names)
            writer.writerows(zip(*(c.tolist() for c in cols), strict=True))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def plot_front(result: ExploreResult, path: str | Path) -> Path:
    """PNG: every fitting point (grey) and the front (colored by cell), frames/s/W vs resource use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols, path = result.columns, Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    fits = cols["fits"]
    ax.scatter(cols["resource_use"][fits], cols["frames_per_s_per_w"][fits], s=3, c="0.8", label="fits")
    for i, cell in enumerate(result.cells):
        sel = result.front & (cols["cell"] == i)
        ax.scatter(cols["resource_use"][sel], cols["frames_per_s_per_w"][sel], s=14, label=f"Pareto {cell}")
    ax.set_xlabel(f"resource use ({result.resource} fraction of device)")
    ax.set_ylabel("frames/s/W")
    ax.set_yscale("log")
    ax.legend(loc="lower right")
    ax.set_title(f"{result.n_points} design points, {int(result.front.sum())} on the front")
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
    return path
