"""E-RNN Phase I model selection: the cheapest model whose PER degradation meets an accuracy budget.

Strategies (each drives a ``run(spec) -> row`` callable, so they are testable without training):

- ``full``: every (cell × hidden size × block size × quantization) point, plus each dense baseline.
- ``reduced`` (E-RNN Observation 1 and 2 [U, assumed]: accuracy loss depends mainly on block size, so
  the block size can be settled first and the layer size/type searched at that block size):
  1. on the reference (cell, hidden): dense baseline, then block sizes from the cheapest upward,
     stopping at the first that meets the budget (the compression/accuracy relation is monotone);
  2. every other (cell, hidden): dense baseline + the model at that block size;
  3. the cheapest float model within budget: quantization presets from the fewest bits upward,
     stopping at the first within budget.

A row is a dict with at least ``trial``, ``spec`` (TrialSpec fields), ``per`` (fraction) and the cost
keys ``storage_bytes``/``mults_per_frame``. Degradation is in PER points against the reference dense.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rnnaccel.compress.config import GridConfig
from rnnaccel.compress.trials import TrialSpec

__all__ = ["degradation", "full_plan", "reduced_search", "run_full", "select_cheapest"]

Row = dict
Runner = Callable[[TrialSpec], Row]
Batch = Callable[[list[TrialSpec]], list[Row]]  # runs independent trials (possibly in parallel)
_QUANT_ORDER = ("12bit", "16bit")  # fewest bits first


def degradation(row: Row, baseline_per: float) -> float:
    """PER degradation in points (PER is stored as a fraction)."""
    return 100.0 * (row["per"] - baseline_per)


def select_cheapest(rows: Sequence[Row], baseline_per: float, max_degradation: float,
                    cost: str = "storage_bytes") -> Row | None:
    """The row with the lowest ``cost`` among those within ``max_degradation`` points (ties: lower PER,
    then lower multiplies); None when nothing meets the budget."""
    if not max_degradation >= 0:
        raise ValueError(f"max_degradation must be >= 0 PER points, got {max_degradation!r}")
    if cost not in ("storage_bytes", "mults_per_frame"):
        raise ValueError(f"cost must be 'storage_bytes' or 'mults_per_frame', got {cost!r}")
    ok = [r for r in rows if degradation(r, baseline_per) <= max_degradation + 1e-9]
    if not ok:
        return None
    return min(ok, key=lambda r: (r[cost], r["per"], r["mults_per_frame"]))


def _circ(cell: str, hidden: int, k: int | dict, grid: GridConfig, quant: str = "float") -> TrialSpec:
    return TrialSpec(cell, hidden, grid.method, k, quant)


def full_plan(grid: GridConfig) -> list[TrialSpec]:
    """Every trial of the full grid, parents before their quantized children."""
    plan = []
    for cell in grid.cells:
        for hidden in grid.hidden_sizes:
            plan.append(TrialSpec(cell, hidden))
            quant = ["float", *sorted(set(grid.quant) - {"float"})]
            for k in grid.block_sizes:
                plan += [_circ(cell, hidden, k, grid, q) for q in quant]
    return plan


def _level(spec: TrialSpec) -> int:
    return 0 if spec.method == "dense" else 1 if spec.quant == "float" else 2


def run_full(grid: GridConfig, run: Runner, run_many: Batch | None = None) -> list[Row]:
    """Every trial of :func:`full_plan`; with ``run_many``, in three batches of independent trials
    (dense baselines, float models, quantized models), rows in plan order."""
    plan = full_plan(grid)
    if run_many is None:
        return [run(spec) for spec in plan]
    rows: dict[int, Row] = {}
    for level in range(3):
        idx = [i for i, spec in enumerate(plan) if _level(spec) == level]
        rows.update(zip(idx, run_many([plan[i] for i in idx]), strict=True))
    return [rows[i] for i in range(len(plan))]


def _cost_order(grid: GridConfig, cell: str, hidden: int, cost: str, estimate: Callable) -> list:
    """Block sizes from the cheapest (largest compression) upward."""
    return sorted(grid.block_sizes, key=lambda k: estimate(_circ(cell, hidden, k, grid))[cost])


def reduced_search(grid: GridConfig, run: Runner, max_degradation: float, cost: str,
                   estimate: Callable[[TrialSpec], dict], run_many: Batch | None = None) -> list[Row]:
    """The reduced strategy (module docstring); ``estimate(spec)`` gives a trial's cost without training.
    With ``run_many``, step 2's independent trials run as batches (dense baselines, then circulant)."""
    run_many = run_many or (lambda specs: [run(spec) for spec in specs])
    ref_cell, ref_hidden = grid.reference_cell, grid.reference_hidden
    rows = [run(TrialSpec(ref_cell, ref_hidden))]
    base = rows[0]["per"]
    chosen = None
    for k in _cost_order(grid, ref_cell, ref_hidden, cost, estimate):
        rows.append(run(_circ(ref_cell, ref_hidden, k, grid)))
        if degradation(rows[-1], base) <= max_degradation + 1e-9:
            chosen = k
            break
    others = [(c, h) for c in grid.cells for h in grid.hidden_sizes if (c, h) != (ref_cell, ref_hidden)]
    dense = run_many([TrialSpec(c, h) for c, h in others])
    circ = run_many([_circ(c, h, chosen, grid) for c, h in others]) if chosen is not None else []
    rows += [r for pair in zip(dense, circ or [None] * len(dense), strict=True) for r in pair if r]
    return rows + _quant_stage(grid, rows, run, base, max_degradation, cost)


def _quant_stage(grid: GridConfig, rows: list[Row], run: Runner, base: float, max_degradation: float,
                 cost: str) -> list[Row]:
    best = select_cheapest(rows, base, max_degradation, cost)
    if best is None:
        return []
    spec = TrialSpec(**best["spec"])
    out = []
    for q in (q for q in _QUANT_ORDER if q in grid.quant):
        out.append(run(TrialSpec(spec.cell, spec.hidden, spec.method, spec.block_size, q, spec.sparsity)))
        if degradation(out[-1], base) <= max_degradation + 1e-9:
            break
    return out
