"""Training loop: CTC (or framewise CE) phone recognition with Adam, clipping, PER after 39-folding.

Public API (used by the compression code): ``train(config, model=..., extra_loss=..., on_epoch=...)``
and ``evaluate(model, data, ...)``. Each epoch reseeds torch with (seed, epoch) and shuffles with its
own generator, so resuming from the checkpoint of epoch N replays epochs N+1.. exactly.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnnaccel.data.features import FeatureSettings, FeatureStats, SplitFeatures, load_features, utterance_cmvn
from rnnaccel.io import atomic_output, tensors_sha256
from rnnaccel.train.augment import augment_utterance, warped_utterance
from rnnaccel.train.checkpoint import load_checkpoint, restore, run_dir, run_identity, save_checkpoint
from rnnaccel.train.config import Config
from rnnaccel.train.decode import BLANK, beam_decode, frame_decode, greedy_decode, phone_error_rate
from rnnaccel.train.model import build_model

__all__ = ["Dataset", "EpochRecord", "TrainResult", "batch_loss", "best_epoch", "evaluate", "load_data",
           "per_curve", "train"]

ExtraLoss = Callable[[nn.Module], torch.Tensor]
EpochCallback = Callable[["EpochRecord", nn.Module], None]
StepHook = Callable[[nn.Module], None]
OptimizerFactory = Callable[[list[nn.Parameter], float], torch.optim.Optimizer]


@dataclass(frozen=True)
class Dataset:
    """Normalized features of one split, ready for batching. ``raw`` (the un-normalized features) and
    ``stats`` are kept for the training split when ``augment.warp`` needs them."""

    split: str
    feats: list[torch.Tensor]
    frames: list[torch.Tensor]
    phones: list[torch.Tensor]
    raw: list[torch.Tensor] | None = None
    stats: FeatureStats | None = None

    def __len__(self) -> int:
        return len(self.feats)

    def head(self, n: int) -> Dataset:
        """The first ``n`` utterances (with their raw features, when kept)."""
        return Dataset(self.split, self.feats[:n], self.frames[:n], self.phones[:n],
                       None if self.raw is None else self.raw[:n], self.stats)


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: mean training loss, PER per evaluated split, wall seconds."""

    epoch: int
    loss: float
    per: dict[str, float]
    seconds: float
    lr: float | None = None


@dataclass(frozen=True)
class TrainResult:
    """The trained model, the per-epoch history and the data statistics used for normalization."""

    model: nn.Module
    history: list[EpochRecord] = field(default_factory=list)
    stats: FeatureStats | None = None
    best_epoch: int | None = None  # set with schedule.restore_best: the model has this epoch's weights

    @property
    def final_per(self) -> dict[str, float]:
        """PER of the returned model: the best epoch's with restore_best, else the last epoch's."""
        if self.best_epoch is not None:
            return self.history[self.best_epoch - 1].per
        return self.history[-1].per if self.history else {}


def _missing_corpus(corpus: str) -> ValueError:
    return ValueError(f"corpus {corpus!r} not found; create the default synthetic corpus with "
                      f"`rnnaccel data synth {corpus}` (or point data.corpus at a TIMIT copy)")


def _dataset(split: str, raw: SplitFeatures, stats: FeatureStats, limit: int | None = None) -> Dataset:
    n = len(raw.feats) if limit is None else min(limit, len(raw.feats))
    return Dataset(split, [torch.from_numpy(stats.apply(f)) for f in raw.feats[:n]],
                   [torch.from_numpy(f) for f in raw.frames[:n]],
                   [torch.from_numpy(p) for p in raw.phones[:n]])


def _unnormalized(settings: FeatureSettings) -> FeatureSettings:
    return dataclasses.replace(settings, cmvn="none")


def _train_features(config: Config) -> tuple[SplitFeatures, list[np.ndarray] | None]:
    """The training split's features as configured and, when ``augment.warp`` is on, the un-normalized
    ones they are made of (the per-utterance CMVN is then applied here, with the same function)."""
    d, settings = config.data, config.data.feature_settings()
    if not config.augment.warp:
        return load_features(d.corpus, d.train_split, settings, d.cache_dir), None
    raw = load_features(d.corpus, d.train_split, _unnormalized(settings), d.cache_dir)
    if settings.cmvn == "none":
        return raw, raw.feats
    feats = [utterance_cmvn(torch.from_numpy(f)).numpy() for f in raw.feats]
    return SplitFeatures(raw.utt_ids, feats, raw.frames, raw.phones), raw.feats


def load_data(config: Config) -> tuple[Dataset, dict[str, Dataset], FeatureStats]:
    """(train set, eval sets by split, normalization stats from the training set) for ``config``."""
    d = config.data
    if not Path(d.corpus).is_dir():
        raise _missing_corpus(d.corpus)
    settings = d.feature_settings()
    feats, raw = _train_features(config)
    limit = d.max_train_utterances
    stats = FeatureStats.of(feats.feats[:limit] if limit else feats.feats)
    evals = {s: _dataset(s, load_features(d.corpus, s, settings, d.cache_dir), stats) for s in d.eval_splits}
    train = _dataset(d.train_split, feats, stats, limit)
    if raw is not None:
        train = dataclasses.replace(train, raw=[torch.from_numpy(f) for f in raw[: len(train)]], stats=stats)
    return train, evals, stats


def _normalizer(config: Config, stats: FeatureStats) -> Callable[[torch.Tensor], torch.Tensor]:
    """Un-normalized features -> the training set's normalized ones (CMVN if configured, then stats)."""
    cmvn = config.data.cmvn == "utterance"
    mean, std = torch.from_numpy(stats.mean), torch.from_numpy(stats.std)
    return lambda x: ((utterance_cmvn(x) if cmvn else x) - mean) / std


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


def _forward(model: nn.Module, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """(batch, time, classes) log-probs and lengths. A model whose ``forward`` takes ``lengths``
    (``PhoneRecognizer``) runs each utterance over its own frames only (no direction sees padding)."""
    lengths = torch.tensor([f.shape[0] for f in feats])
    x = _pad(feats)
    if "lengths" in inspect.signature(model.forward).parameters:
        return model(x, lengths=lengths), lengths
    return model(x), lengths


def _loss(model: nn.Module, feats: list[torch.Tensor], frames: list[torch.Tensor],
          phones: list[torch.Tensor], kind: str, teacher: nn.Module | None = None,
          distill: float = 0.0) -> torch.Tensor:
    """Batch loss = mean over utterances of each utterance's loss (CTC: per target phone; CE: per frame),
    so it does not depend on how utterances are grouped into batches; with a ``teacher``, plus
    ``distill`` × the mean over utterances of each one's mean per-frame KL(teacher ‖ model)."""
    logp, lengths = _forward(model, feats)
    if kind == "ce":
        per = [nn.functional.nll_loss(logp[i, :n], frames[i]) for i, n in enumerate(lengths.tolist())]
        loss = torch.stack(per).mean()
    else:
        loss = nn.functional.ctc_loss(logp.transpose(0, 1), torch.cat(phones), lengths,
                                      torch.tensor([t.numel() for t in phones]), blank=BLANK,
                                      reduction="mean", zero_infinity=True)
    if teacher is None or not distill:
        return loss
    return loss + distill * _distill_kl(logp, teacher, feats, lengths)


def _distill_kl(logp: torch.Tensor, teacher: nn.Module, feats: list[torch.Tensor],
                lengths: torch.Tensor) -> torch.Tensor:
    """Mean over utterances of the mean per-frame KL(teacher ‖ model) on the same (augmented) inputs:
    frame-level knowledge distillation (Hinton et al. 2015; for CTC, e.g. Takashima et al. 2018).
    The teacher runs in eval mode without gradients."""
    was_training = teacher.training
    teacher.eval()
    with torch.no_grad():
        target = _forward(teacher, feats)[0]
    teacher.train(was_training)
    kl = (target.exp() * (target - logp)).sum(-1)
    return torch.stack([kl[i, :n].mean() for i, n in enumerate(lengths.tolist())]).mean()


def batch_loss(model: nn.Module, data: Dataset, idx: list[int], kind: str = "ctc") -> torch.Tensor:
    """The training loss of utterances ``idx`` of ``data`` as one batch (no augmentation)."""
    return _loss(model, [data.feats[i] for i in idx], [data.frames[i] for i in idx],
                 [data.phones[i] for i in idx], kind)


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, *, loss: str = "ctc", decode: str = "greedy",
             beam_width: int = 8, batch_size: int = 32) -> float:
    """Phone error rate (39-folded) of ``model`` on ``data``; CTC models decode greedily or by beam.
    Utterances are batched by length, each run over its own frames (``_forward``): the PER does not
    depend on ``batch_size``."""
    was_training = model.training
    model.eval()
    hyps: list[list[int]] = []
    order = sorted(range(len(data)), key=lambda i: data.feats[i].shape[0])
    for b in range(0, len(order), batch_size):
        idx = order[b : b + batch_size]
        logp = _forward(model, [data.feats[i] for i in idx])[0].numpy()
        for row, i in enumerate(idx):
            lp = logp[row, : data.feats[i].shape[0]]
            hyps.append(frame_decode(lp) if loss == "ce" else
                        beam_decode(lp, beam_width) if decode == "beam" else greedy_decode(lp))
    model.train(was_training)
    refs = [data.phones[i].tolist() for i in order]
    return phone_error_rate(refs, hyps)


def _augmented(data: Dataset, idx: list[int], config: Config, gen: torch.Generator) -> tuple[list, list]:
    a = config.augment
    if not a.active:
        return [data.feats[i] for i in idx], [data.frames[i] for i in idx]
    feats = [data.feats[i] for i in idx]
    if a.warp:
        if data.raw is None or data.stats is None:
            raise ValueError("augment.warp needs the training split's un-normalized features: pass "
                             "data = load_data(config) (or a Dataset with raw and stats)")
        norm, settings = _normalizer(config, data.stats), config.data.feature_settings()
        feats = [warped_utterance(data.raw[i], settings, a, norm, gen) for i in idx]
    pairs = [augment_utterance(f, data.frames[i], a, gen) for f, i in zip(feats, idx, strict=True)]
    return [f for f, _ in pairs], [fr for _, fr in pairs]


def _epoch(model: nn.Module, optim: torch.optim.Optimizer, data: Dataset, config: Config, epoch: int,
           extra_loss: ExtraLoss | None, bar: object | None, after_step: StepHook | None = None,
           teacher: nn.Module | None = None) -> float:
    o = config.optim
    torch.manual_seed(o.seed * 100_003 + epoch)  # dropout masks per epoch: resume replays them exactly
    gen = torch.Generator().manual_seed(o.seed * 1_000_003 + epoch)
    model.train()
    total, count = 0.0, 0
    for batch, idx in enumerate(_batches(data, o.batch_size, gen), 1):
        feats, frames = _augmented(data, idx, config, gen)
        loss = _loss(model, feats, frames, [data.phones[i] for i in idx], o.loss, teacher, o.distill)
        if extra_loss is not None:
            loss = loss + extra_loss(model)
        _check_finite(loss, epoch, batch, config.out_dir)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), o.clip)
        optim.step()
        if after_step is not None:
            after_step(model)
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


def _lr(config: Config, epoch: int, history: list[EpochRecord]) -> float:
    """Learning rate of ``epoch`` (a function of the history only, so resume reproduces it)."""
    s, base, epochs = config.schedule, config.optim.lr, config.optim.epochs
    if s.lr == "cosine":
        phase = math.pi * (epoch - 1) / max(epochs - 1, 1)
        return base * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(phase)))
    if s.lr == "plateau":
        return base * s.factor ** _plateaus(history, config)
    return base


def _plateaus(history: list[EpochRecord], config: Config) -> int:
    """How many times the monitored PER went ``plateau_patience`` epochs without a new best."""
    best, since, count = math.inf, 0, 0
    for r in history:
        per = r.per[config.schedule.monitor]
        best, since = (per, 0) if per < best else (best, since + 1)
        if since >= config.schedule.plateau_patience:
            count, since = count + 1, 0
    return count


def best_epoch(history: list[EpochRecord], split: str) -> int | None:
    """Epoch (1-based) with the lowest PER on ``split``; the earliest on ties; None without history."""
    if not history:
        return None
    return min(history, key=lambda r: (r.per[split], r.epoch)).epoch


def _stop(history: list[EpochRecord], config: Config) -> bool:
    patience, monitor = config.schedule.early_stop_patience, config.schedule.monitor
    if patience is None or not history:
        return False
    return history[-1].epoch - best_epoch(history, monitor) >= patience


def _check_schedule(config: Config) -> None:
    s = config.schedule
    uses_monitor = s.lr == "plateau" or s.early_stop_patience is not None or s.restore_best
    if uses_monitor and s.monitor not in config.data.eval_splits:
        raise ValueError(f"schedule.monitor = {s.monitor!r} must be one of data.eval_splits "
                         f"{config.data.eval_splits} (it is evaluated after every epoch)")


def _best_path(config: Config) -> Path:
    return Path(config.out_dir) / "best.safetensors"


def _save_best(config: Config, model: nn.Module, epoch: int) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    with atomic_output(_best_path(config), suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata={"epoch": str(epoch), "sha256": tensors_sha256(state)})



def _load_best(config: Config, model: nn.Module, epoch: int) -> None:
    from safetensors import SafetensorError, safe_open

    path = _best_path(config)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            found, recorded = int(meta.get("epoch", -1)), meta.get("sha256")
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (OSError, SafetensorError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the best-epoch weights ({exc}); rerun without "
                         "--resume") from None
    if recorded is not None and recorded != tensors_sha256(state):  # files of older runs have none
        raise ValueError(f"{path}: the best-epoch weights were modified or damaged (SHA-256 differs "
                         "from the one saved with them); rerun without --resume")
    if found != epoch:
        raise ValueError(f"{path}: holds epoch {found}, the history's best is epoch {epoch}; rerun "
                         "without --resume")
    model.load_state_dict(state)


def _after_epoch(config: Config, model: nn.Module, history: list[EpochRecord]) -> None:
    s = config.schedule
    if s.restore_best and best_epoch(history, s.monitor) == history[-1].epoch:
        _save_best(config, model, history[-1].epoch)


def train(config: Config, *, model: nn.Module | None = None,
          model_factory: Callable[[Config, int], nn.Module] | None = None,
          extra_loss: ExtraLoss | None = None, on_epoch: EpochCallback | None = None,
          resume: bool = False, progress: bool = False, data: tuple | None = None,
          after_step: StepHook | None = None, optimizer: OptimizerFactory | None = None,
          lr_at: Callable[[int], float] | None = None, teacher: nn.Module | None = None) -> TrainResult:
    """Train a phone recognizer; see docs/speech.md.

    ``model`` (an existing module, e.g. a dense model to fine-tune) or ``model_factory(config,
    input_size)`` replace ``build_model``; ``extra_loss(model)`` is added to every batch loss (ADMM's
    ρ/2‖W − Z + U‖²); ``on_epoch(record, model)`` runs after each epoch; ``resume`` continues from the
    checkpoint in ``config.out_dir``; ``data`` = ``load_data(config)`` to reuse loaded features.
    ``config.schedule`` sets the learning rate per epoch, early stopping and restoring the best epoch.
    ``after_step(model)`` runs after every optimizer step (ADMM's proximal pull towards Z − U);
    ``optimizer(params, lr)`` builds the optimizer instead of Adam (a fresh one per call of ``train``);
    ``lr_at(epoch)`` replaces ``config.schedule``'s learning rate of each epoch (ADMM's per-iteration reset).
    ``teacher`` (e.g. the dense model a compressed one starts from): with ``optim.distill > 0`` every
    batch loss adds ``distill`` × the per-frame KL(teacher ‖ model) on the same augmented inputs.
    """
    _check_schedule(config)
    train_set, evals, stats = data if data is not None else load_data(config)
    torch.manual_seed(config.optim.seed)
    if model is None:
        factory = model_factory or (lambda c, n: build_model(c.model, n))
        model = factory(config, train_set.feats[0].shape[1])
    make = optimizer or (lambda params, lr: torch.optim.Adam(params, lr=lr))
    optim = make(list(model.parameters()), config.optim.lr)
    run_dir(config.out_dir)  # an unusable out_dir fails now, not after the first epoch
    identity = run_identity(config)
    start_epoch, history = _resume(config.out_dir, model, optim, identity) if resume else (0, [])
    norm = {"mean": torch.from_numpy(stats.mean), "std": torch.from_numpy(stats.std)}
    for epoch in range(start_epoch + 1, config.optim.epochs + 1):
        if _stop(history, config):
            break
        lr = lr_at(epoch) if lr_at is not None else _lr(config, epoch, history)
        for group in optim.param_groups:
            group["lr"] = lr
        t0 = time.perf_counter()
        bar = _bar(progress, len(train_set), epoch, config.optim.epochs)
        loss = _epoch(model, optim, train_set, config, epoch, extra_loss, bar, after_step, teacher)
        record = _record(epoch, loss, model, evals, config, t0)
        record = EpochRecord(record.epoch, record.loss, record.per, record.seconds, lr)
        history.append(record)
        if bar is not None:
            bar.set_postfix(loss=f"{loss:.3f}", **{f"PER_{s}": f"{p:.3f}" for s, p in record.per.items()})
            bar.close()
        _after_epoch(config, model, history)
        save_checkpoint(config.out_dir, epoch, model, optim, norm,
                        {"config": identity["config"], "data_sha256": identity["data_sha256"],
                         "history": [r.__dict__ for r in history]})
        if on_epoch is not None:
            on_epoch(record, model)
    best = best_epoch(history, config.schedule.monitor) if config.schedule.restore_best else None
    if best is not None and best != history[-1].epoch:
        _load_best(config, model, best)
    return TrainResult(model, history, stats, best)


def _bar(progress: bool, total: int, epoch: int, epochs: int) -> object | None:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=f"epoch {epoch}/{epochs}", unit="utt", leave=True, dynamic_ncols=True,
                disable=None)  # None: no bar when stderr is not a terminal (no redraws in logs)


def per_curve(result: TrainResult, split: str) -> np.ndarray:
    """PER of ``split`` per epoch as an array (for plots and reports)."""
    return np.array([r.per[split] for r in result.history])
