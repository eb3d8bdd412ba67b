"""Integer reference kernels: the executable spec of the fixed-point LSTM/GRU datapath
(bit-exact with :mod:`rnnaccel.quant`'s fake-quant model; see docs/fixedpoint.md)."""

from rnnaccel.ref.engine import (
    Engine,
    Fx,
    RefResult,
    apply_role,
    ref_gru,
    ref_lstm,
    run_direction,
    run_int_model,
)
from rnnaccel.ref.export import IntCirculant, IntDense, IntDirection, IntModel, export_model, required_points
from rnnaccel.ref.fast import fast_path_reason, run_fast
from rnnaccel.ref.fft import irfft_int, rfft_int

__all__ = [
    "Engine",
    "Fx",
    "IntCirculant",
    "IntDense",
    "IntDirection",
    "IntModel",
    "RefResult",
    "apply_role",
    "export_model",
    "fast_path_reason",
    "irfft_int",
    "ref_gru",
    "ref_lstm",
    "required_points",
    "rfft_int",
    "run_fast",
    "run_direction",
    "run_int_model",
]
