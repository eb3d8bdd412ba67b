"""Export a torch :mod:`rnnaccel.nn` LSTM/GRU plus a :class:`QuantConfig` into integer parameters.

The codes are produced by the very fake-quant functions the torch model uses
(:func:`rnnaccel.quant.roles.quantized_freq_weight` etc.), so both sides start from identical
values. Circulant roles store the frequency-domain weights as k/2+1 complex bins per block
(C-LSTM/E-RNN: FFT(w) precomputed and stored); DC and Nyquist imaginary parts are 0 by symmetry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import torch
from torch import nn

from rnnaccel.nn.circulant import BlockCirculantLinear
from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant.config import QPoint, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.qformat import QFormat
from rnnaccel.quant.roles import QuantContext, quantized_dense_weight, quantized_freq_weight, role_points

__all__ = ["IntDense", "IntCirculant", "IntDirection", "IntModel", "export_model", "required_points"]


@dataclass(frozen=True)
class IntDense:
    """Dense (or pruned: zeros kept) role: ``weight`` (out, in) codes, ``bias`` (out,) codes or None."""

    weight: np.ndarray
    bias: np.ndarray | None

    @property
    def in_features(self) -> int:
        return int(self.weight.shape[1])

    @property
    def out_features(self) -> int:
        return int(self.weight.shape[0])

    @property
    def nonzeros(self) -> int:
        return int(np.count_nonzero(self.weight))

    @cached_property
    def weight_t_f64(self) -> np.ndarray:
        """``weight.T`` as float64 (codes below 2**32 are exact) for BLAS mat-vecs."""
        return np.ascontiguousarray(self.weight.T, np.float64)

    @cached_property
    def max_row_l1(self) -> int:
        """max over outputs of sum |w|: with max |x| it bounds every partial sum of ``W x``."""
        return int(np.abs(self.weight).sum(1).max(initial=0))


@dataclass(frozen=True)
class IntCirculant:
    """Block-circulant role: stored bins ``w_re, w_im`` (p, q, k/2+1) codes, ``bias`` (out,) or None."""

    w_re: np.ndarray
    w_im: np.ndarray
    bias: np.ndarray | None
    block_size: int
    in_features: int
    out_features: int
    plan: FFTPlan

    @property
    def p(self) -> int:
        return int(self.w_re.shape[0])

    @property
    def q(self) -> int:
        return int(self.w_re.shape[1])

    @cached_property
    def mac_matrix(self) -> np.ndarray:
        """Per bin f the real (2p, 2q) matrix [[Re W, -Im W], [Im W, Re W]] (float64, exact codes):
        ``[re; im]`` of the complex MAC sum_j W_ij X_j in one product."""
        wr, wi = np.moveaxis(self.w_re, -1, 0), np.moveaxis(self.w_im, -1, 0)
        return np.block([[wr, -wi], [wi, wr]]).astype(np.float64)

    @cached_property
    def max_row_l1(self) -> int:
        """max over bins and rows of sum |mac_matrix|: with max |X| it bounds every partial sum."""
        return int(np.abs(self.mac_matrix).sum(-1).max(initial=0))


IntRole = IntDense | IntCirculant


@dataclass(frozen=True)
class IntDirection:
    """One direction of one layer: roles and (LSTM) peephole codes (w_ci, w_cf, w_co) or None."""

    ih: IntRole
    hh: IntRole
    proj: IntRole | None
    peephole: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    hidden_size: int


@dataclass(frozen=True)
class IntModel:
    """Integer parameters of a whole model; ``export_overflows`` counts weight/bias saturations."""

    kind: str
    config: QuantConfig
    layers: tuple[tuple[IntDirection, ...], ...]
    input_size: int
    hidden_size: int
    proj_size: int
    export_overflows: dict[str, int] = field(default_factory=dict)

    @property
    def num_directions(self) -> int:
        return len(self.layers[0])

    @property
    def output_point(self) -> QPoint:
        """The point whose format the layer outputs (and the recurrent inputs) carry."""
        return QPoint.PROJ if self.proj_size else QPoint.HIDDEN

    @property
    def output_format(self) -> QFormat:
        return self.config[self.output_point]


def _codes(values: torch.Tensor, fmt: QFormat) -> np.ndarray:
    """Grid values -> int64 codes (exact: values are code * 2**-frac in float64)."""
    return (values.detach() * 2.0**fmt.frac).numpy().astype(np.int64)


def _export_role(module: nn.Module, ctx: QuantContext) -> IntRole:
    cfg = ctx.config
    bias = None if module.bias is None else _codes(ctx.q(module.bias.double(), QPoint.BIAS), cfg.bias)
    if isinstance(module, BlockCirculantLinear):
        plan = FFTPlan(module.block_size, cfg.twiddle)
        wr, wi = quantized_freq_weight(module, ctx)
        return IntCirculant(
            _codes(wr, cfg.weight), _codes(wi, cfg.weight), bias, module.block_size,
            module.in_features, module.out_features, plan,
        )
    return IntDense(_codes(quantized_dense_weight(module, ctx), cfg.weight), bias)


def required_points(model: nn.Module) -> list[str]:
    """Every point name the integer engine needs a format for, for this model's structure."""
    points = {QPoint.INPUT, QPoint.GATE_ACC, QPoint.SIGMOID, QPoint.TANH, QPoint.HIDDEN}
    points |= {QPoint.CELL} if isinstance(model, LSTM) else set()
    points |= {QPoint.PROJ} if getattr(model, "proj_size", 0) else set()
    for directions in model.layers:
        for d in directions:
            for role in (d.ih, d.hh, getattr(d, "proj", None)):
                if role is not None:
                    points |= {p for p in role_points(role) if p is not QPoint.BIAS or role.bias is not None}
    points |= {QPoint.WEIGHT} if getattr(model, "peephole", False) else set()
    points |= {QPoint.TWIDDLE} if QPoint.FFT in points else set()
    return sorted(p.value for p in points)


def _validate(model: nn.Module, config: QuantConfig) -> None:
    if not isinstance(model, LSTM | GRU):
        raise TypeError(f"export_model expects an rnnaccel.nn LSTM or GRU, got {type(model).__name__}")
    missing = config.missing(required_points(model))
    if config.sigmoid_pwl is None or config.tanh_pwl is None:
        missing += [n for n in ("sigmoid_pwl", "tanh_pwl") if getattr(config, n) is None]
    if missing:
        raise ValueError(f"the integer engine needs a format for every point; missing: {missing}")


def export_model(model: nn.Module, config: QuantConfig) -> IntModel:
    """Quantize a torch model's parameters into an :class:`IntModel` (the integer engine's input)."""
    _validate(model, config)
    stats = OverflowStats()
    ctx = QuantContext(config, stats)
    layers = tuple(tuple(_export_direction(d, ctx) for d in directions) for directions in model.layers)
    return IntModel(
        "lstm" if isinstance(model, LSTM) else "gru", config, layers, model.input_size,
        model.hidden_size, getattr(model, "proj_size", 0), dict(stats),
    )


def _export_direction(direction: nn.Module, ctx: QuantContext) -> IntDirection:
    proj = getattr(direction, "proj", None)
    peep = direction.peephole() if hasattr(direction, "peephole") else None
    fmt = ctx.config.weight
    peep_codes = None if peep is None else tuple(_codes(ctx.q(w.double(), QPoint.WEIGHT), fmt) for w in peep)
    return IntDirection(
        _export_role(direction.ih, ctx), _export_role(direction.hh, ctx),
        None if proj is None else _export_role(proj, ctx), peep_codes, direction.hidden_size,
    )
