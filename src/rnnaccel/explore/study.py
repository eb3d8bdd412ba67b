"""Design-space exploration on an Optuna study: a sampler (``grid``: every point, ``tpe``, ``nsga2``)
proposes design points, each evaluated with the analytical FPGA model as one trial.

The vectorized :func:`rnnaccel.explore.explore` evaluates the whole grid in a fraction of a second; the
study is for sampling a grid too large to enumerate, for resuming, and for running on the same
machinery (worker processes, Ray) as the expensive Phase I trials. Objectives: PER (when Phase I
results are given), resource use (the ``resource`` fraction) and frames/s/W; a point that does not
fit, or misses ``max_per``, is a PRUNED trial.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnaccel.explore.config import ExploreConfig
from rnnaccel.explore.grid import AXES, load_phase1
from rnnaccel.explore.run import ExploreResult, default_power, eligible, evaluate_points, with_front

__all__ = ["ExploreTask", "ExploreWorker", "explore_study"]


class ExploreWorker:
    """Evaluates one design point (a dict axis -> value) per :meth:`run`; built once per worker."""

    def __init__(self, config: dict) -> None:
        self.config = ExploreConfig.model_validate(config)
        out = self.config.output
        self.trials = load_phase1(out.phase1_results) if out.phase1_results else []
        self.power = default_power()

    def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        sweep = self.config.sweep
        point = {axis: np.asarray([spec[axis]]) for axis in AXES}
        point["cell"] = np.asarray([sweep.cell.index(spec["cell"])])
        point["device"] = np.asarray([sweep.device.index(spec["device"])])
        columns = evaluate_points(self.config, point, self.power, self.trials)
        row = {key: col[0].item() for key, col in columns.items()}
        row["eligible"] = bool(eligible(self.config, columns)[0])
        return {**row, "cell_name": spec["cell"], "device_name": spec["device"]}


class ExploreTask:
    """The study's view of a design point: params = the swept axes."""

    def __init__(self, config: ExploreConfig) -> None:
        self.config = config
        self.with_per = bool(config.output.phase1_results)
        self.directions = (["minimize"] if self.with_per else []) + ["minimize", "maximize"]
        text = Path(config.output.phase1_results).read_bytes() if self.with_per else b""
        blob = json.dumps({"model": config.model.model_dump(), "output": config.output.model_dump()})
        self._fp = hashlib.sha256(blob.encode() + text).hexdigest()[:16]

    def space(self) -> dict[str, list]:
        return {axis: list(getattr(self.config.sweep, axis)) for axis in AXES}

    def key(self, spec: dict[str, Any]) -> str:
        return "-".join(f"{spec[a]}" for a in AXES)

    def params(self, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(spec)

    def spec(self, params: dict[str, Any]) -> dict[str, Any]:
        return dict(params)

    def fingerprint(self, spec: dict[str, Any]) -> str:
        return self._fp

    def parents(self, spec: dict[str, Any]) -> list:
        return []

    def finish(self, row: dict) -> dict:
        return row

    def values(self, row: dict) -> list[float] | None:
        if not row["eligible"]:
            return None
        tail = [row["resource_use"], row["frames_per_s_per_w"]]
        return [row["per"], *tail] if self.with_per else tail


def _grid_size(config: ExploreConfig) -> int:
    return int(np.prod([len(getattr(config.sweep, axis)) for axis in AXES]))


def explore_study(config: ExploreConfig, sampler: str, n_trials: int | None = None, *,
                  storage: str | None = None, jobs: int = 1, backend: str = "local",
                  address: str | None = None) -> tuple[ExploreResult, dict]:
    """Run ``n_trials`` proposed trials (``grid``: default every point) in the study at ``storage``
    (default ``output.dir/study.journal``); returns the result over every finished trial of the
    study (so a resumed study includes earlier trials) and a summary of the study."""
    from rnnaccel.study import StudyRunner, make_backend, make_sampler, open_study
    from rnnaccel.study.storage import storage_for

    task = ExploreTask(config)
    name = "explore-per" if task.with_per else "explore"
    study = open_study(name, storage_for(storage, config.output.dir), task.directions, make_sampler(sampler))
    factory = functools.partial(ExploreWorker, config.model_dump())
    back = make_backend(backend, factory, jobs, address)
    runner = StudyRunner(study, task, back)
    n = n_trials or (_grid_size(config) if sampler == "grid" else 100)
    try:
        if sampler == "grid":
            _run_grid(runner, task, n)
        else:
            runner.sample(n, batch=jobs)
    finally:
        back.close()
    rows = _study_rows(study, config)
    info = {"storage": storage or str(Path(config.output.dir) / "study.journal"), "name": name,
            "sampler": sampler, "trials": len(rows), "grid_points": _grid_size(config),
            "notes": runner.notes}
    return with_front(config, _columns(config, rows)), info


def _run_grid(runner: Any, task: ExploreTask, n: int, chunk: int = 256) -> None:
    """The first ``n`` points of the grid (axis order), ``chunk`` trials asked at a time; finished
    points are reused, so a resumed grid runs only what is missing."""
    import itertools

    space = task.space()
    specs = [dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())][:n]
    for start in range(0, len(specs), chunk):
        runner.run(specs[start:start + chunk])


def _study_rows(study: Any, config: ExploreConfig) -> list[dict]:
    """The finished rows of points in this config's sweep (one per point; cell/device re-indexed)."""
    from optuna.trial import TrialState

    sweep, seen, rows = config.sweep, set(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        row, key = t.user_attrs.get("row"), t.user_attrs.get("key")
        if row is None or key in seen or row["cell_name"] not in sweep.cell:
            continue
        if row["device_name"] not in sweep.device or any(row[a] not in getattr(sweep, a) for a in AXES[2:]):
            continue
        seen.add(key)
        rows.append({**row, "cell": sweep.cell.index(row["cell_name"]),
                     "device": sweep.device.index(row["device_name"])})
    return rows


def _columns(config: ExploreConfig, rows: list[dict]) -> dict[str, np.ndarray]:
    if not rows:
        raise ValueError("the study has no finished trials")
    skip = {"cell_name", "device_name", "study_trial", "eligible", "pareto"}
    keys = [k for k in rows[0] if k not in skip]
    cols = {k: np.asarray([np.nan if r[k] is None else r[k] for r in rows]) for k in keys}
    cols["cell"] = cols["cell"].astype(np.int64)
    cols["device"] = cols["device"].astype(np.int64)
    cols["fits"] = cols["fits"].astype(bool)
    return cols
