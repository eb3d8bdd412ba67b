"""Per-point format search (issue 13 item 4): calibration statistics per named quantization point and
the integer bits of every point chosen so that nothing saturates on the calibration data.

``calibrate`` runs the fake-quant model over calibration inputs and returns, per point, the largest
|value| before rounding and the overflow count. ``search_int_bits`` gives every point of a total
width ``W`` the fewest integer bits ``I`` (``ap_fixed<W,I>``) whose range holds that point's largest
value after rounding, and repeats calibration with the chosen formats (a format upstream changes
the values downstream) until no point overflows or ``max_rounds`` is reached (then it raises).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from rnnaccel.quant.config import POINT_NAMES, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.qformat import QFormat, quantize_float

__all__ = ["calibrate", "fewest_int_bits", "search_int_bits"]


def calibrate(model: nn.Module, config: QuantConfig, inputs: Iterable[torch.Tensor]) -> OverflowStats:
    """Overflow counts and largest |value| per point of ``quantize(model, config)`` over ``inputs``."""
    from rnnaccel.quant.model import quantize

    qmodel, stats = quantize(model, config).eval(), OverflowStats()
    with torch.no_grad():
        for x in inputs:
            qmodel(x.double(), stats=stats)
    return stats


def fewest_int_bits(amax: float, like: QFormat, width: int) -> QFormat:
    """The format ``like`` at ``width`` bits with the fewest integer bits that holds ±amax unclamped."""
    for int_bits in range(1 + like.signed, width + 33):
        fmt = replace(like, bits=width, frac=width - int_bits)
        if quantize_float(np.array([amax, -amax if like.signed else 0.0]), fmt)[1] == 0:
            return fmt
    raise ValueError(f"no {width}-bit format holds |value| {amax}")


def search_int_bits(model: nn.Module, base: QuantConfig, inputs: list[torch.Tensor], width: int,
                    max_rounds: int = 6) -> tuple[QuantConfig, OverflowStats]:
    """Every point of ``base`` that has a format at ``width`` bits, integer bits from calibration."""
    config = base
    for _ in range(max_rounds):
        stats = calibrate(model, config, inputs)
        if all(stats.get(p, 0) == 0 for p in POINT_NAMES) and config is not base:
            return config, stats
        formats = {p: fewest_int_bits(stats.amax.get(p, 0.0), config[p], width)
                   for p in POINT_NAMES if config[p] is not None}
        config = config.with_formats(**formats)
    raise ValueError(f"format search at {width} bits still overflows after {max_rounds} rounds: "
                     f"{ {p: n for p, n in stats.items() if n} }")
