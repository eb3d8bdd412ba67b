"""Stale trials (issue 16 item 2): a finished trial is reused only when every setting and the data it was
made from are the same; any other change reruns exactly the trials that depend on it, with a note."""

import pytest
from study_fakes import FakeRunner
from test_compress_select import _config

from rnnaccel.compress.config import TrainSettings
from rnnaccel.compress.sweep import _SETTINGS, Sweep

# not in any trial's fingerprint, on purpose: features are cached by content; a prune trial's sparsity is
# part of its TrialSpec (the sweep's grid runs admm/direct only)
EXEMPT = {"cache_dir", "prune_sparsity"}
ALL = ["lstm-h64-dense", "lstm-h64-admm-k8", "lstm-h64-admm-k8-16bit"]  # what the reduced strategy runs


class DataRunner(FakeRunner):
    def __init__(self, data="corpus-a"):
        super().__init__()
        self.data = data

    def data_fingerprint(self):
        return self.data


def test_every_training_setting_is_in_a_fingerprint_or_exempt():
    used = {name for names in _SETTINGS.values() for name in names}
    assert set(TrainSettings.model_fields) - used == EXEMPT


def _rerun(tmp_path, runner, **over):
    Sweep(_config(tmp_path), runner=DataRunner()).run()
    summary = Sweep(_config(tmp_path, **over), runner=runner).run()
    return runner.calls, summary["notes"]


@pytest.mark.parametrize("train", [{"dense_epochs": 7}, {"lr": 1e-3}, {"seed": 5},
                                   {"max_train_utterances": 9}, {"corpus": "elsewhere"}])
def test_a_changed_dense_setting_reruns_every_trial(tmp_path, train):
    settings = TrainSettings(**{**TrainSettings().model_dump(), **train})
    calls, notes = _rerun(tmp_path, DataRunner(), train=settings)
    assert calls == ALL
    assert any("(lstm-h64-dense) was made by another config or data" in n for n in notes), notes


def test_changed_data_reruns_every_trial(tmp_path):
    calls, notes = _rerun(tmp_path, DataRunner("corpus-b"))  # same config, other features/labels
    assert calls == ALL and any("made by another config or data" in n for n in notes)


def test_a_setting_no_trial_uses_reruns_nothing(tmp_path):
    settings = TrainSettings(direct_epochs=3, cache_dir="other-cache")  # the grid's method is admm
    calls, notes = _rerun(tmp_path, DataRunner(), train=settings)
    assert calls == [] and notes == []


def test_quantization_settings_rerun_only_the_quantized_trial(tmp_path):
    calls, _ = _rerun(tmp_path, DataRunner(), train=TrainSettings(qat_epochs=2))
    assert calls == ["lstm-h64-admm-k8-16bit"]
