"""Fixed point for LSTM/GRU inference: QFormat, fake quantization with STE, PWL activations, the
fixed-point FFT and fake-quantized cells with named quantization points (docs/fixedpoint.md)."""

from rnnaccel.quant.config import POINT_NAMES, QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats, fake_quant
from rnnaccel.quant.fft import FFTPlan, fft_error_bound, irfft_q, rfft_q
from rnnaccel.quant.model import QuantGRU, QuantLSTM, quantize
from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import Overflow, QFormat, Rounding, quantize_float, requantize
from rnnaccel.quant.recognizer import QUANT_PRESETS, QuantRecognizer, quant_preset
from rnnaccel.quant.search import calibrate, fit_int_bits, search_int_bits, search_widths

__all__ = [
    "POINT_NAMES",
    "QUANT_PRESETS",
    "FFTPlan",
    "Overflow",
    "OverflowStats",
    "PWLActivation",
    "QFormat",
    "QPoint",
    "QuantConfig",
    "QuantGRU",
    "QuantLSTM",
    "QuantRecognizer",
    "Rounding",
    "calibrate",
    "fake_quant",
    "fft_error_bound",
    "fit_int_bits",
    "irfft_q",
    "quantize",
    "quant_preset",
    "quantize_float",
    "requantize",
    "rfft_q",
    "search_int_bits",
    "search_widths",
]
