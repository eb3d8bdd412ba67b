import json

import numpy as np
import pytest
import torch

from rnnaccel.data.phones import phone_index
from rnnaccel.nn import GRU, LSTM
from rnnaccel.train import Config, evaluate, load_config, load_data, train
from rnnaccel.train.decode import BLANK, beam_decode, greedy_decode, phone_error_rate
from rnnaccel.train.model import fused_rnn


def _config(corpus, out_dir, **optim):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["test"]},
        "model": {"hidden_size": 16, "num_layers": 1, "block_size": optim.pop("block_size", None)},
        "optim": {"epochs": 2, "batch_size": 4, "lr": 0.01, **optim},
        "out_dir": str(out_dir)})


def test_shipped_configs_parse():
    dense, k8 = load_config("configs/train_bilstm.toml"), load_config("configs/train_bilstm_k8.toml")
    assert dense.model.block_size is None and k8.model.block_size == 8
    assert dense.model.bidirectional and dense.optim.loss == "ctc"


def test_config_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[model]\nhiden_size = 3\n")
    with pytest.raises(ValueError, match=r"bad.toml: invalid config.*hiden_size"):
        load_config(bad)
    bad.write_text("[optim]\nlr = -1\n")
    with pytest.raises(ValueError, match=r"invalid config.*lr"):
        load_config(bad)
    yml = tmp_path / "c.yaml"
    yml.write_text("model:\n  cell: gru\n  block_size: {input: 4, recurrent: 8}\n")
    assert load_config(yml).model.block_size == {"input": 4, "recurrent": 8}
    yml.write_text("model:\n  block_size: 0\n")
    with pytest.raises(ValueError, match=r"c.yaml: invalid config: model: Value error, block_size must be an "
                                         r"integer >= 1, got 0"):
        load_config(yml)


def test_missing_corpus_tells_the_synth_command(tmp_path):
    with pytest.raises(ValueError, match=r"rnnaccel data synth .*nope"):
        train(_config(tmp_path / "nope", tmp_path / "run"))


def test_greedy_and_beam_decoding():
    lp = np.full((6, BLANK + 1), -10.0)
    for t, c in enumerate([3, 3, BLANK, 3, 7, BLANK]):
        lp[t, c] = 0.0
    assert greedy_decode(lp) == [3, 3, 7]
    assert beam_decode(lp, 4) == [3, 3, 7]


def test_per_after_folding():
    ref = [phone_index(p) for p in ("h#", "pcl", "p", "ix", "q", "n", "h#")]
    hyp = [phone_index(p) for p in ("h#", "bcl", "p", "ih", "n", "n", "h#")]
    # folded ref: sil sil p ih n sil (ix->ih, q deleted); hyp: sil sil p ih n n sil -> 1 insertion
    assert phone_error_rate([ref], [hyp]) == pytest.approx(1 / 6)


@pytest.mark.parametrize("make", [
    lambda: LSTM(7, 5, 2, batch_first=True, bidirectional=True),
    lambda: LSTM(7, 8, 1, batch_first=True, block_size=4, proj_size=4),
    lambda: GRU(7, 8, 2, batch_first=True, bidirectional=True, block_size={"input": None, "recurrent": 4}),
])
def test_fused_training_path_equals_layer(make):
    rnn = make()
    x = torch.randn(2, 9, 7)
    torch.testing.assert_close(fused_rnn(rnn, x), rnn(x)[0], rtol=1e-5, atol=1e-6)


def test_ctc_loss_decreases(tiny_corpus, tmp_path):
    result = train(_config(tiny_corpus, tmp_path / "run", epochs=4))
    losses = [r.loss for r in result.history]
    assert losses[-1] < losses[0]
    assert 0.0 <= result.final_per["test"]


def test_framewise_ce_and_block_size(tiny_corpus, tmp_path):
    cfg = _config(tiny_corpus, tmp_path / "ce", loss="ce", epochs=2, block_size=4)
    seen = []
    result = train(cfg, on_epoch=lambda r, m: seen.append(r.epoch),
                   extra_loss=lambda m: 0.0 * m.output.weight.sum())
    assert seen == [1, 2] and result.history[1].loss < result.history[0].loss
    data = load_data(cfg)
    per = evaluate(result.model, data[1]["test"], loss="ce")
    assert per == pytest.approx(result.final_per["test"], abs=1e-5)


def test_resume_after_kill_gives_the_same_result(tiny_corpus, tmp_path):
    full = train(_config(tiny_corpus, tmp_path / "full", epochs=3))
    # "killed" after epoch 1: an interrupted run left its checkpoint and a stray temp file
    train(_config(tiny_corpus, tmp_path / "cut", epochs=1))
    (tmp_path / "cut" / ".epoch-2.safetensors.999.tmp").write_bytes(b"partial")
    resumed = train(_config(tiny_corpus, tmp_path / "cut", epochs=3), resume=True)
    assert [r.loss for r in resumed.history] == [r.loss for r in full.history]
    assert [r.per for r in resumed.history] == [r.per for r in full.history]
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    state = json.loads((tmp_path / "cut" / "checkpoint.json").read_text())
    assert state["epoch"] == 3 and state["tensors"] == "epoch-3.safetensors"
