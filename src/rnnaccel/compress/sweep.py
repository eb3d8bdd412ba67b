"""The model-selection sweep on an Optuna study: Phase I's strategies (``full`` grid, ``reduced``
search) or a sampler (TPE, NSGA-II over PER, storage bytes and frames/s/W) propose trials; the
study (``--storage``, default ``OUT_DIR/study.journal``) records them, so a killed sweep resumes:
finished trials are reused when their config and data fingerprint match, the interrupted one is
retried. Trials run in this process, in ``jobs`` worker processes or on Ray (:mod:`rnnaccel.study`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from rnnaccel.compress.config import CompressConfig
from rnnaccel.compress.select import degradation, full_plan, reduced_search, run_full, select_cheapest
from rnnaccel.compress.trials import TrialRunner, TrialSpec

__all__ = ["DIRECTIONS", "OBJECTIVES", "CompressTask", "Sweep"]

OBJECTIVES: tuple[str, ...] = ("per", "storage_bytes", "frames_per_s_per_w")
DIRECTIONS: list[str] = ["minimize", "minimize", "maximize"]
_BITS = {"float": 16, "16bit": 16, "12bit": 12}  # FPGA datapath width (float models run at 16 bits)
_SETTINGS = {  # the training settings each method's result depends on (beyond its parent's)
    "dense": ("corpus", "max_train_utterances", "eval_split", "num_layers", "bidirectional",
              "batch_size", "lr", "seed", "dense_epochs"),
    "direct": ("direct_epochs",), "prune": ("prune_epochs", "prune_n_pe"), "admm": (),
    "quant": ("qat_epochs", "qat_train_utterances"),
}


def _block_param(block: Any) -> str:
    return "dense" if block is None else json.dumps(block, sort_keys=True)


class CompressTask:
    """How a :class:`TrialSpec` maps onto the study: params ``cell``, ``hidden``, ``block`` (JSON or
    ``dense``), ``quant``; the fingerprint hashes the settings that make the trial, its parents' and
    the training data (``runner.data_fingerprint()`` when the runner has one)."""

    directions = DIRECTIONS

    def __init__(self, config: CompressConfig, runner: Any, device: str = "ku060") -> None:
        self.config, self.runner, self.device = config, runner, device
        self._data_fp: str | None = None

    def key(self, spec: TrialSpec) -> str:
        return spec.trial_id

    def params(self, spec: TrialSpec) -> dict[str, Any]:
        return {"cell": spec.cell, "hidden": spec.hidden, "block": _block_param(spec.block_size),
                "quant": spec.quant}

    def space(self) -> dict[str, list]:
        g = self.config.grid
        return {"cell": list(g.cells), "hidden": list(g.hidden_sizes),
                "block": ["dense", *(_block_param(k) for k in g.block_sizes)], "quant": list(g.quant)}

    def spec(self, params: dict[str, Any]) -> TrialSpec:
        block = None if params["block"] == "dense" else json.loads(params["block"])
        method = "dense" if block is None else self.config.grid.method
        return TrialSpec(params["cell"], int(params["hidden"]), method, block, params["quant"])

    def parents(self, spec: TrialSpec) -> list[TrialSpec]:
        """Trials whose saved model this one starts from (dense baseline, float parent)."""
        out = [] if spec.method == "dense" else [TrialSpec(spec.cell, spec.hidden)]
        return out + ([spec.float_parent] if spec.quant != "float" and spec.method != "dense" else [])

    def _data(self) -> str | None:
        if self._data_fp is None and hasattr(self.runner, "data_fingerprint"):
            self._data_fp = self.runner.data_fingerprint()
        return self._data_fp

    def fingerprint(self, spec: TrialSpec) -> str:
        train = self.config.train.model_dump()
        names = [*_SETTINGS["dense"], *_SETTINGS.get(spec.method, ())]
        names += list(_SETTINGS["quant"]) if spec.quant != "float" else []
        parts = {"spec": spec.as_dict(), "train": {n: train[n] for n in names}, "data": self._data(),
                 "admm": self.config.admm.model_dump() if spec.method == "admm" else None,
                 "parents": [self.fingerprint(p) for p in self.parents(spec)]}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def finish(self, row: dict) -> dict:
        """The row plus the FPGA figures of its model (frames/s, W, frames/s/W on ``device``)."""
        if "frames_per_s_per_w" in row:
            return row
        return {**row, **fpga_figures(TrialSpec(**row["spec"]), self.config, self.device)}

    def values(self, row: dict) -> list[float]:
        return [float(row[name]) for name in OBJECTIVES]


def _gate_block(block: Any) -> int:
    """The smallest block size of any role/layer (the FPGA model has one gate block size)."""
    if block is None:
        return 1
    if isinstance(block, int):
        return block
    items = block if isinstance(block, list) else list(block.values())
    return min((_gate_block(b) for b in items), default=1)


def fpga_figures(spec: TrialSpec, config: CompressConfig, device: str, input_size: int = 39) -> dict:
    """Throughput and power of the trial's model on ``device``, parallelism sized to fit (as the flow
    sizes its model); zeros when no parallelism of that block size fits."""
    from rnnaccel.explore.config import ModelSection
    from rnnaccel.hw.fpga import CirculantDesign, evaluate, fpga_device
    from rnnaccel.hw.fpga.sizing import size_for_device

    t = config.train
    model = ModelSection(input_size=input_size, hidden_size=spec.hidden, proj_size=0,
                         num_layers=t.num_layers, bidirectional=t.bidirectional, peepholes=False)
    shape = model.shape(spec.cell)
    k, bits = _gate_block(spec.block_size), _BITS[spec.quant]
    dev, power = fpga_device(device), _power(device)
    base = CirculantDesign(block_gate=k, block_proj=k, weight_bits=bits, data_bits=bits, name=spec.trial_id)
    try:
        report = evaluate(shape, size_for_device(shape, base, dev, power), dev, power)
    except ValueError:
        return {"frames_per_s": 0.0, "power_w": 0.0, "frames_per_s_per_w": 0.0, "fpga_device": device}
    return {"frames_per_s": report.frames_per_s, "power_w": report.power_w,
            "frames_per_s_per_w": report.frames_per_s_per_w, "fpga_device": device}


def _worker_runner(train: Any, admm: Any, out_dir: str, threads: int | None) -> TrialRunner:
    """A worker process's runner (``threads``: its torch threads, so that jobs x threads <= cores)."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    return TrialRunner(train, admm, out_dir)


@functools.cache
def _power(device: str) -> Any:
    from rnnaccel.hw.fpga.compare import ese_calibrated_power

    return ese_calibrated_power(device)


class Sweep:
    """Runs ``config``'s strategy with ``runner`` (default: a :class:`TrialRunner` on its settings).

    ``on_trial(row, cached)`` is called after each trial the strategy asks for. ``storage``: see
    :func:`rnnaccel.study.storage_for`; ``jobs``/``backend``/``address``: where trials run (worker
    processes build their runner with ``factory``, default a :class:`TrialRunner` like the default
    ``runner``, with ``threads`` torch threads); ``sampler``: ``None`` for the config's strategy, else
    ``tpe``/``nsga2``/``grid`` (the full strategy).
    """

    def __init__(self, config: CompressConfig, runner: Any = None,
                 on_trial: Callable[[dict, bool], None] | None = None, *, storage: str | None = None,
                 jobs: int = 1, backend: str = "local", address: str | None = None,
                 factory: Callable[[], Any] | None = None, sampler: str | None = None,
                 threads: int | None = None) -> None:
        from rnnaccel.study import StudyRunner, make_backend, make_sampler, open_study
        from rnnaccel.study.storage import storage_for

        self.config = config
        self.runner = runner or TrialRunner(config.train, config.admm, config.out_dir)
        factory = factory or functools.partial(_worker_runner, config.train, config.admm, config.out_dir,
                                               threads)
        self.task = CompressTask(config, self.runner)
        self.storage = storage or f"{config.out_dir}/study.journal"
        self.sampler_name = sampler
        if sampler == "grid":  # the full grid: Phase I's plan-driven full strategy
            config = self.config = config.model_copy(update={"strategy": "full"})
            sampler = None
        self.sampler = sampler
        study = open_study("compress", storage_for(storage, config.out_dir), DIRECTIONS,
                           make_sampler(sampler) if sampler else None)
        local_worker = self.runner if backend == "local" and jobs == 1 else None
        self.backend = make_backend(backend, factory, jobs, address, worker=local_worker)
        self.study = StudyRunner(study, self.task, self.backend, on_trial)

    def _run(self, spec: TrialSpec) -> dict:
        return self.study.run([spec])[0]

    def run(self, n_trials: int | None = None) -> dict:
        """Run the strategy (or ``n_trials`` sampled trials); returns and writes the summary."""
        try:
            rows = self._rows(n_trials)
        finally:
            self.backend.close()
        return self._summary(rows)

    def _rows(self, n_trials: int | None) -> list[dict]:
        c = self.config
        if self.sampler is not None:
            baseline = self._run(TrialSpec(c.grid.reference_cell, c.grid.reference_hidden))
            rows = self.study.sample(n_trials or 20, batch=self.backend.jobs)
            return [baseline, *rows]
        if c.strategy == "full":
            return run_full(c.grid, self._run, self.study.run)
        return reduced_search(c.grid, self._run, c.max_per_degradation, c.cost, self.runner.estimate,
                              self.study.run)

    def _summary(self, rows: list[dict]) -> dict:
        c = self.config
        ref = TrialSpec(c.grid.reference_cell, c.grid.reference_hidden).trial_id
        base = next(r["per"] for r in rows if r["trial"] == ref)
        best = select_cheapest(rows, base, c.max_per_degradation, c.cost)
        summary = {"baseline_per": base, "selected": None if best is None else best["trial"],
                   "trials_run": len(set(self.study.used)), "full_grid_trials": len(full_plan(c.grid)),
                   "table": [_brief(r, base) for r in rows], "warnings": _warnings(base),
                   "notes": list(self.study.notes), "study": {"storage": self.storage, "name": "compress",
                                                              "sampler": self.sampler_name or c.strategy}}
        _write(c.results, {"config": c.model_dump(), "summary": summary, "trials": rows})  # Phase1Result
        return summary


def _write(path: str, payload: dict) -> None:
    """Write the typed Phase I result (rnnaccel.compress.result; strict JSON, atomic, 0644)."""
    from rnnaccel.compress.result import Phase1Result, trial_from_row

    trials = [trial_from_row(row) for row in payload["trials"]]
    Phase1Result(config=payload["config"], summary=payload["summary"], trials=trials).write(path)


def _warnings(base: float) -> list[str]:
    if base >= 0.9:
        return [f"the reference dense model has PER {100 * base:.1f}%: it has not learned, so the "
                f"degradations and the selection mean nothing (train longer or on more data)"]
    return []


def _brief(row: dict, base: float) -> dict:
    keys = ("trial", "per", "params", "storage_bytes", "mults_per_frame", "frames_per_s_per_w")
    return {**{k: row.get(k) for k in keys}, "per_degradation": round(degradation(row, base), 3)}
