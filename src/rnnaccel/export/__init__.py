"""Exports of a trained, quantized run: the integer model for the RTL and ``rnnaccel.ref``
(safetensors + JSON + ``$readmemh`` files, :mod:`rnnaccel.export.intfile`) and ONNX
(:mod:`rnnaccel.export.onnx`); what a run directory is: :mod:`rnnaccel.export.rundir`.
See docs/export.md."""

from rnnaccel.export.intfile import (
    BUILDABLE_BLOCK_SIZES,
    check_buildable,
    load_int_model,
    mem_words,
    write_int_model,
)
from rnnaccel.export.rundir import FORMATS, RunModel, load_run, quant_format, run_features

__all__ = [
    "BUILDABLE_BLOCK_SIZES",
    "FORMATS",
    "RunModel",
    "check_buildable",
    "load_int_model",
    "load_run",
    "mem_words",
    "quant_format",
    "run_features",
    "write_int_model",
]
