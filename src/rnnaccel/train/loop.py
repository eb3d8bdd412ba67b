"""Training loop: CTC (or framewise CE) phone recognition with Adam, clipping, PER after 39-folding.

Public API (used by the compression code): ``train(config, model=..., extra_loss=..., on_epoch=...)``
and ``evaluate(model, data, ...)``. Each epoch reseeds torch with (seed, epoch) and shuffles with its
own generator, so resuming from the checkpoint of epoch N replays epochs N+1.. exactly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnaccel.data.features import FeatureStats, SplitFeatures, load_features
from rnnaccel.train.checkpoint import load_checkpoint, restore, run_identity, save_checkpoint
from rnnaccel.train.config import Config
from rnnaccel.train.decode import BLANK, beam_decode, frame_decode, greedy_decode, phone_error_rate
from rnnaccel.train.model import build_model

__all__ = ["Dataset", "EpochRecord", "TrainResult", "evaluate", "load_data", "per_curve", "train"]

ExtraLoss = Callable[[nn.Module], torch.Tensor]
EpochCallback = Callable[["EpochRecord", nn.Module], None]


@dataclass(frozen=True)
class Dataset:
    """Normalized features of one split, ready for batching."""

    split: str
    feats: list[torch.Tensor]
    frames: list[torch.Tensor]
    phones: list[torch.Tensor]

    def __len__(self) -> int:
        return len(self.feats)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss, PER per evaluated split, wall seconds."""

    epoch: int
    loss: float
    per: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """The trained model, the per-epoch history and the data statistics used for normalization."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    stats: FeatureStats | None = None

    @property
    def final_per(self) -> dict[str, float]:
        return self.history[-1].per if self.history else {}


def _missing_corpus(corpus: str) -> ValueError:
    return ValueError(f"corpus {corpus!r} not found; create the default synthetic corpus with "
                      f"`rnnaccel data synth {corpus}` (or point data.corpus at a TIMIT copy)")


def _dataset(split: str, raw: SplitFeatures, stats: FeatureStats, limit: int | None = None) -> Dataset:
    n = len(raw.feats) if limit is None else min(limit, len(raw.feats))
    return Dataset(split, [torch.from_numpy(stats.apply(f)) for f in raw.feats[:n]],
                   [torch.from_numpy(f) for f in raw.frames[:n]],
                   [torch.from_numpy(p) for p in raw.phones[:n]])


def load_data(config: Config) -> tuple[Dataset, dict[str, Dataset], FeatureStats]:
    """(train set, eval sets by split, normalization stats from the training set) for ``config``."""
    d = config.data
    if not Path(d.corpus).is_dir():
        raise _missing_corpus(d.corpus)
    settings = d.feature_settings()
    raw = load_features(d.corpus, d.train_split, settings, d.cache_dir)
    limit = d.max_train_utterances
    stats = FeatureStats.of(raw.feats[:limit] if limit else raw.feats)
    evals = {s: _dataset(s, load_features(d.corpus, s, settings, d.cache_dir), stats) for s in d.eval_splits}
    return _dataset(d.train_split, raw, stats, limit), evals, stats


def _batches(data: Dataset, batch_size: int, generator: torch.Generator) -> list[list[int]]:
    """Shuffled batches of similar length (sorted within windows of 20 batches) to limit padding."""
    order = torch.randperm(len(data), generator=generator).tolist()
    window = 20 * batch_size
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: data.feats[i].shape[0])
        batches += [chunk[b : b + batch_size] for b in range(0, len(chunk), batch_size)]
    perm = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in perm]


def _pad(seqs: list[torch.Tensor], value: float = 0.0) -> torch.Tensor:
    return nn.utils.rnn.pad_sequence(seqs, batch_first=True, padding_value=value)


def _loss(model: nn.Module, data: Dataset, idx: list[int], kind: str) -> torch.Tensor:
    lengths = torch.tensor([data.feats[i].shape[0] for i in idx])
    logp = model(_pad([data.feats[i] for i in idx]))
    if kind == "ce":
        target = _pad([data.frames[i] for i in idx], value=-100)
        return nn.functional.nll_loss(logp.reshape(-1, logp.shape[-1]), target.reshape(-1), ignore_index=-100)
    targets = [data.phones[i] for i in idx]
    return nn.functional.ctc_loss(logp.transpose(0, 1), torch.cat(targets), lengths,
                                  torch.tensor([t.numel() for t in targets]), blank=BLANK,
                                  reduction="mean", zero_infinity=True)


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, *, loss: str = "ctc", decode: str = "greedy",
             beam_width: int = 8, batch_size: int = 32) -> float:
    """Phone error rate (39-folded) of ``model`` on ``data``; CTC models decode greedily or by beam."""
    was_training = model.training
    model.eval()
    hyps: list[list[int]] = []
    order = sorted(range(len(data)), key=lambda i: data.feats[i].shape[0])
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        logp = model(_pad([data.feats[i] for i in idx])).numpy()
        for row, i in enumerate(idx):
            lp = logp[row, : data.feats[i].shape[0]]
            hyps.append(frame_decode(lp) if loss == "ce" else
                        beam_decode(lp, beam_width) if decode == "beam" else greedy_decode(lp))
    model.train(was_training)
    refs = [data.phones[i].tolist() for i in order]
    return phone_error_rate(refs, hyps)


def _epoch(model: nn.Module, optim: torch.optim.Optimizer, data: Dataset, config: Config, epoch: int,
           extra_loss: ExtraLoss | None, bar: object | None) -> float:
    o = config.optim
    torch.manual_seed(o.seed * 100_003 + epoch)  # dropout masks per epoch: resume replays them exactly
    gen = torch.Generator().manual_seed(o.seed * 1_000_003 + epoch)
    model.train()
    total, count = 0.0, 0
    for batch, idx in enumerate(_batches(data, o.batch_size, gen), 1):
        loss = _loss(model, data, idx, o.loss)
        if extra_loss is not None:
            loss = loss + extra_loss(model)
        _check_finite(loss, epoch, batch, config.out_dir)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), o.clip)
        optim.step()
        total, count = total + loss.item() * len(idx), count + len(idx)
        if bar is not None:
            bar.update(len(idx))
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return total / max(count, 1)


def _check_finite(loss: torch.Tensor, epoch: int, batch: int, out_dir: str) -> None:
    """Stop on a NaN/Inf loss (e.g. lr = inf, a NaN weight): the last good checkpoint stays in place."""
    if not torch.isfinite(loss.detach()).all():
        raise ValueError(f"training loss is {loss.item()} at epoch {epoch}, batch {batch}: stopped; the "
                         f"last good checkpoint in {out_dir!r} (if any) is kept (check optim.lr, weights)")


def _record(epoch: int, loss: float, model: nn.Module, evals: dict[str, Dataset], config: Config,
            start: float) -> EpochRecord:
    o = config.optim
    per = {s: round(evaluate(model, d, loss=o.loss, decode=o.decode, beam_width=o.beam_width), 5)
           for s, d in evals.items()}
    return EpochRecord(epoch, round(loss, 5), per, round(time.perf_counter() - start, 2))


def _resume(out_dir: str, model: nn.Module, optim: torch.optim.Optimizer,
            identity: dict) -> tuple[int, list[EpochRecord]]:
    found = load_checkpoint(out_dir, identity)  # ValueError when made by another run (config or data)
    if found is None:
        return 0, []
    state, tensors = found
    restore(model, optim, tensors, str(Path(out_dir) / state["tensors"]))
    return state["epoch"], [EpochRecord(**r) for r in state["history"]]


def train(config: Config, *, model: nn.Module | None = None,
          model_factory: Callable[[Config, int], nn.Module] | None = None,
          extra_loss: ExtraLoss | None = None, on_epoch: EpochCallback | None = None,
          resume: bool = False, progress: bool = False, data: tuple | None = None) -> TrainResult:
    """Train a phone recognizer; see docs/speech.md.

    ``model`` (an existing module, e.g. a dense model to fine-tune) or ``model_factory(config,
    input_size)`` replace ``build_model``; ``extra_loss(model)`` is added to every batch loss (ADMM's
    ρ/2‖W − Z + U‖²); ``on_epoch(record, model)`` runs after each epoch; ``resume`` continues from the
    checkpoint in ``config.out_dir``; ``data`` = ``load_data(config)`` to reuse loaded features.
    """
    train_set, evals, stats = data if data is not None else load_data(config)
    torch.manual_seed(config.optim.seed)
    if model is None:
        factory = model_factory or (lambda c, n: build_model(c.model, n))
        model = factory(config, train_set.feats[0].shape[1])
    optim = torch.optim.Adam(model.parameters(), lr=config.optim.lr)
    identity = run_identity(config)
    start_epoch, history = _resume(config.out_dir, model, optim, identity) if resume else (0, [])
    norm = {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std)}
    for epoch in range(start_epoch + 1, config.optim.epochs + 1):
        t0 = time.perf_counter()
        bar = _bar(progress, len(train_set), epoch, config.optim.epochs)
        loss = _epoch(model, optim, train_set, config, epoch, extra_loss, bar)
        record = _record(epoch, loss, model, evals, config, t0)
        history.append(record)
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.3f}", **{f"PER_{s}": f"{p:.3f}" for s, p in record.per.items()})
            bar.close()
        save_checkpoint(config.out_dir, epoch, model, optim, norm,
                        {"config": identity["config"], "data_sha256": identity["data_sha256"],
                         "history": [r.__dict__ for r in history]})
        if on_epoch is not None:
            on_epoch(record, model)
    return TrainResult(model, history, stats)


def _bar(progress: bool, total: int, epoch: int, epochs: int) -> object | None:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="utt", leave=True, dynamic_ncols=True)


def per_curve(result: TrainResult, split: str) -> np.ndarray:
    """PER of ``split`` per epoch as an array (for plots and reports)."""
    return np.array([r.per[split] for r in result.history])
