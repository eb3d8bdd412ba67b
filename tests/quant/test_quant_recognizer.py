"""rnnaccel.quant.recognizer: the moved QuantRecognizer and presets (old import paths still work)."""

import pytest
import torch

from rnnaccel.quant import QUANT_PRESETS, QuantConfig, QuantRecognizer, quant_preset
from rnnaccel.shape import RnnShape
from rnnaccel.train import build_model


def test_old_import_paths_name_the_same_objects():
    from rnnaccel.compress.pipeline import QuantRecognizer as from_pipeline
    from rnnaccel.compress.trials import quant_preset as from_trials

    assert from_pipeline is QuantRecognizer and from_trials is quant_preset


def test_presets():
    assert QUANT_PRESETS == ("16bit", "12bit")
    assert quant_preset("16bit") == QuantConfig.c_lstm() and quant_preset("12bit") == QuantConfig.twelve_bit()
    with pytest.raises(ValueError, match=r"unknown quantization preset '8bit', expected one of \['12bit', "):
        quant_preset("8bit")


def test_wraps_a_recognizer_and_shares_its_output_layer():
    model = build_model(RnnShape("lstm", 6, 8, proj_size=4, block_sizes=4)).double()
    wrapped = QuantRecognizer(model, quant_preset("16bit"))
    assert wrapped.output is model.output
    x = torch.randn(2, 5, 6, dtype=torch.float64)
    logp = wrapped(x)
    assert logp.shape == (2, 5, 62)
    assert torch.equal(logp, torch.log_softmax(model.output(wrapped.rnn(x)[0]), dim=-1))
