"""rnnaccel.quant.recognizer: the moved QuantRecognizer and presets (old import paths still work)."""

import numpy as np
import pytest
import torch
from torch import nn

from rnnaccel.nn.rnn import LSTM
from rnnaccel.quant import QUANT_PRESETS, QuantConfig, QuantRecognizer, quant_preset, quantize_float
from rnnaccel.ref import export_model, run_int_model
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


class _Recognizer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = LSTM(6, 8, 2, dropout=0.5, batch_first=True, bidirectional=True, block_size=4)
        self.output = nn.Linear(16, 5)


def test_wrapping_keeps_eval_mode_so_dropout_does_not_break_bit_exactness():
    """Issue 13 (bit_exact=False in the flow): a fresh QuantRecognizer was in training mode, so the
    fake-quant torch applied the RNN's inter-layer dropout and differed from the integer engine."""
    torch.manual_seed(0)
    model = _Recognizer().double().eval()
    cfg = quant_preset("16bit")
    wrapped = QuantRecognizer(model, cfg)
    assert not wrapped.training and not wrapped.rnn.training
    codes, _ = quantize_float(np.random.default_rng(0).normal(size=(1, 7, 6)), cfg.input)
    ref = run_int_model(export_model(model.rnn, cfg), codes)
    with torch.no_grad():
        y = wrapped.rnn(torch.from_numpy(codes * cfg.input.lsb))[0].numpy()
    assert np.array_equal(y * 2.0**ref.output_format.frac, ref.output)
    assert QuantRecognizer(model.train(), cfg).training  # a training model stays a training one (QAT)


def test_lengths_make_the_output_independent_of_the_batching():
    """Issue 12 item 4 for the fake-quant model (QAT trains through it): with lengths, a padded batch
    gives each utterance exactly its batch-1 output, the reverse direction starting at its last frame."""
    torch.manual_seed(0)
    wrapped = QuantRecognizer(_Recognizer().double().eval(), quant_preset("16bit"))
    utts = [torch.randn(n, 6, dtype=torch.float64) for n in (7, 4, 6)]
    batch = nn.utils.rnn.pad_sequence(utts, batch_first=True)
    with torch.no_grad():
        logp = wrapped(batch, lengths=torch.tensor([7, 4, 6]))
        alone = [wrapped(u[None])[0] for u in utts]
        padded = wrapped(batch)  # without lengths the reverse direction starts in the padding
    assert logp.shape == (3, 7, 5)
    for i, ref in enumerate(alone):
        assert torch.equal(logp[i, : len(ref)], ref)
    assert not torch.equal(padded[1, :4], alone[1])
    assert torch.equal(wrapped(batch[:1], lengths=torch.tensor([7])), wrapped(batch[:1]))
