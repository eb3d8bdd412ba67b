"""Build the design grid of a sweep (np.meshgrid, no per-point loop) and attach Phase I PER."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnaccel.explore.config import ExploreConfig, ModelSection
from rnnaccel.hw.fpga.vector import DESIGN_COLUMNS
from rnnaccel.shape import RnnShape

__all__ = ["AXES", "build_points", "load_phase1", "per_column", "shapes_for"]

AXES = ("cell", "device", *DESIGN_COLUMNS)


def shapes_for(model: ModelSection, cells: list[str]) -> tuple[RnnShape, ...]:
    """One network per swept cell type (the GRU variant has no projection or peepholes)."""
    return tuple(model.shape(cell) for cell in cells)


def build_points(config: ExploreConfig) -> dict[str, np.ndarray]:
    """Cartesian product of the sweep axes as flat columns; ``cell``/``device`` are indices."""
    sweep = config.sweep
    values = {axis: np.asarray(getattr(sweep, axis)) for axis in AXES}
    values["cell"] = np.arange(len(sweep.cell))
    values["device"] = np.arange(len(sweep.device))
    mesh = np.meshgrid(*values.values(), indexing="ij")
    return {axis: grid.ravel() for axis, grid in zip(values, mesh, strict=True)}


def load_phase1(path: str | Path) -> list[dict]:
    """Trials of a Phase I result (``rnnaccel.compress.result.Phase1Result``, as ``rnnaccel compress``
    writes it, or hand-written ``{"trials": [{"cell", "hidden", "block_sizes": {"gates", "proj"},
    "bits", "per"}]}``) that have one gate block size; ValueError names the first malformed trial."""
    from rnnaccel.compress.result import load_phase1_result

    return load_phase1_result(path).explore_trials()


def per_column(points: dict[str, np.ndarray], config: ExploreConfig, trials: list[dict]) -> np.ndarray:
    """PER of every point from the matching Phase I trial (cell, hidden, gate/proj block, weight bits);
    NaN where no trial matches. Loops over trials, not points."""
    per = np.full(points["cell"].size, np.nan)
    shapes = shapes_for(config.model, config.sweep.cell)
    for trial in trials:
        for idx, shape in enumerate(shapes):
            if trial["cell"] != shape.cell or trial["hidden"] != shape.hidden_size:
                continue
            mask = (points["cell"] == idx) & (points["block_gate"] == trial["block_sizes"]["gates"])
            mask &= points["weight_bits"] == trial["bits"]
            if shape.proj_size and "proj" in trial["block_sizes"]:
                mask &= points["block_proj"] == trial["block_sizes"]["proj"]
            per[mask] = float(trial["per"])
    return per
