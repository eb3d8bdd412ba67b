"""A resumable model-selection sweep: runs a strategy's trials, caches each finished trial in the
results JSON (written atomically after every trial, so a killed sweep resumes), selects the model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from rnnaccel.compress.config import CompressConfig
from rnnaccel.compress.select import degradation, full_plan, reduced_search, run_full, select_cheapest
from rnnaccel.compress.trials import TrialRunner, TrialSpec, write_json_atomic

__all__ = ["Sweep"]


class Sweep:
    """Runs ``config``'s strategy with ``runner`` (default: a :class:`TrialRunner` on its settings).

    ``on_trial(row, cached)`` is called after each trial the strategy asks for (for progress output).
    """

    def __init__(self, config: CompressConfig, runner: TrialRunner | None = None,
                 on_trial: Callable[[dict, bool], None] | None = None) -> None:
        self.config = config
        self.runner = runner or TrialRunner(config.train, config.admm, config.out_dir)
        self.on_trial = on_trial
        self.path = Path(config.results)
        previous = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.trials: dict[str, dict] = previous.get("trials", {})
        self.used: list[str] = []

    def _run(self, spec: TrialSpec) -> dict:
        cached = spec.trial_id in self.trials
        if not cached:
            self.trials[spec.trial_id] = self.runner.run(spec)
            self._save(None)
        if spec.trial_id not in self.used:
            self.used.append(spec.trial_id)
        if self.on_trial is not None:
            self.on_trial(self.trials[spec.trial_id], cached)
        return self.trials[spec.trial_id]

    def run(self) -> dict:
        """Run the strategy; returns (and writes) the summary with every trial and the selection."""
        c = self.config
        if c.strategy == "full":
            rows = run_full(c.grid, self._run)
        else:
            rows = reduced_search(c.grid, self._run, c.max_per_degradation, c.cost, self.runner.estimate)
        base = self.trials[TrialSpec(c.grid.reference_cell, c.grid.reference_hidden).trial_id]["per"]
        best = select_cheapest(rows, base, c.max_per_degradation, c.cost)
        summary = {"baseline_per": base, "selected": None if best is None else best["trial"],
                   "trials_run": len(self.used), "full_grid_trials": len(full_plan(c.grid)),
                   "table": [_brief(r, base) for r in rows], "warnings": _warnings(base)}
        self._save(summary)
        return summary

    def _save(self, summary: dict | None) -> None:
        payload = {"config": self.config.model_dump(), "trials": self.trials, "summary": summary}
        write_json_atomic(self.path, payload)


def _warnings(base: float) -> list[str]:
    if base >= 0.9:
        return [f"the reference dense model has PER {100 * base:.1f}%: it has not learned, so the "
                f"degradations and the selection mean nothing (train longer or on more data)"]
    return []


def _brief(row: dict, base: float) -> dict:
    keys = ("trial", "per", "params", "storage_bytes", "mults_per_frame")
    return {**{k: row[k] for k in keys}, "per_degradation": round(degradation(row, base), 3)}
