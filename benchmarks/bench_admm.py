"""Cost of an ADMM W-step against a dense training step of the same network in the same run.

A 2x128 BiLSTM and BiGRU phone recognizer (39 MFCC inputs), block size 8 on every role, one batch of 16
random 200-frame utterances (CTC). Steps, interleaved and repeated (median of ``--reps``):

* ``dense``: zero_grad, CTC loss, backward, clip, Adam step (what rnnaccel.train does per batch);
* ``proximal``: the same plus ``ADMMState.proximal_step`` (the default W-step);
* ``sgd``: SGD with momentum over loss + ρ/2‖W − Z + U‖² (the other W-step).

Writes benchmarks/results/bench_admm.json with the ratios to ``dense`` (target: proximal <= 1.2).
Run: ``nice -n 10 python benchmarks/bench_admm.py --threads 1``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from _timing import median_step_times

RESULTS = Path(__file__).parent / "results" / "bench_admm.json"


def _batch(n: int = 16, frames: int = 200):
    from rnnaccel.train import Dataset

    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(frames, 39, generator=gen) for _ in range(n)]
    phones = [torch.randint(1, 61, (frames // 8,), generator=gen) for _ in range(n)]
    return Dataset("train", feats, [torch.zeros(frames, dtype=torch.long)] * n, phones)


def _model(cell: str):
    from rnnaccel.train import Config, build_model

    cfg = Config.model_validate({"model": {"cell": cell, "hidden_size": 128, "num_layers": 2}})
    return build_model(cfg.model, 39)


def _stepper(model, optim, data, extra=None, after=None):
    from rnnaccel.train.loop import batch_loss

    idx = list(range(len(data)))

    def step() -> None:
        loss = batch_loss(model, data, idx)
        if extra is not None:
            loss = loss + extra(model)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        if after is not None:
            after(model)

    return step


def _steppers(cell: str, data) -> dict:
    from rnnaccel.compress import ADMMSchedule, ADMMState

    out = {}
    for kind in ("dense", "proximal", "sgd"):
        torch.manual_seed(0)
        model = _model(cell)
        if kind == "dense":
            out[kind] = _stepper(model, torch.optim.Adam(model.parameters(), 1e-3), data)
            continue
        sched = ADMMSchedule(w_step=kind)
        state = ADMMState(model, 8, sched)
        optim = sched.make_optimizer(list(model.parameters()), 1e-3)
        out[kind] = (_stepper(model, optim, data, after=state.proximal_step) if kind == "proximal"
                     else _stepper(model, optim, data, extra=state.penalty))
    return out


def main(threads: int, reps: int) -> None:
    from rnnaccel.io import write_json_atomic

    torch.set_num_threads(threads)
    data, rows = _batch(), {}
    for cell in ("lstm", "gru"):
        med = median_step_times(_steppers(cell, data), reps)
        rows[cell] = {"seconds": {k: round(v, 5) for k, v in med.items()},
                      "ratio_to_dense": {k: round(v / med["dense"], 3) for k, v in med.items()}}
        print(cell, rows[cell])
    payload = {"command": f"python benchmarks/bench_admm.py --threads {threads} --reps {reps}",
               "network": "2x128 bidirectional, k = 8 every role, batch 16 x 200 frames, CTC",
               "threads": threads, "loadavg": os.getloadavg(), "target_ratio": 1.2, "cells": rows}
    write_json_atomic(RESULTS, payload)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    main(args.threads, args.reps)
