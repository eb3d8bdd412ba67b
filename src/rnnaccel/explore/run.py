"""Run a sweep: vectorized evaluation, Pareto front per device, atomic CSV, the Pareto plot."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnaccel.explore.config import ExploreConfig
from rnnaccel.explore.grid import build_points, load_phase1, per_column, shapes_for
from rnnaccel.explore.pareto import pareto_front
from rnnaccel.hw.fpga.power import PowerModel
from rnnaccel.hw.fpga.vector import evaluate_grid
from rnnaccel.hw.spec import fpga_device
from rnnaccel.io import atomic_output

__all__ = ["ExploreResult", "default_power", "eligible", "evaluate_points", "explore", "plot_front",
           "plot_groups", "plot_resources", "resource_rows", "with_front", "write_csv"]


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


def default_power(power: PowerModel | None = None) -> PowerModel:
    """Power defaults to the ESE-calibrated coefficients, as in ``rnnaccel fpga compare``."""
    if power is not None:
        return power
    from rnnaccel.hw.fpga.compare import ese_calibrated_power

    return ese_calibrated_power()


def evaluate_points(config: ExploreConfig, points: dict[str, np.ndarray], power: PowerModel,
                    trials: list[dict]) -> dict[str, np.ndarray]:
    """The model's figures, Phase I PER (``trials``) and ``resource_use`` of design ``points``."""
    shapes = shapes_for(config.model, config.sweep.cell)
    devices = tuple(fpga_device(name) for name in config.sweep.device)
    out = evaluate_grid(points, shapes, devices, power)
    columns = {**points, **out}
    columns["per"] = per_column(points, config, trials)
    columns["resource_use"] = _resource_use(out, config.output.resource)
    return columns


def eligible(config: ExploreConfig, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Points that fit their device and, with ``max_per``, have a known PER within it."""
    ok = np.asarray(columns["fits"], dtype=bool).copy()
    if config.output.max_per is not None:
        ok &= columns["per"] <= config.output.max_per  # NaN (unknown PER) compares False
    return ok


def with_front(config: ExploreConfig, columns: dict[str, np.ndarray]) -> ExploreResult:
    """The Pareto front per device (resource fractions of different devices are not comparable) over the
    eligible points: highest frames/s/W at the lowest resource use."""
    ok = eligible(config, columns)
    front = np.zeros(ok.size, dtype=bool)
    for dev in range(len(config.sweep.device)):
        idx = np.flatnonzero(ok & (columns["device"] == dev))
        front[idx] = pareto_front(columns["frames_per_s_per_w"][idx], columns["resource_use"][idx])
    columns = {**columns, "eligible": ok, "pareto": front}
    return ExploreResult(
        columns, front, tuple(config.sweep.cell), tuple(config.sweep.device), config.output.resource
    )


def explore(config: ExploreConfig, power: PowerModel | None = None) -> ExploreResult:
    """Evaluate the whole grid (vectorized); the front is over points that fit (and meet ``max_per``)."""
    trials = load_phase1(config.output.phase1_results) if config.output.phase1_results else []
    return with_front(config, evaluate_points(config, build_points(config), default_power(power), trials))


def write_csv(result: ExploreResult, path: str | Path) -> Path:
    """All points as CSV, written to a temp file in the same directory and renamed (atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(result.columns)
    cols = [result.columns[n] for n in names]
    cols[names.index("cell")] = np.asarray(result.cells)[result.columns["cell"]]
    cols[names.index("device")] = np.asarray(result.devices)[result.columns["device"]]
    with atomic_output(path) as tmp, tmp.open("w", newline="") as handle:  # 0644, renamed when complete
        writer = csv.writer(handle)
        writer.writerow(names)
        writer.writerows(zip(*(c.tolist() for c in cols), strict=True))
    return path


def plot_groups(result: ExploreResult) -> dict[str, dict[str, list[dict]]]:
    """Per device: its eligible points (what ``max_per`` excluded is dropped) and its front rows."""
    cols = result.columns
    front = result.front_rows()
    groups = {}
    for i, device in enumerate(result.devices):
        idx = np.flatnonzero(cols["eligible"] & (cols["device"] == i))
        points = [{"resource_use": float(cols["resource_use"][j]),
                   "frames_per_s_per_w": float(cols["frames_per_s_per_w"][j])} for j in idx]
        groups[device] = {"points": points, "front": [r for r in front if r["device"] == device]}
    return groups


def resource_rows(result: ExploreResult, top: int = 12) -> dict[str, dict[str, float]]:
    """Resource fractions of the ``top`` front points by frames/s/W, keyed by a short design label."""
    out = {}
    for r in result.front_rows()[:top]:
        label = (f"{r['device']} {r['cell']} k{r['block_gate']}/{r['block_proj']} "
                 f"pe{r['pe_gate']}x{r['lanes_gate']}")
        out[label] = {k: float(r[f"{k}_frac"]) for k in ("dsp", "bram", "lut", "ff")}
    return out


def plot_resources(result: ExploreResult, path: str | Path) -> Path:
    """SVG bars: DSP/BRAM/LUT/FF fraction used by each of the best front points."""
    from rnnaccel.report.plots import resources_svg, write_text

    return write_text(resources_svg(resource_rows(result)), path)


def plot_front(result: ExploreResult, path: str | Path) -> Path:
    """The Pareto plot (one axis per device) as SVG or PNG by ``path``'s suffix; no pyplot, so the
    caller's matplotlib backend is untouched."""
    from rnnaccel.report.plots import pareto_figure, pareto_svg, write_text

    path, groups = Path(path), plot_groups(result)
    if path.suffix in ("", ".svg"):  # labels as text, no date: searchable and reproducible
        return write_text(pareto_svg(groups, result.resource), path)
    fig = pareto_figure(groups, result.resource)
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".") or "svg")
    return path
