"""Pick the parallelism of a design for a device: the fastest point of a small grid that fits a cap.

Block sizes, bit widths, II and complex-multiply style come from the base design (they are the
algorithmic choices); PEs, lanes and elementwise lanes are what an HLS designer would unroll until
the device is full. The cap (default 90% of every resource class) leaves room for routing.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rnnaccel.hw.fpga.design import CirculantDesign, LogicCosts
from rnnaccel.hw.fpga.power import PowerModel
from rnnaccel.hw.fpga.vector import DESIGN_COLUMNS, evaluate_grid
from rnnaccel.hw.fpga.workload import RnnShape
from rnnaccel.hw.spec import FpgaDevice

__all__ = ["PARALLELISM_GRID", "size_for_device"]

PARALLELISM_GRID: dict[str, tuple[int, ...]] = {
    "pe_gate": (1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64),
    "lanes_gate": (4, 8, 16, 32),
    "pe_proj": (1, 2, 4, 8, 16),
    "lanes_proj": (4, 8, 16, 32),
    "elem_lanes": (8, 16, 32, 64),
}


def _grid(base: CirculantDesign, fixed_lanes: bool) -> dict[str, np.ndarray]:
    axes = dict(PARALLELISM_GRID)
    if fixed_lanes:
        axes["lanes_gate"] = (base.lanes_gate,)
    mesh = np.meshgrid(*[np.asarray(v) for v in axes.values()], indexing="ij")
    points = {name: m.ravel() for name, m in zip(axes, mesh, strict=True)}
    n = points["pe_gate"].size
    for name in DESIGN_COLUMNS:
        if name not in points:
            points[name] = np.full(n, getattr(base, name))
    points["cell"] = np.zeros(n, dtype=np.int64)
    points["device"] = np.zeros(n, dtype=np.int64)
    return points


def size_for_device(
    shape: RnnShape,
    base: CirculantDesign,
    device: FpgaDevice,
    power: PowerModel,
    cap: float = 0.9,
    fixed_lanes: bool = True,
    costs: LogicCosts | None = None,
) -> CirculantDesign:
    """The highest-throughput parallelism (ties: lowest power) whose every resource is <= ``cap``."""
    if not 0 < cap <= 1:
        raise ValueError(f"cap must be in (0, 1], got {cap!r}")
    points = _grid(base, fixed_lanes)
    out = evaluate_grid(points, (shape,), (device,), power, costs)
    fracs = np.stack([out[k] for k in ("dsp_frac", "bram_frac", "lut_frac", "ff_frac")])
    ok = np.all(fracs <= cap, axis=0)
    if not ok.any():
        raise ValueError(f"no parallelism of {base.name!r} fits {device.part} under a {cap:.0%} cap")
    order = np.lexsort((out["power_w"], -out["frames_per_s"]))
    best = order[ok[order]][0]
    return replace(base, **{name: int(points[name][best]) for name in PARALLELISM_GRID})
