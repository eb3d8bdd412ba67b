"""Issue 13 item 2, the study: ADMM vs direct training from the projection vs direct training from
scratch (C-LSTM's way) vs ESE 90 % pruning, for LSTM and GRU, block sizes k = 4, 8, 16, at equal total
epoch budgets of 12, 24 and 48 epochs, two seeds each, PER on the held-out-voice test split.

    nice -n 19 python benchmarks/compress_study.py run --out /tmp/study/runs \\
        --corpus data/synth-timit --cache cache/features          # one worker; start two for 2 cores
    python benchmarks/compress_study.py plan  --out /tmp/study/runs   # jobs done / running / left
    python benchmarks/compress_study.py table --out /tmp/study/runs   # markdown, mean ± half-range
    nice -n 19 python benchmarks/compress_study.py quant --out /tmp/study/runs --corpus ... --cache ...
    # the decisive cell at the flow's scale (FLOW), budgets in priority order, its own out dir:
    nice -n 19 python benchmarks/compress_study.py run --scale flow --cell lstm --k 8 --budget 24,12 \
        --out results/study_flow

The full grid at the flow's scale (2×128 BiLSTM, 1,400 training utterances) is ~4,000 epochs; it cannot
run on a shared 2-core machine in a session, so this script runs it at a **proxy scale** (``PROXY``,
fixed before any run): a smaller network, an evenly strided subset of the training utterances (every
voice of the training split), a 30-utterance dev subset for the per-epoch curves, and the **whole**
400-utterance held-out-voice test split for every reported PER. ``--scale flow`` (``FLOW``) runs any part
of the grid (``--cell``, ``--k``, ``--budget``, ``--method``) at the flow's scale instead: the training
config of ``configs/train_bilstm.toml`` (2 × 128 BiLSTM, dropout 0.2, batch 8, Adam 3e-3 for every
stage, clip 1, the flow's augmentation with VTLP warp 0.15, all training and dev utterances) and the
flow's distillation weight 1.0 for every stage that starts from a dense model (ADMM, direct, pruning;
the teacher is that dense snapshot), none for scratch (no dense model inside its budget). An out dir
holds one scale (``OUT/scale.json``), so proxy and flow rows never mix.

Equal budgets. A budget B counts every epoch that makes the model: for the methods that start from a
dense model (ADMM, direct from the projection, pruning) B/2 dense epochs + B/2 compression epochs
(ADMM: W-steps + fine-tuning); direct from scratch trains the circulant model for all B epochs. The
dense model of a (cell, seed) is one run at a constant learning rate whose snapshots at 6, 12, 24 and
48 epochs start the budgets 12, 24 and 48 (and are the dense reference of each budget at B epochs).
Compression stages use the flow's recipe (Adam, clip 1, cosine LR over the stage, the flow's
augmentation), one learning rate for every stage, 1e-2 (the proxy has few steps per epoch: at the
flow's 3e-3 a 1 × 64 BiLSTM on 400 utterances was at 85 % dev PER after 6 epochs, at 1e-2 on 600
utterances 72 %). A variant with the flow's 3e-3 for the stages that start from a trained model
(``finetune_lr``) was run on part of budget 12 and was worse for every method it ran (docs/compress.md);
its rows are kept apart. ADMM uses ``ADMMSchedule`` (proximal W-step, LR reset per iteration and ×0.1
in its last epoch, fresh Adam for fine-tuning) with iterations = B/6, 2 epochs per iteration, B/6 fine-tuning
epochs (B = 12: the default 2 × 2 + 2) and ρ₀ scaled so that the proximal pull per *epoch* equals the
default's at the flow's 175 steps per epoch (the pull is per optimizer step; the proxy has fewer steps).

Jobs are files: ``OUT/jobs/<id>.json`` (written atomically) when done, ``OUT/claims/<id>`` while a
worker runs it (a claim whose process is gone is taken over), so any number of workers share the grid
and a killed worker loses only its current job. Jobs run in priority order: the budgets in the order
given (default 12, 24, 48); within a budget per k (8 first) ADMM and direct, then scratch, pruning after
the first k; the dense references at B epochs last.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import time
from pathlib import Path

import torch

from rnnaccel.io import process_alive, write_json_atomic

PROXY = {
    "hidden": 64, "num_layers": 1, "bidirectional": True, "dropout": 0.0,
    "train_utterances": 240, "dev_utterances": 30, "batch_size": 8, "lr": 1e-2, "clip": 1.0,
    "finetune_lr": 1e-2,  # stages that start from a trained model: the same LR (see the docstring)
    "distill": 0.0,
    "cmvn": "utterance",
    "augment": {"speed": [0.9, 1.0, 1.1], "time_masks": 2, "time_mask_frames": 10, "freq_masks": 1,
                "freq_mask_bins": 6},
    "prune_sparsity": 0.9, "prune_n_pe": 8,
    "flow_steps_per_epoch": 175,  # 1,400 training utterances / batch 8 (configs/train_bilstm.toml)
}
# The flow's scale (configs/train_bilstm.toml, fixed before any run): 2 × 128 bidirectional, dropout 0.2,
# batch 8, Adam 3e-3, clip 1, the flow's augmentation with VTLP warp 0.15, all 1,400 training and all
# dev utterances (None: no subset). distill 1.0 as the flow's direct stage, for every stage that starts
# from a dense model (ADMM's W-steps and fine-tuning, direct, pruning's fine-tuning), the teacher being
# that dense snapshot (its epochs are in the budget); scratch has no dense model inside its budget.
FLOW = {
    "hidden": 128, "num_layers": 2, "bidirectional": True, "dropout": 0.2,
    "train_utterances": None, "dev_utterances": None, "batch_size": 8, "lr": 3e-3, "clip": 1.0,
    "finetune_lr": 3e-3, "distill": 1.0,
    "cmvn": "utterance",
    "augment": {"warp": 0.15, "speed": [0.9, 1.0, 1.1], "time_masks": 2, "time_mask_frames": 10,
                "freq_masks": 1, "freq_mask_bins": 6},
    "prune_sparsity": 0.9, "prune_n_pe": 8,
    "flow_steps_per_epoch": 175,
}
SCALES = {"proxy": PROXY, "flow": FLOW}
BUDGETS = (12, 24, 48)
BLOCKS = (8, 4, 16)
CELLS = ("lstm", "gru")
SEEDS = (0, 1)
METHODS = ("admm", "direct", "scratch", "prune")


# ----------------------------------------------------------------------------------------- the grid
def dense_id(cell: str, seed: int, epochs: int) -> str:
    return f"dense-{cell}-s{seed}-e{epochs}"


def job_id(method: str, cell: str, k: int | None, budget: int, seed: int) -> str:
    return f"{method}-{cell}{'' if k is None else f'-k{k}'}-b{budget}-s{seed}"


def dense_chain(budgets: tuple[int, ...]) -> list[int]:
    """The snapshots of one constant-LR dense run: B/2 (a budget's start) and B (its reference)."""
    return sorted({b // 2 for b in budgets} | set(budgets))


def jobs(cells: tuple[str, ...] = CELLS, blocks: tuple[int, ...] = BLOCKS,
         budgets: tuple[int, ...] = BUDGETS, methods: tuple[str, ...] = METHODS) -> list[dict]:
    """Every job of the (restricted) grid in priority order, each with the jobs it needs (``deps``):
    budgets in the order given; within one, per k ADMM and direct (every cell and seed), then scratch;
    pruning after the first k; the dense references at B epochs last."""
    out: list[dict] = []
    chain = dense_chain(budgets)

    def dense(cell, seed, e):
        for i, d in enumerate(chain[: chain.index(e) + 1]):
            if not any(j["id"] == dense_id(cell, seed, d) for j in out):
                deps = [dense_id(cell, seed, chain[i - 1])] if i else []
                out.append({"id": dense_id(cell, seed, d), "kind": "dense", "cell": cell, "seed": seed,
                            "epochs": d, "deps": deps})

    def add(method, cell, k, budget, seed):
        if method in methods:
            deps = [] if method == "scratch" else [dense_id(cell, seed, budget // 2)]
            out.append({"id": job_id(method, cell, k, budget, seed), "kind": method, "cell": cell,
                        "seed": seed, "k": k, "budget": budget, "deps": deps})

    for budget in budgets:
        for cell in cells:
            for seed in SEEDS:
                dense(cell, seed, budget // 2)
        for n, k in enumerate(blocks):
            for group in (("admm", "direct"), ("scratch",)):
                for cell in cells:
                    for seed in SEEDS:
                        for method in group:
                            add(method, cell, k, budget, seed)
            if n == 0:
                for cell in cells:
                    for seed in SEEDS:
                        add("prune", cell, None, budget, seed)
    for budget in budgets:  # the dense reference at the whole budget
        for cell in cells:
            for seed in SEEDS:
                dense(cell, seed, budget)
    return out


def admm_schedule(budget: int, steps_per_epoch: int):
    """The ADMM schedule of a budget: B/2 compression epochs = (B/6) iterations × 2 + B/6 fine-tuning;
    ρ₀ such that the proximal pull per epoch equals the default's at the flow's steps per epoch (at
    the flow's scale: the default ρ₀ itself)."""
    from rnnaccel.compress import ADMMSchedule

    default = ADMMSchedule()
    n = budget // 6
    flow_steps = PROXY["flow_steps_per_epoch"]
    pull = 1.0 - (1.0 - default.rho0) ** flow_steps  # fraction of W - (Z - U) per epoch
    rho0 = default.rho0 if steps_per_epoch == flow_steps else 1.0 - (1.0 - pull) ** (1.0 / steps_per_epoch)
    return ADMMSchedule(iterations=n, epochs_per_iteration=2, finetune_epochs=n, rho0=rho0)


# ------------------------------------------------------------------------------------ running jobs
class Worker:
    def __init__(self, out: Path, corpus: str, cache: str | None, scale: str = "proxy") -> None:
        if scale not in SCALES:
            raise ValueError(f"scale {scale!r}: expected one of {sorted(SCALES)}")
        self.out, self.corpus, self.cache = out, corpus, cache
        self.scale, self.settings = scale, SCALES[scale]
        self._data = None

    def config(self, cell: str, seed: int, epochs: int, out_dir: Path, lr: str = "cosine",
               block_size: int | None = None, base_lr: float | None = None):
        from rnnaccel.train import Config

        p = self.settings
        return Config.model_validate({
            "data": {"corpus": self.corpus, "cache_dir": self.cache, "eval_splits": ["dev", "test"],
                     "cmvn": p["cmvn"]},
            "model": {"cell": cell, "hidden_size": p["hidden"], "num_layers": p["num_layers"],
                      "bidirectional": p["bidirectional"], "dropout": p["dropout"], "block_size": block_size},
            "optim": {"epochs": epochs, "batch_size": p["batch_size"], "lr": base_lr or p["lr"],
                      "clip": p["clip"], "seed": seed, "distill": p["distill"]},
            "augment": p["augment"], "schedule": {"lr": lr}, "out_dir": str(out_dir)})

    def data(self) -> tuple:
        """(train set, {"dev": dev set}, stats) for training (evenly strided subsets where the scale
        sets a number of utterances), and the whole test split."""
        if self._data is None:
            from rnnaccel.train import load_data

            train, evals, stats = load_data(self.config("lstm", 0, 1, self.out / "tmp"))
            p = self.settings
            sub = _stride(train, p["train_utterances"])
            self._data = ((sub, {"dev": _stride(evals["dev"], p["dev_utterances"])}, stats), evals["test"])
        return self._data

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data()[0][0]) / self.settings["batch_size"])

    def test_per(self, model) -> float:
        from rnnaccel.train import evaluate

        return round(evaluate(model, self.data()[1]), 5)

    def dense_model(self, cell: str, seed: int, epochs: int):
        from rnnaccel.compress.pipeline import load_model

        cfg = self.config(cell, seed, epochs, self.out / "tmp")
        return load_model(cfg, self.data()[0][0].feats[0].shape[1], None,
                          self.out / "models" / f"{dense_id(cell, seed, epochs)}.safetensors")

    def run(self, job: dict) -> dict:
        from rnnaccel.compress import model_cost
        from rnnaccel.compress.pipeline import save_model

        torch.set_num_threads(1)
        data = self.data()[0]
        t0, load0 = time.perf_counter(), os.getloadavg()[0]
        row = {k: job[k] for k in ("id", "kind", "cell", "seed") if k in job}
        work = self.out / "work" / job["id"]
        if job["kind"] == "dense":
            model, stages, first = self._dense(job, data)
            row |= {"epochs": job["epochs"], "k": None, "first_epoch": first}
        else:
            row |= {"budget": job["budget"], "k": job.get("k")}
            flow = self._compress(job, data, work, row)
            model, stages = flow.model, flow.stages
        save_model(model, self.out / "models" / f"{job['id']}.safetensors")
        cost = model_cost(model, 32, sparse=job["kind"] == "prune")
        row |= {"per": self.test_per(model), "stages": stages, **cost.as_dict(),
                "seconds": round(time.perf_counter() - t0, 1),
                "epoch_seconds": _epoch_seconds(work, stages, row.get("first_epoch", 1)),
                "load_average": [round(load0, 2), round(os.getloadavg()[0], 2)],
                "scale": self.scale, "settings": self.settings}
        return row

    def _dense(self, job: dict, data: tuple):
        """The constant-LR dense run of a (cell, seed) continued to ``job["epochs"]`` (resume)."""
        from rnnaccel.train import train

        cell, seed = job["cell"], job["seed"]
        run_dir = self.out / "work" / f"dense-{cell}-s{seed}"
        ckpt = run_dir / "checkpoint.json"
        first = json.loads(ckpt.read_text())["epoch"] + 1 if ckpt.exists() else 1
        result = train(self.config(cell, seed, job["epochs"], run_dir, lr="constant"), data=data, resume=True)
        return result.model, {"dense": [r.__dict__ for r in result.history]}, first

    def _compress(self, job: dict, data: tuple, work: Path, row: dict):
        """One compression job; the dense-started methods get their dense snapshot as the teacher
        (used when the scale's ``distill`` > 0)."""
        from rnnaccel.compress.pipeline import admm_flow, direct_flow, prune_flow

        cell, seed, kind, k, budget = job["cell"], job["seed"], job["kind"], job.get("k"), job["budget"]
        half = budget // 2
        if kind == "scratch":
            torch.manual_seed(seed)
            cfg = self.config(cell, seed, budget, work, block_size=k)
            return direct_flow(None, cfg, k, budget, data, work)
        dense = self.dense_model(cell, seed, half)
        cfg = self.config(cell, seed, half, work, base_lr=self.settings["finetune_lr"])
        if kind == "direct":
            return direct_flow(dense, cfg, k, half, data, work)
        if kind == "admm":
            schedule = admm_schedule(budget, self.steps_per_epoch())
            row["admm_schedule"] = schedule.model_dump()
            flow = admm_flow(dense, cfg, k, schedule, None, data, work, teacher=dense)
            row["admm_residuals"] = [round(e.residual, 6) for e in flow.admm_log]
            row["admm_rho"] = [e.rho for e in flow.admm_log]
            return flow
        p = self.settings
        return prune_flow(dense, cfg, p["prune_sparsity"], p["prune_n_pe"], half, data, work, teacher=dense)


def _stride(d, n: int | None):
    """An evenly strided subset of ``n`` utterances of a dataset (None: all of it)."""
    from rnnaccel.train.loop import Dataset

    if n is None or n >= len(d):
        return d
    idx = [math.floor(i * len(d) / n) for i in range(n)]
    raw = None if d.raw is None else [d.raw[i] for i in idx]
    return Dataset(d.split, [d.feats[i] for i in idx], [d.frames[i] for i in idx],
                   [d.phones[i] for i in idx], raw, d.stats)


def _epoch_seconds(work: Path, stages: dict, first_epoch: int = 1) -> list[float]:
    """Wall seconds of every epoch a job trained (train's checkpoint histories; dense: its stage's
    epochs from ``first_epoch``, the earlier ones being a previous snapshot's job)."""
    if "dense" in stages:
        return [r["seconds"] for r in stages["dense"] if r["epoch"] >= first_epoch]
    out = []
    for path in sorted(work.glob("*/checkpoint.json")):
        out += [r["seconds"] for r in json.loads(path.read_text())["history"]]
    return out


def _claim(out: Path, jid: str) -> bool:
    """Claim a job (O_EXCL file with host:pid); a claim of a process that is gone is taken over."""
    path = out / "claims" / jid
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        host, _, pid = path.read_text().partition(":")
        if host != socket.gethostname() or not pid.isdigit() or process_alive(int(pid)):
            return False
        path.unlink(missing_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(f"{socket.gethostname()}:{os.getpid()}")
    return True


def _done(out: Path) -> set[str]:
    return {p.stem for p in (out / "jobs").glob("*.json")}


def _claimed(out: Path) -> set[str]:
    d = out / "claims"
    return {p.name for p in d.iterdir()} if d.is_dir() else set()


def check_scale(out: Path, scale: str) -> None:
    """Stamp ``OUT/scale.json`` on first use; another scale's out dir is a ValueError (rows of two
    scales never mix)."""
    path = out / "scale.json"
    if path.exists():
        found = json.loads(path.read_text()).get("scale")
        if found != scale:
            raise ValueError(f"{path}: this out dir holds the {found!r} scale's jobs, not {scale!r}; "
                             "use another --out")
        return
    write_json_atomic(path, {"scale": scale, "settings": SCALES[scale]})


def scale_of(out: Path) -> str:
    path = out / "scale.json"
    return json.loads(path.read_text())["scale"] if path.exists() else "proxy"  # older dirs: proxy


def run_worker(out: Path, corpus: str, cache: str | None, grid: dict | None = None,
               scale: str = "proxy") -> None:
    """Run jobs of ``jobs(**grid)`` until none is left (waiting for jobs another worker runs)."""
    worker = Worker(out, corpus, cache, scale)
    check_scale(out, scale)
    (out / "jobs").mkdir(parents=True, exist_ok=True)
    while True:
        done = _done(out)
        todo = [j for j in jobs(**(grid or {})) if j["id"] not in done]
        if not todo:
            print("all jobs done", flush=True)
            return
        ready = [j for j in todo if all(d in done for d in j["deps"])]
        job = next((j for j in ready if _claim(out, j["id"])), None)
        if job is None:
            time.sleep(15)
            continue
        try:
            row = worker.run(job)
            write_json_atomic(out / "jobs" / f"{job['id']}.json", row)
            print(f"{time.strftime('%H:%M:%S')} {job['id']}: test PER {100 * row['per']:.2f} % "
                  f"({row['seconds']} s)", flush=True)
        finally:
            (out / "claims" / job["id"]).unlink(missing_ok=True)


# ----------------------------------------------------------------------------------------- reports
def load_rows(out: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted((out / "jobs").glob("*.json"))}


def _cell(values: list[float], digits: int = 1) -> str:
    """mean ± half the range over seeds (n = 2: the two seeds are mean ± spread); n noted if < 2."""
    if not values:
        return "—"
    m = statistics.fmean(values)
    if len(values) == 1:
        return f"{100 * m:.{digits}f} (1 seed)"
    return f"{100 * m:.{digits}f} ± {50 * (max(values) - min(values)):.{digits}f}"


def _pers(rows: dict[str, dict], ids) -> list[float]:
    return [rows[i]["per"] for i in ids if i in rows]


def table(out: Path, grid: dict | None = None) -> str:
    """Markdown: per cell, test PER % of every method, budget and k (mean ± half-range over seeds)."""
    rows, g = load_rows(out), {"cells": CELLS, "blocks": BLOCKS, "budgets": BUDGETS} | (grid or {})
    digits = 2 if scale_of(out) == "flow" else 1
    lines = []
    for cell in g["cells"]:
        lines += [f"\n**{cell.upper()}** — test PER % (mean ± half-range over seeds {list(SEEDS)})\n",
                  "| budget | dense (B epochs) | k | ADMM | direct (projection) | direct (scratch) "
                  "| prune 90 % (ESE) |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for budget in sorted(g["budgets"]):
            ref = _pers(rows, (dense_id(cell, s, budget) for s in SEEDS))
            prune = _pers(rows, (job_id("prune", cell, None, budget, s) for s in SEEDS))
            for n, k in enumerate(sorted(g["blocks"])):
                vals = [_pers(rows, (job_id(m, cell, k, budget, s) for s in SEEDS))
                        for m in ("admm", "direct", "scratch")]
                lines.append(f"| {budget} | {_cell(ref, digits) if n == 0 else ''} | {k} | "
                             + " | ".join(_cell(v, digits) for v in vals)
                             + f" | {_cell(prune, digits) if n == 0 else ''} |")
    starts = []
    for cell in g["cells"]:
        for e in dense_chain(tuple(g["budgets"])):
            v = _pers(rows, (dense_id(cell, s, e) for s in SEEDS))
            if v:
                starts.append(f"{cell.upper()} {e} epochs {_cell(v, digits)}")
    lines.append("\nDense snapshots (test PER %): " + "; ".join(starts))
    return "\n".join(lines) + "\n"


def seed_table(out: Path) -> str:
    """Markdown: one line per finished (method, cell, k, budget) with each seed's test PER, mean ±
    half-range, the job's training epochs and median wall seconds per epoch."""
    rows = load_rows(out)
    groups: dict[tuple, dict[int, dict]] = {}
    for r in rows.values():
        key = (r["cell"], r.get("budget", r.get("epochs")), r["kind"], r.get("k"))
        groups.setdefault(key, {})[r["seed"]] = r
    lines = ["| cell | budget | method | k | " + " | ".join(f"seed {s}" for s in SEEDS)
             + " | mean ± half-range | epochs | s/epoch (median) |",
             "|---|---:|---|---:|" + "---:|" * len(SEEDS) + "---:|---:|---:|"]
    for (cell, budget, kind, k), by_seed in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1],
                                                   METHODS.index(kv[0][2]) if kv[0][2] in METHODS else -1)):
        secs = [x for r in by_seed.values() for x in _job_epochs(r)]
        per = [f"{100 * by_seed[s]['per']:.2f}" if s in by_seed else "—" for s in SEEDS]
        label = "dense (constant LR)" if kind == "dense" else kind
        lines.append(f"| {cell.upper()} | {budget} | {label} | {k or '—'} | " + " | ".join(per)
                     + f" | {_cell([r['per'] for r in by_seed.values()], 2)} | "
                     + f"{len(_job_epochs(next(iter(by_seed.values()))))} | "
                     + (f"{statistics.median(secs):.1f}" if secs else "—") + " |")
    return "\n".join(lines) + "\n"


def _job_epochs(row: dict) -> list[float]:
    """Seconds of the epochs a job trained (a dense job: those after the previous snapshot)."""
    return row.get("epoch_seconds", [])


def plan(out: Path, grid: dict | None = None) -> str:
    done, claimed = _done(out), _claimed(out)
    all_jobs = jobs(**(grid or {}))
    epochs_of = {j["id"]: j["epochs"] for j in all_jobs if j["kind"] == "dense"}

    def epochs(j: dict) -> int:
        if j["kind"] == "dense":
            return j["epochs"] - (epochs_of[j["deps"][0]] if j["deps"] else 0)
        return j["budget"] if j["kind"] == "scratch" else j["budget"] // 2

    left = [j for j in all_jobs if j["id"] not in done]
    return (f"{len(all_jobs) - len(left)}/{len(all_jobs)} jobs done, running: {sorted(claimed)}; epochs left "
            f"{sum(epochs(j) for j in left)} of {sum(epochs(j) for j in all_jobs)}; next: "
            f"{[j['id'] for j in left if j['id'] not in claimed][:4]}")


# ------------------------------------------------------------------------- 16/12-bit rows at k = 8
def best_k8(rows: dict[str, dict], cell: str, method: str) -> dict | None:
    """The best (lowest test PER) finished k = 8 model of a method and cell (prune: any k)."""
    cands = [r for r in rows.values() if r["kind"] == method and r["cell"] == cell
             and (method == "prune" or r.get("k") == 8)]
    return min(cands, key=lambda r: (r["per"], -r["budget"])) if cands else None


def engine_per(wrapped, test) -> dict:
    """PER of the integer engine (``rnnaccel.ref``, compiled) on the whole test split and its
    bit-exactness against the fake-quant torch model on 4 utterances (the flow's check)."""
    from types import SimpleNamespace

    from rnnaccel.flow import _ref_check

    return _ref_check(SimpleNamespace(check_utterances=4), wrapped, test, lambda _msg: None)


def run_quant(out: Path, corpus: str, cache: str | None, qat_epochs: int, only: str | None = None) -> None:
    """Post-training 16/12-bit quantization (PER of the integer engine on the whole test split) and,
    when ``qat_epochs`` > 0, QAT (at the fine-tuning LR) of the best k = 8 model per method and cell;
    writes OUT/quant.json (OUT/quant-<cell>.json with ``only``)."""
    from rnnaccel.compress.pipeline import load_model, qat_flow
    from rnnaccel.quant.recognizer import QuantRecognizer, quant_preset

    torch.set_num_threads(1)
    worker, rows = Worker(out, corpus, cache, scale_of(out)), load_rows(out)
    path = out / ("quant.json" if only is None else f"quant-{only}.json")
    done = json.loads(path.read_text()) if path.exists() else {}
    for cell in CELLS if only is None else (only,):
        for method in ("admm", "direct", "scratch", "prune"):
            best = best_k8(rows, cell, method)
            if best is None:
                continue
            k = best.get("k")
            cfg = worker.config(cell, best["seed"], 1, out / "tmp", block_size=k)
            model = load_model(cfg, 39, k, out / "models" / f"{best['id']}.safetensors")
            for preset in ("16bit", "12bit"):
                key = f"{best['id']}-{preset}"
                if key in done and (qat_epochs == 0 or "qat_per" in done[key]):
                    continue
                t0 = time.perf_counter()
                ptq = engine_per(QuantRecognizer(model, quant_preset(preset)), worker.data()[1])
                entry = {"id": best["id"], "cell": cell, "method": method, "k": k, "preset": preset,
                         "float_per": best["per"], "ptq_per": ptq["per_integer_engine"],
                         "ptq_bit_exact": ptq["bit_exact"], "ptq_overflows": sum(ptq["overflows"].values())}
                if qat_epochs:
                    qcfg = worker.config(cell, best["seed"], qat_epochs, out / "work" / key,
                                         base_lr=worker.settings["finetune_lr"])
                    flow = qat_flow(model, qcfg, quant_preset(preset), qat_epochs, worker.data()[0],
                                    out / "work" / key)
                    qat = engine_per(flow.model, worker.data()[1])
                    entry |= {"qat_epochs": qat_epochs, "qat_per": qat["per_integer_engine"],
                              "qat_bit_exact": qat["bit_exact"], "qat_stages": flow.stages}
                entry["seconds"] = round(time.perf_counter() - t0, 1)
                done[key] = entry
                write_json_atomic(path, done)
                print(json.dumps(entry), flush=True)


def quant_table(out: Path) -> str:
    paths = sorted(out.glob("quant*.json"))
    if not paths:
        return ""
    lines = ["| cell | method (best k = 8 model) | float | 16-bit PTQ | 16-bit QAT | 12-bit PTQ "
             "| 12-bit QAT |",
             "|---|---|---:|---:|---:|---:|---:|"]
    done = {k: v for p in paths for k, v in json.loads(p.read_text()).items()}
    by = {}
    for e in done.values():
        by.setdefault((e["cell"], e["method"], e["id"]), {})[e["preset"]] = e
    for (cell, method, jid), d in by.items():
        cols = [f"{100 * d[p][key]:.1f}" if p in d and key in d[p] else "—"
                for p in ("16bit", "12bit") for key in ("ptq_per", "qat_per")]
        first = next(iter(d.values()))
        lines.append(f"| {cell.upper()} | {method} ({jid}) | {100 * first['float_per']:.1f} | "
                     + " | ".join(cols) + " |")
    return "\n".join(lines) + "\n"


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers, e.g. 24,12") from None


def _names(choices: tuple[str, ...]):
    def parse(text: str) -> tuple[str, ...]:
        names = tuple(text.split(","))
        bad = [n for n in names if n not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"{','.join(bad)}: expected some of {','.join(choices)}")
        return names
    return parse


def grid_of(args: argparse.Namespace) -> dict:
    """The restriction of the grid named on the command line (what is not named: the whole grid)."""
    g = {"cells": args.cell, "blocks": args.k, "budgets": args.budget, "methods": args.method}
    bad = [(n, v) for n, v, full in (("--k", args.k, BLOCKS), ("--budget", args.budget, BUDGETS))
           if v is not None and not set(v) <= set(full)]
    if bad:
        raise SystemExit(f"{bad[0][0]} {','.join(map(str, bad[0][1]))}: the study's grid has {bad[0][0]} "
                         f"in {BLOCKS if bad[0][0] == '--k' else BUDGETS}")
    return {k: v for k, v in g.items() if v is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "plan", "table", "quant"])
    parser.add_argument("--scale", choices=sorted(SCALES), default="proxy",
                        help="run: PROXY (default) or FLOW settings; the out dir records it")
    parser.add_argument("--out", type=Path, default=None,
                        help="default runs/compress_study (proxy), runs/compress_study_flow (flow)")
    parser.add_argument("--corpus", default="data/synth-timit")
    parser.add_argument("--cache", default="cache/features")
    parser.add_argument("--cell", type=_names(CELLS), default=None, help="e.g. lstm or lstm,gru")
    parser.add_argument("--k", type=_ints, default=None, help="block sizes, e.g. 8 or 8,4")
    parser.add_argument("--budget", type=_ints, default=None,
                        help="budgets in priority order, e.g. 24,12 (default 12,24,48)")
    parser.add_argument("--method", type=_names(METHODS), default=None, help="e.g. admm,direct")
    parser.add_argument("--qat-epochs", type=int, default=0)
    args = parser.parse_args()
    out = args.out or Path("runs/compress_study" + ("" if args.scale == "proxy" else f"_{args.scale}"))
    grid = grid_of(args)
    if args.mode == "run":
        run_worker(out, args.corpus, args.cache, grid, args.scale)
    elif args.mode == "plan":
        print(plan(out, grid))
    elif args.mode == "table":
        print(table(out, grid))
        print(seed_table(out))
        print(quant_table(out))
    else:
        only = None if args.cell is None else args.cell[0]
        run_quant(out, args.corpus, args.cache, args.qat_epochs, only)


if __name__ == "__main__":
    main()
