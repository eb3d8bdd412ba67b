"""Issue 13 item 2, the study: ADMM vs direct training from the projection vs direct training from
scratch (C-LSTM's way) vs ESE 90 % pruning, for LSTM and GRU, block sizes k = 4, 8, 16, at equal total
epoch budgets of 12, 24 and 48 epochs, two seeds each, PER on the held-out-voice test split.

    nice -n 19 python benchmarks/compress_study.py run --out /tmp/study/runs \\
        --corpus data/synth-timit --cache cache/features          # one worker; start two for 2 cores
    python benchmarks/compress_study.py plan  --out /tmp/study/runs   # jobs done / running / left
    python benchmarks/compress_study.py table --out /tmp/study/runs   # markdown, mean ± half-range
    nice -n 19 python benchmarks/compress_study.py quant --out /tmp/study/runs --corpus ... --cache ...

The full grid at the flow's scale (2×128 BiLSTM, 1,400 training utterances) is ~4,000 epochs; it cannot
run on a shared 2-core machine in a session, so this script runs it at a **proxy scale** (``PROXY``,
fixed before any run): a smaller network, an evenly strided subset of the training utterances (every
voice of the training split), a 30-utterance dev subset for the per-epoch curves, and the **whole**
400-utterance held-out-voice test split for every reported PER.

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
and a killed worker loses only its current job. Jobs run in priority order: budget 12, then 24, then
48; within a budget k = 8 first.
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
    "cmvn": "utterance",
    "augment": {"speed": [0.9, 1.0, 1.1], "time_masks": 2, "time_mask_frames": 10, "freq_masks": 1,
                "freq_mask_bins": 6},
    "prune_sparsity": 0.9, "prune_n_pe": 8,
    "flow_steps_per_epoch": 175,  # 1,400 training utterances / batch 8 (configs/train_bilstm.toml)
}
BUDGETS = (12, 24, 48)
BLOCKS = (8, 4, 16)
CELLS = ("lstm", "gru")
SEEDS = (0, 1)
METHODS = ("admm", "direct", "scratch", "prune")
DENSE_EPOCHS = (6, 12, 24, 48)


# ----------------------------------------------------------------------------------------- the grid
def dense_id(cell: str, seed: int, epochs: int) -> str:
    return f"dense-{cell}-s{seed}-e{epochs}"


def job_id(method: str, cell: str, k: int | None, budget: int, seed: int) -> str:
    return f"{method}-{cell}{'' if k is None else f'-k{k}'}-b{budget}-s{seed}"


def jobs() -> list[dict]:
    """Every job in priority order, each with the jobs it needs (``deps``)."""
    out: list[dict] = []

    def dense(cell, seed, e):
        prev = [d for d in DENSE_EPOCHS if d < e]
        deps = [dense_id(cell, seed, prev[-1])] if prev else []
        out.append({"id": dense_id(cell, seed, e), "kind": "dense", "cell": cell, "seed": seed, "epochs": e,
                    "deps": deps})

    for budget in BUDGETS:
        half = budget // 2
        for cell in CELLS:
            for seed in SEEDS:
                if not any(j["id"] == dense_id(cell, seed, half) for j in out):
                    dense(cell, seed, half)
        for k in BLOCKS:
            for cell in CELLS:
                for seed in SEEDS:
                    for method in ("admm", "direct", "scratch"):
                        deps = [] if method == "scratch" else [dense_id(cell, seed, half)]
                        out.append({"id": job_id(method, cell, k, budget, seed), "kind": method, "cell": cell,
                                    "seed": seed, "k": k, "budget": budget, "deps": deps})
            if k == BLOCKS[0]:
                for cell in CELLS:
                    for seed in SEEDS:
                        out.append({"id": job_id("prune", cell, None, budget, seed), "kind": "prune",
                                    "cell": cell, "seed": seed, "k": None, "budget": budget,
                                    "deps": [dense_id(cell, seed, half)]})
        for cell in CELLS:  # the dense reference at the whole budget
            for seed in SEEDS:
                if not any(j["id"] == dense_id(cell, seed, budget) for j in out):
                    dense(cell, seed, budget)
    return out


def admm_schedule(budget: int, steps_per_epoch: int):
    """The ADMM schedule of a budget: B/2 compression epochs = (B/6) iterations × 2 + B/6 fine-tuning;
    ρ₀ such that the proximal pull per epoch equals the default's at the flow's steps per epoch."""
    from rnnaccel.compress import ADMMSchedule

    default = ADMMSchedule()
    n = budget // 6
    pull = 1.0 - (1.0 - default.rho0) ** PROXY["flow_steps_per_epoch"]  # fraction of W - (Z - U) per epoch
    rho0 = 1.0 - (1.0 - pull) ** (1.0 / steps_per_epoch)
    return ADMMSchedule(iterations=n, epochs_per_iteration=2, finetune_epochs=n, rho0=rho0)


# ------------------------------------------------------------------------------------ running jobs
class Worker:
    def __init__(self, out: Path, corpus: str, cache: str | None) -> None:
        self.out, self.corpus, self.cache = out, corpus, cache
        self._data = None

    def config(self, cell: str, seed: int, epochs: int, out_dir: Path, lr: str = "cosine",
               block_size: int | None = None, base_lr: float | None = None):
        from rnnaccel.train import Config

        p = PROXY
        return Config.model_validate({
            "data": {"corpus": self.corpus, "cache_dir": self.cache, "eval_splits": ["dev", "test"],
                     "cmvn": p["cmvn"]},
            "model": {"cell": cell, "hidden_size": p["hidden"], "num_layers": p["num_layers"],
                      "bidirectional": p["bidirectional"], "dropout": p["dropout"], "block_size": block_size},
            "optim": {"epochs": epochs, "batch_size": p["batch_size"], "lr": base_lr or p["lr"],
                      "clip": p["clip"], "seed": seed},
            "augment": p["augment"], "schedule": {"lr": lr}, "out_dir": str(out_dir)})

    def data(self) -> tuple:
        """(train subset, {"dev": dev subset}, stats) for training, and the whole test split."""
        if self._data is None:
            from rnnaccel.train import load_data
            from rnnaccel.train.loop import Dataset

            train, evals, stats = load_data(self.config("lstm", 0, 1, self.out / "tmp"))

            def stride(d, n):
                idx = [math.floor(i * len(d) / n) for i in range(min(n, len(d)))]
                raw = None if d.raw is None else [d.raw[i] for i in idx]
                return Dataset(d.split, [d.feats[i] for i in idx], [d.frames[i] for i in idx],
                               [d.phones[i] for i in idx], raw, d.stats)

            sub = stride(train, PROXY["train_utterances"])
            self._data = ((sub, {"dev": stride(evals["dev"], PROXY["dev_utterances"])}, stats), evals["test"])
        return self._data

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data()[0][0]) / PROXY["batch_size"])

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
        from rnnaccel.compress.pipeline import admm_flow, direct_flow, prune_flow, save_model
        from rnnaccel.train import train

        torch.set_num_threads(1)
        data = self.data()[0]
        t0 = time.perf_counter()
        cell, seed, kind = job["cell"], job["seed"], job["kind"]
        row = {k: job[k] for k in ("id", "kind", "cell", "seed") if k in job}
        work = self.out / "work" / job["id"]
        if kind == "dense":
            run_dir = self.out / "work" / f"dense-{cell}-s{seed}"
            cfg = self.config(cell, seed, job["epochs"], run_dir, lr="constant")
            result = train(cfg, data=data, resume=True)
            model, stages = result.model, {"dense": [r.__dict__ for r in result.history]}
            row |= {"epochs": job["epochs"], "k": None}
            save_model(model, self.out / "models" / f"{job['id']}.safetensors")
        else:
            budget, k = job["budget"], job.get("k")
            half = budget // 2
            row |= {"budget": budget, "k": k}
            if kind == "scratch":
                torch.manual_seed(seed)
                cfg = self.config(cell, seed, budget, work, block_size=k)
                flow = direct_flow(None, cfg, k, budget, data, work)
            else:
                dense = self.dense_model(cell, seed, half)
                cfg = self.config(cell, seed, half, work, base_lr=PROXY["finetune_lr"])
                if kind == "direct":
                    flow = direct_flow(dense, cfg, k, half, data, work)
                elif kind == "admm":
                    schedule = admm_schedule(budget, self.steps_per_epoch())
                    row["admm_schedule"] = schedule.model_dump()
                    flow = admm_flow(dense, cfg, k, schedule, None, data, work)
                    row["admm_residuals"] = [round(e.residual, 6) for e in flow.admm_log]
                    row["admm_rho"] = [e.rho for e in flow.admm_log]
                else:
                    sparsity, n_pe = PROXY["prune_sparsity"], PROXY["prune_n_pe"]
                    flow = prune_flow(dense, cfg, sparsity, n_pe, half, data, work)
            model, stages = flow.model, flow.stages
            save_model(model, self.out / "models" / f"{job['id']}.safetensors")
        cost = model_cost(model, 32, sparse=kind == "prune")
        row |= {"per": self.test_per(model), "stages": stages, **cost.as_dict(),
                "seconds": round(time.perf_counter() - t0, 1), "proxy": PROXY}
        return row


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


def run_worker(out: Path, corpus: str, cache: str | None, only: str | None = None) -> None:
    worker = Worker(out, corpus, cache)
    (out / "jobs").mkdir(parents=True, exist_ok=True)
    while True:
        done = _done(out)
        todo = [j for j in jobs() if j["id"] not in done and (only is None or j["cell"] == only)]
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


def _cell(values: list[float]) -> str:
    """mean ± half the range over seeds (n = 2: the two seeds are mean ± spread); n noted if < 2."""
    if not values:
        return "—"
    m = statistics.fmean(values)
    if len(values) == 1:
        return f"{100 * m:.1f} (1 seed)"
    return f"{100 * m:.1f} ± {50 * (max(values) - min(values)):.1f}"


def table(out: Path) -> str:
    rows = load_rows(out)
    lines = []
    for cell in CELLS:
        lines += [f"\n**{cell.upper()}** — test PER % (mean ± half-range over seeds {list(SEEDS)})\n",
                  "| budget | dense (B epochs) | k | ADMM | direct (projection) | direct (scratch) "
                  "| prune 90 % (ESE) |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for budget in BUDGETS:
            ref = [rows[i]["per"] for i in (dense_id(cell, s, budget) for s in SEEDS) if i in rows]
            prune_ids = (job_id("prune", cell, None, budget, s) for s in SEEDS)
            prune = [rows[i]["per"] for i in prune_ids if i in rows]
            for n, k in enumerate(sorted(BLOCKS)):
                vals = [[rows[i]["per"] for i in (job_id(m, cell, k, budget, s) for s in SEEDS) if i in rows]
                        for m in ("admm", "direct", "scratch")]
                lines.append(f"| {budget} | {_cell(ref) if n == 0 else ''} | {k} | "
                             + " | ".join(_cell(v) for v in vals) + f" | {_cell(prune) if n == 0 else ''} |")
    starts = []
    for cell in CELLS:
        for e in DENSE_EPOCHS:
            v = [rows[i]["per"] for i in (dense_id(cell, s, e) for s in SEEDS) if i in rows]
            if v:
                starts.append(f"{cell.upper()} {e} epochs {_cell(v)}")
    lines.append("\nDense snapshots (test PER %): " + "; ".join(starts))
    return "\n".join(lines) + "\n"


def plan(out: Path) -> str:
    done, claimed = _done(out), _claimed(out)
    all_jobs = jobs()
    def epochs_of(j: dict) -> int:
        if j["kind"] == "dense":
            return j["epochs"] - max([d for d in DENSE_EPOCHS if d < j["epochs"]], default=0)
        return j["budget"] if j["kind"] == "scratch" else j["budget"] // 2

    epochs = {j["id"]: epochs_of(j) for j in all_jobs}
    left = [j for j in all_jobs if j["id"] not in done]
    return (f"{len(done)}/{len(all_jobs)} jobs done, running: {sorted(claimed)}; epochs left "
            f"{sum(epochs[j['id']] for j in left)} of {sum(epochs.values())}")


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
    worker, rows = Worker(out, corpus, cache), load_rows(out)
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
                                         base_lr=PROXY["finetune_lr"])
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "plan", "table", "quant"])
    parser.add_argument("--out", type=Path, default=Path("runs/compress_study"))
    parser.add_argument("--corpus", default="data/synth-timit")
    parser.add_argument("--cache", default="cache/features")
    parser.add_argument("--cell", choices=CELLS, default=None, help="run: only this cell's jobs")
    parser.add_argument("--qat-epochs", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "run":
        run_worker(args.out, args.corpus, args.cache, args.cell)
    elif args.mode == "plan":
        print(plan(args.out))
    elif args.mode == "table":
        print(table(args.out))
        print(quant_table(args.out))
    else:
        run_quant(args.out, args.corpus, args.cache, args.qat_epochs, args.cell)


if __name__ == "__main__":
    main()
