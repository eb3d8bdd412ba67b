"""Cost of a quantization-aware training step against the float training step, same run (issue 13 item 3).

A 2x128 BiLSTM and BiGRU phone recognizer (39 MFCC inputs), block size 8 on every role, one batch of
random utterances (CTC): ``--lengths equal`` all of ``--frames`` frames, ``unequal`` lengths drawn
uniformly from [frames/2, frames] (what training batches look like: each utterance runs over its own
frames, the reverse directions from its last one), ``both`` (the default) each in turn. Steps,
interleaved and repeated (median of ``--reps``):

* ``float``: zero_grad, CTC loss, backward, clip, Adam step (what rnnaccel.train does per batch);
* ``qat``: the same through ``QuantRecognizer(model, quant_preset(--quant))`` (fake quantization
  with the straight-through estimator, what ``qat_flow`` trains); its directions run the fused path
  (``rnnaccel.quant.fused``) unless ``--reference`` keeps the readable per-timestep loop.

Writes benchmarks/results/bench_qat.json with ``ratio = qat / float`` (target: <= 3) per cell and
length mode, and the path each QAT direction took.
Run: ``python benchmarks/bench_qat.py --threads 1 --reps 5 --batch 8 --frames 200``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import torch
from _timing import median_step_times

RESULTS = Path(__file__).parent / "results" / "bench_qat.json"


def _batch(n: int, frames: int, unequal: bool):
    from rnnaccel.train import Dataset

    gen = torch.Generator().manual_seed(0)
    lengths = (torch.randint(frames // 2, frames + 1, (n,), generator=gen) if unequal
               else torch.full((n,), frames)).tolist()
    feats = [torch.randn(t, 39, generator=gen) for t in lengths]
    phones = [torch.randint(1, 61, (t // 8,), generator=gen) for t in lengths]
    return Dataset("train", feats, [torch.zeros(t, dtype=torch.long) for t in lengths], phones), lengths


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


def _qat(model, quant: str, reference: bool):
    from rnnaccel.quant import QuantRecognizer, quant_preset

    qat = QuantRecognizer(model, quant_preset(quant)).train()
    qat.rnn.fused = not reference
    paths = {qat.rnn.path_reason(d) or "fused" for layer in qat.rnn.model.layers for d in layer}
    return qat, sorted(paths)


def _row(cell: str, data, quant: str, reference: bool, reps: int) -> dict:
    torch.manual_seed(0)
    float_model, (qat_model, paths) = _model(cell), _qat(_model(cell), quant, reference)
    steppers = {"float": _stepper(float_model, data), "qat": _stepper(qat_model, data)}
    med = median_step_times(steppers, reps)
    return {"seconds": {k: round(v, 5) for k, v in med.items()}, "ratio": round(med["qat"] / med["float"], 2),
            "qat_path": paths}


def main(threads: int, reps: int, batch: int, frames: int, quant: str, reference: bool, lengths: str) -> None:
    from rnnaccel.io import write_json_atomic

    torch.set_num_threads(threads)
    modes = ("equal", "unequal") if lengths == "both" else (lengths,)
    rows: dict = {"lstm": {}, "gru": {}}
    batch_lengths = {}
    for mode in modes:
        data, batch_lengths[mode] = _batch(batch, frames, mode == "unequal")
        for cell in rows:
            rows[cell][mode] = _row(cell, data, quant, reference, reps)
            print(cell, mode, rows[cell][mode], flush=True)
    flag = " --reference" if reference else ""
    payload = {"command": f"python benchmarks/bench_qat.py --threads {threads} --reps {reps} "
                          f"--batch {batch} --frames {frames} --quant {quant} --lengths {lengths}{flag}",
               "network": f"2x128 bidirectional, k = 8 every role, batch {batch} x {frames} frames, CTC",
               "lengths": batch_lengths, "threads": threads, "loadavg": os.getloadavg(), "target_ratio": 3.0,
               "cells": rows}
    write_json_atomic(RESULTS, payload)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--quant", default="16bit", choices=["16bit", "12bit"])
    ap.add_argument("--reference", action="store_true", help="QAT through the per-timestep reference loop")
    ap.add_argument("--lengths", default="both", choices=["equal", "unequal", "both"],
                    help="utterance lengths: all --frames, uniform in [frames/2, frames], or each")
    args = ap.parse_args()
    main(args.threads, args.reps, args.batch, args.frames, args.quant, args.reference, args.lengths)
