"""optim.distill: frame-level KL to a teacher, used by the flow's block-circulant direct stage."""

import copy

import pytest
import torch

from rnnaccel.compress.pipeline import direct_flow
from rnnaccel.train import Config, load_data, train
from rnnaccel.train.loop import _loss


def _config(corpus, out_dir, distill=1.0, epochs=2):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["test"]},
        "model": {"hidden_size": 8, "num_layers": 1},
        "optim": {"epochs": epochs, "batch_size": 4, "lr": 0.05, "distill": distill},
        "out_dir": str(out_dir)})


def test_distill_adds_the_kl_to_the_teacher_and_replays_on_resume(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, tmp_path / "t", distill=0.0)
    data = load_data(cfg)
    teacher = train(cfg, data=data).model
    feats, frames, phones = data[0].feats[:3], data[0].frames[:3], data[0].phones[:3]
    plain = _loss(teacher, feats, frames, phones, "ctc").item()
    same = _loss(teacher, feats, frames, phones, "ctc", teacher, 2.0).item()  # KL to itself: 0 (eval mode)
    assert same == pytest.approx(plain, abs=1e-6)
    other = copy.deepcopy(teacher)
    with torch.no_grad():
        other.output.weight.mul_(0.5)
    with_kl = _loss(other, feats, frames, phones, "ctc", teacher, 1.0)
    assert with_kl > _loss(other, feats, frames, phones, "ctc")
    assert teacher.training  # the teacher ran in eval mode and got its mode back
    full = train(_config(tiny_corpus, tmp_path / "full", epochs=3), model=copy.deepcopy(other), data=data,
                 teacher=teacher)
    train(_config(tiny_corpus, tmp_path / "cut", epochs=1), model=copy.deepcopy(other), data=data,
          teacher=teacher)
    resumed = train(_config(tiny_corpus, tmp_path / "cut", epochs=3), model=copy.deepcopy(other), data=data,
                    teacher=teacher, resume=True)
    assert [r.loss for r in resumed.history] == [r.loss for r in full.history]
    alone = train(_config(tiny_corpus, tmp_path / "alone", epochs=3), model=copy.deepcopy(other), data=data)
    assert [r.loss for r in alone.history] != [r.loss for r in full.history]  # no teacher: no KL


def test_direct_flow_distills_from_the_dense_model(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, tmp_path / "d", distill=0.0)
    data = load_data(cfg)
    dense = train(cfg, data=data).model
    a = direct_flow(dense, _config(tiny_corpus, tmp_path / "a"), 4, 1, data, tmp_path / "a")
    b = direct_flow(dense, _config(tiny_corpus, tmp_path / "b", distill=0.0), 4, 1, data, tmp_path / "b")
    assert a.stages["projected"] == b.stages["projected"]
    assert a.stages["direct"][0]["loss"] > b.stages["direct"][0]["loss"]  # the KL term is in the loss
