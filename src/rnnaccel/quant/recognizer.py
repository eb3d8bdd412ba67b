"""A fake-quantized phone recognizer and the named quantization presets of the flows.

:class:`QuantRecognizer` wraps a trained ``rnnaccel.train.PhoneRecognizer`` (or a compressed copy):
its RNN runs fake-quantized through :func:`rnnaccel.quant.quantize`, its output layer stays float (it
is not part of the accelerator). ``rnnaccel.compress`` trains it (QAT) and ``rnnaccel.flow`` exports it
to the integer engine.
"""

from __future__ import annotations

import torch
from torch import nn

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.model import quantize

__all__ = ["QUANT_PRESETS", "QuantRecognizer", "quant_preset"]

QUANT_PRESETS: tuple[str, ...] = ("16bit", "12bit")


def quant_preset(name: str) -> QuantConfig:
    """``"16bit"``: C-LSTM's ap_fixed<16,8> + 20-segment PWL; ``"12bit"``: 12-bit + 32-segment PWL."""
    presets = {"16bit": QuantConfig.c_lstm, "12bit": QuantConfig.twelve_bit}
    if name not in presets:
        raise ValueError(f"unknown quantization preset {name!r}, expected one of {sorted(presets)}")
    return presets[name]()


class QuantRecognizer(nn.Module):
    """A phone recognizer whose RNN runs fake-quantized (``rnnaccel.quant.quantize``); shares parameters.

    The quantized RNN computes in float64 on the fixed-point grids; its output is cast back to the
    output layer's dtype. The output layer itself stays float (it is not part of the accelerator).
    """

    def __init__(self, recognizer: nn.Module, quant_config: QuantConfig) -> None:
        super().__init__()
        from rnnaccel.compress.roles import find_rnn

        self.rnn = quantize(find_rnn(recognizer), quant_config)
        self.output = recognizer.output
        # A new Module is in training mode, which applies the RNN's inter-layer dropout: wrapping must
        # not turn an evaluated model back into a training one (it broke the flow's bit-exact check).
        self.train(recognizer.training)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``lengths`` (batch,): frames of each padded utterance. Each utterance runs over its own
        frames, its reverse direction starting at its last one, so the output does not depend on the
        batching (as ``rnnaccel.train``'s float model and the integer engine); the RNN outputs beyond
        an utterance's length are zeros. The fused path runs the batch at once, the reference loop
        one utterance at a time (``rnnaccel.quant.model._QuantRNN.forward_quant``)."""
        y, _ = self.rnn(x, lengths=lengths)
        return torch.log_softmax(self.output(y.to(self.output.weight.dtype)), dim=-1)
