"""Batching does not change PER or loss (packed sequences); augmentation keeps labels aligned and is
deterministic; LR schedule, early stopping and restoring the best epoch follow the history (resumable)."""

import math

import pytest
import torch

from rnnaccel.train import Config
from rnnaccel.train.augment import augment_utterance, stretch_frames
from rnnaccel.train.augment_config import AugmentConfig
from rnnaccel.train.config import ModelConfig
from rnnaccel.train.loop import Dataset, EpochRecord, _lr, _plateaus, batch_loss, best_epoch, evaluate, train
from rnnaccel.train.model import build_model


def _dataset(n: int = 32, seed: int = 0) -> Dataset:
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(10, 50, (n,), generator=g).tolist()
    feats = [torch.randn(t, 39, generator=g, dtype=torch.float64) for t in lengths]
    phones = [torch.randint(0, 61, (max(1, t // 5),), generator=g) for t in lengths]
    frames = [torch.randint(0, 61, (t,), generator=g) for t in lengths]
    return Dataset("test", feats, frames, phones)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_batch_1_equals_batch_32_in_float64(cell):
    torch.manual_seed(0)
    model = build_model(ModelConfig(cell=cell, hidden_size=16, num_layers=2), 39).double()
    data = _dataset()
    assert evaluate(model, data, batch_size=1) == evaluate(model, data, batch_size=32)
    model.eval()
    for kind in ("ctc", "ce"):
        with torch.no_grad():
            whole = batch_loss(model, data, list(range(32)), kind)
            singles = torch.stack([batch_loss(model, data, [i], kind) for i in range(32)]).mean()
        # float64 GEMMs of other shapes round differently: equal to a few ulp, not bitwise
        assert whole.item() == pytest.approx(singles.item(), rel=1e-12, abs=0)
    x = torch.nn.utils.rnn.pad_sequence(data.feats, batch_first=True)
    lengths = torch.tensor([f.shape[0] for f in data.feats])
    with torch.no_grad():
        batched = model(x, lengths=lengths)
        for i, f in enumerate(data.feats[:6]):
            alone = model(f[None], lengths=lengths[i : i + 1])[0]
            torch.testing.assert_close(batched[i, : f.shape[0]], alone, rtol=0, atol=1e-13)


def test_stretched_tone_keeps_its_boundaries():
    # A "tone" feature track: label 0 for frames 0-39, 1 for 40-99, 2 for 100-149; the feature is the label.
    frames = torch.tensor([0] * 40 + [1] * 60 + [2] * 50)
    feats = frames[:, None].double().repeat(1, 3)
    for factor in (0.8, 0.9, 1.1, 1.25):
        out, lab = stretch_frames(feats, frames, factor)
        assert out.shape[0] == lab.shape[0] == round(150 / factor)
        for b in (40, 100):  # label boundaries move to b / factor (± one frame)
            moved = int(torch.nonzero(lab >= lab[round(b / factor) + 2]).min())
            assert abs(moved - b / factor) <= 1.0
        plateau = lab == torch.round(out[:, 0]).long()
        assert plateau.float().mean() > 0.95  # features and labels stay together


def test_augmentation_is_deterministic_and_masks():
    cfg = AugmentConfig(speed=[0.9, 1.1], time_masks=2, time_mask_frames=5, freq_masks=1, freq_mask_bins=4,
                        noise_std=0.1)
    feats, frames = torch.ones(80, 39), torch.zeros(80, dtype=torch.long)
    a = augment_utterance(feats, frames, cfg, torch.Generator().manual_seed(3))
    b = augment_utterance(feats, frames, cfg, torch.Generator().manual_seed(3))
    c = augment_utterance(feats, frames, cfg, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) and not torch.equal(a[0], c[0])
    assert torch.equal(feats, torch.ones(80, 39))  # input untouched
    masked = augment_utterance(feats, frames, AugmentConfig(freq_masks=1, freq_mask_bins=39),
                               torch.Generator().manual_seed(0))[0]
    assert (masked == 0).any() and masked.shape == feats.shape
    with pytest.raises(ValueError, match=r"speed factors must be in \[0.5, 2\]"):
        AugmentConfig(speed=[3.0])


def _hist(pers):
    return [EpochRecord(e, 1.0, {"dev": p}, 0.0) for e, p in enumerate(pers, 1)]


def test_schedule_is_a_function_of_the_history():
    cfg = Config.model_validate({"optim": {"epochs": 5, "lr": 0.01}, "schedule": {"lr": "cosine"}})
    assert _lr(cfg, 1, []) == pytest.approx(0.01) and _lr(cfg, 5, []) == pytest.approx(0.0005)
    assert _lr(cfg, 3, []) == pytest.approx(0.01 * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi / 2))))
    plat = Config.model_validate({"schedule": {"lr": "plateau", "plateau_patience": 2, "factor": 0.5}})
    assert _plateaus(_hist([0.5, 0.4, 0.45, 0.41, 0.3, 0.35]), plat) == 1
    assert _lr(plat, 7, _hist([0.5, 0.4, 0.45, 0.41])) == pytest.approx(plat.optim.lr * 0.5)
    assert best_epoch(_hist([0.5, 0.3, 0.3, 0.4]), "dev") == 2


def _config(corpus, out_dir, **schedule):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["dev", "test"]},
        "model": {"hidden_size": 8, "num_layers": 1, "dropout": 0.0},
        "optim": {"epochs": 6, "batch_size": 4, "lr": 0.05},
        "augment": {"speed": [0.9, 1.1], "time_masks": 1},
        "schedule": schedule, "out_dir": str(out_dir)})


def test_early_stopping_restores_the_best_epoch_and_resume_agrees(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, tmp_path / "a", early_stop_patience=1, restore_best=True, lr="plateau",
                  plateau_patience=1)
    a = train(cfg)
    best = best_epoch(a.history, "dev")
    assert a.best_epoch == best and a.final_per == a.history[best - 1].per
    assert a.history[-1].epoch - best <= 1 and len(a.history) <= 6
    again = train(cfg, resume=True)  # already stopped: no more epochs, the same best weights
    assert [r.__dict__ for r in again.history] == [r.__dict__ for r in a.history]
    for p, q in zip(a.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match=r"schedule.monitor = 'test_seen' must be one of data.eval_splits"):
        train(_config(tiny_corpus, tmp_path / "b", early_stop_patience=2, monitor="test_seen"))
