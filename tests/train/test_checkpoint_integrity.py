"""Checkpoint integrity: NaN guard, damaged/foreign checkpoints, confined paths, resume only the same run."""

import json
import math
import shutil

import pytest
import torch

from rnnaccel.data.timit import list_split
from rnnaccel.train import Config, train
from rnnaccel.train import checkpoint as ckpt
from rnnaccel.train.checkpoint import POINTER, load_checkpoint, restore, save_checkpoint
from rnnaccel.train.model import build_model


def _config(corpus, out_dir, **optim):
    return Config.model_validate({
        "data": {"corpus": str(corpus), "cache_dir": None, "eval_splits": ["test"]},
        "model": {"hidden_size": 8, "num_layers": 1, "bidirectional": False},
        "optim": {"epochs": 1, "batch_size": 4, "lr": 0.01, **optim},
        "out_dir": str(out_dir)})


def _poison(model: torch.nn.Module) -> torch.nn.Module:
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = math.nan
    return model


def test_nan_loss_stops_with_epoch_and_batch(tiny_corpus, tmp_path):
    config = _config(tiny_corpus, tmp_path / "run")
    with pytest.raises(ValueError, match=r"loss is nan at epoch 1, batch 1"):
        train(config, model_factory=lambda c, n: _poison(build_model(c.model, n)))
    assert not (tmp_path / "run" / POINTER).exists()


@pytest.fixture(scope="module")
def trained(tiny_corpus, tmp_path_factory):
    run = tmp_path_factory.mktemp("trained") / "run"
    train(_config(tiny_corpus, run))
    return run


@pytest.fixture
def run(trained, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def test_resume_continues_the_same_run(tiny_corpus, run):
    result = train(_config(tiny_corpus, run, epochs=2), resume=True)
    assert [r.epoch for r in result.history] == [1, 2]
    assert json.loads((run / POINTER).read_text())["epoch"] == 2
    assert sorted(p.name for p in run.glob("epoch-*")) == ["epoch-2.safetensors"]


@pytest.mark.parametrize(("change", "message"), [
    ({"lr": 0.02}, r"optim\.lr 0\.01 -> 0\.02"),
    ({"seed": 7}, r"optim\.seed 0 -> 7"),
    ({"loss": "ce"}, r'optim\.loss "ctc" -> "ce"'),
])  # fmt: skip
def test_resume_refuses_another_config(tiny_corpus, run, change, message):
    with pytest.raises(ValueError, match=rf"{POINTER}: cannot resume: .*{message}"):
        train(_config(tiny_corpus, run, epochs=2, **change), resume=True)


def test_resume_refuses_other_data(tiny_corpus, run, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(tiny_corpus, corpus)
    wav = list_split(corpus, "train")[0].wav
    data = bytearray(wav.read_bytes())
    data[3000:3004] = b"\x10\x00\x10\x00"
    wav.write_bytes(bytes(data))
    state = json.loads((run / POINTER).read_text())
    state["config"]["data"]["corpus"] = str(corpus)  # same config apart from the data's content
    (run / POINTER).write_text(json.dumps(state))
    with pytest.raises(ValueError, match="cannot resume: .*training data SHA-256"):
        train(_config(corpus, run, epochs=2), resume=True)


def test_resume_accepts_the_same_data_under_another_path(tiny_corpus, run, tmp_path):
    corpus = tmp_path / "moved" / "corpus"
    shutil.copytree(tiny_corpus, corpus)  # same files, another spelling of data.corpus
    result = train(_config(corpus, run, epochs=2), resume=True)
    assert [r.epoch for r in result.history] == [1, 2]


def test_resume_accepts_a_checkpoint_older_than_a_new_key_at_its_default(tiny_corpus, run):
    state = json.loads((run / POINTER).read_text())
    del state["config"]["augment"]["warp"]  # written before augment.warp existed
    (run / POINTER).write_text(json.dumps(state))
    assert [r.epoch for r in train(_config(tiny_corpus, run, epochs=2), resume=True).history] == [1, 2]
    state = json.loads((run / POINTER).read_text())
    del state["config"]["augment"]["warp"]
    (run / POINTER).write_text(json.dumps(state))
    config = Config.model_validate({**_config(tiny_corpus, run, epochs=3).model_dump(),
                                    "augment": {"warp": 0.1}})  # not what the older version did
    with pytest.raises(ValueError, match=r"cannot resume: .*augment\.warp 0\.0 -> 0\.1"):
        train(config, resume=True)


def _rewrite_pointer(run, **fields):
    state = json.loads((run / POINTER).read_text())
    (run / POINTER).write_text(json.dumps({**state, **fields}))


def test_damaged_or_malformed_checkpoints_name_the_file(run, tmp_path):
    tensors = run / "epoch-1.safetensors"
    data = bytearray(tensors.read_bytes())
    data[-50:-40] = b"\x7f" * 10
    tensors.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=rf"{tensors}: damaged checkpoint \(its SHA-256 differs"):
        load_checkpoint(run)
    (run / POINTER).write_text('{"epoch": 1, "tensors": ')
    with pytest.raises(ValueError, match=rf"{run / POINTER}: damaged checkpoint pointer \(not valid JSON\)"):
        load_checkpoint(run)
    (run / POINTER).write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        load_checkpoint(run)


def test_tensor_paths_are_confined_to_the_run_directory(run, tmp_path):
    outside = tmp_path / "outside.safetensors"
    shutil.copy(run / "epoch-1.safetensors", outside)
    _rewrite_pointer(run, tensors="../outside.safetensors")
    with pytest.raises(ValueError, match=r"'tensors' must name an epoch-<N>\.safetensors file"):
        load_checkpoint(run)
    (run / "epoch-1.safetensors").unlink()
    (run / "epoch-1.safetensors").symlink_to(outside)
    _rewrite_pointer(run, tensors="epoch-1.safetensors")
    with pytest.raises(ValueError, match="leads outside the run directory"):
        load_checkpoint(run)


def test_missing_optimizer_state_is_an_error_not_a_fresh_adam(tiny_corpus, run):
    from safetensors.torch import load_file, save_file

    path = run / "epoch-1.safetensors"
    tensors = {k: v for k, v in load_file(str(path)).items() if not k.startswith("optim.")}
    save_file(tensors, str(path))
    _rewrite_pointer(run, sha256=ckpt._sha256(path))
    with pytest.raises(ValueError, match=rf"{path}: optimizer state is missing"):
        train(_config(tiny_corpus, run, epochs=2), resume=True)


def test_checkpoint_of_another_network_is_a_clear_error(run):
    _, tensors = load_checkpoint(run)
    other = build_model(_config("x", run).model.model_copy(update={"hidden_size": 12}), 39)
    with pytest.raises(ValueError, match=r"src: model\..* has shape .* the model expects"):
        restore(other, None, tensors, "src")
    gru = build_model(_config("x", run).model.model_copy(update={"cell": "gru"}), 39)
    with pytest.raises(ValueError, match="src: .*the checkpoint was made for another network"):
        restore(gru, None, tensors, "src")
    deeper = build_model(_config("x", run).model.model_copy(update={"num_layers": 2}), 39)
    with pytest.raises(ValueError, match=r"src: the checkpoint does not fit the model \(missing \['rnn"):
        restore(deeper, None, tensors, "src")


def test_non_finite_weights_are_not_saved_and_the_last_good_checkpoint_stays(run):
    state, tensors = load_checkpoint(run)
    model = build_model(_config("x", run).model, 39)
    restore(model, None, tensors)
    optim = torch.optim.Adam(model.parameters())
    with pytest.raises(ValueError, match=r"epoch 2 \(not saved; the previous checkpoint .* is kept\): "):
        save_checkpoint(run, 2, _poison(model), optim, {}, {"history": []})
    assert load_checkpoint(run)[0]["epoch"] == 1


def test_a_failed_save_keeps_the_previous_checkpoint(run, monkeypatch):
    state, tensors = load_checkpoint(run)
    model = build_model(_config("x", run).model, 39)
    restore(model, None, tensors)

    def fail(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt, "_sha256", fail)
    with pytest.raises(ValueError, match=r"epoch-2\.safetensors: cannot write the checkpoint \(No space"):
        save_checkpoint(run, 2, model, torch.optim.Adam(model.parameters()), {}, {"history": []})
    monkeypatch.undo()
    assert load_checkpoint(run)[0]["epoch"] == 1 and (run / "epoch-1.safetensors").exists()


def test_out_dir_that_is_a_file_is_an_error_naming_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    model = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"out_dir '.*file': cannot create the run directory"):
        save_checkpoint(blocker, 1, model, torch.optim.Adam(model.parameters()), {}, {})


def test_train_into_an_out_dir_that_is_a_file_fails_before_training(tiny_corpus, tmp_path, monkeypatch):
    import rnnaccel.train.loop as loop

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setattr(loop, "_epoch", lambda *a, **k: pytest.fail("trained before checking out_dir"))
    with pytest.raises(ValueError, match=r"out_dir '.*file': cannot create the run directory"):
        train(_config(tiny_corpus, blocker))
