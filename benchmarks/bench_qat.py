"""Cost of a quantization-aware training step against the float training step, same run (issue 13 item 3).

A 2x128 BiLSTM and BiGRU phone recognizer (39 MFCC inputs), block size 8 on every role, one batch of
random utterances (CTC). Steps, interleaved and repeated (median of ``--reps``):

* ``float``: zero_grad, CTC loss, backward, clip, Adam step (what rnnaccel.train does per batch);
* ``qat``: the same through ``QuantRecognizer(model, quant_preset(--quant))`` (fake quantization
  with the straight-through estimator, what ``qat_flow`` trains).

Writes benchmarks/results/bench_qat.json with ``ratio = qat / float`` (target: <= 3).
Run: ``nice -n 15 python benchmarks/bench_qat.py --threads 1 --reps 3``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from _timing import median_step_times

RESULTS = Path(__file__).parent / "results" / "bench_qat.json"


def _batch(n: int, frames: int):
    from rnnaccel.train import Dataset

    gen = torch.Generator().manual_seed(0)
    feats = [torch.randn(frames, 39, generator=gen) for _ in range(n)]
    phones = [torch.randint(1, 61, (frames // 8,), generator=gen) for _ in range(n)]
    return Dataset("train", feats, [torch.zeros(frames, dtype=torch.long)] * n, phones)


def _model(cell: str):
    from rnnaccel.train import Config, build_model

    cfg = Config.model_validate({"model": {"cell": cell, "hidden_size": 128, "num_layers": 2,
                                           "block_size": 8}})
    return build_model(cfg.model, 39)


def _stepper(model, data):
    from rnnaccel.train.loop import batch_loss

    optim, idx = torch.optim.Adam(model.parameters(), 1e-3), list(range(len(data)))

    def step() -> None:
        loss = batch_loss(model, data, idx)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()

    return step


def main(threads: int, reps: int, batch: int, frames: int, quant: str) -> None:
    from rnnaccel.io import write_json_atomic
    from rnnaccel.quant import QuantRecognizer, quant_preset

    torch.set_num_threads(threads)
    data, rows = _batch(batch, frames), {}
    for cell in ("lstm", "gru"):
        torch.manual_seed(0)
        float_model, qat_model = _model(cell), _model(cell)
        steppers = {"float": _stepper(float_model, data),
                    "qat": _stepper(QuantRecognizer(qat_model, quant_preset(quant)).train(), data)}
        med = median_step_times(steppers, reps)
        rows[cell] = {"seconds": {k: round(v, 5) for k, v in med.items()},
                      "ratio": round(med["qat"] / med["float"], 2)}
        print(cell, rows[cell], flush=True)
    payload = {"command": f"python benchmarks/bench_qat.py --threads {threads} --reps {reps} "
                          f"--batch {batch} --frames {frames} --quant {quant}",
               "network": f"2x128 bidirectional, k = 8 every role, batch {batch} x {frames} frames, CTC",
               "threads": threads, "loadavg": os.getloadavg(), "target_ratio": 3.0, "cells": rows}
    write_json_atomic(RESULTS, payload)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--quant", default="16bit", choices=["16bit", "12bit"])
    args = ap.parse_args()
    main(args.threads, args.reps, args.batch, args.frames, args.quant)
