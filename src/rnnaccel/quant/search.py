"""Per-point format search (issue 13 item 4): calibration statistics per named quantization point and
the integer bits of every point chosen so that nothing saturates on the calibration data.

``calibrate`` runs the fake-quant model over calibration inputs and returns, per point, the largest
|value| before rounding and the overflow count. ``search_int_bits`` gives every point of a total
width ``W`` the fewest integer bits ``I`` (``ap_fixed<W,I>``) whose range holds that point's largest
value after rounding, and repeats calibration with the chosen formats (a format upstream changes
the values downstream) until no point overflows or ``max_rounds`` is reached (then it raises).

``fit_int_bits`` needs no |value| statistics, only overflow counts per point from a ``check`` (the
compiled integer engine on calibration data, :mod:`rnnaccel.quant.formats`, or the fake-quant model):
it lowers the integer bits of every point one at a time per round while nothing overflows and raises
a point that overflows, so it works with widths per point and with the fast engine. ``search_widths``
is the search over total widths against a PER budget: every uniform width from ``max_bits`` down to
``min_bits`` (integer bits fitted per point), then, from the smallest uniform width within the budget,
each group of points (:data:`POINT_GROUPS`) narrowed on its own while the PER stays within it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from rnnaccel.quant.config import POINT_NAMES, QuantConfig
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import QFormat, quantize_float

__all__ = ["POINT_GROUPS", "Check", "WidthSearch", "WidthTrial", "calibrate", "fewest_int_bits",
           "fit_int_bits", "point_widths", "search_int_bits", "search_widths", "with_widths"]

Check = Callable[[QuantConfig], Mapping[str, int]]
"""Overflow counts per point name of a config on the calibration data; the points it reports are the
ones the model uses (a point it does not report keeps its format)."""

POINT_GROUPS: dict[str, tuple[str, ...]] = {
    "input": ("input",),
    "weights": ("weight", "bias"),
    "fft": ("twiddle", "fft", "freq_acc", "ifft"),
    "gate_acc": ("gate_acc",),
    "activations": ("sigmoid", "tanh"),  # with the PWL coefficients
    "state": ("cell", "hidden", "proj"),
}
"""Groups of points that ``search_widths`` narrows together (one datapath width per group)."""

MIN_INT_BITS = -4  # the fewest integer bits a fit tries (ap_fixed<W,-4>: |value| < 1/32)
TWIDDLE_MAX = math.cos(2 * math.pi / 64)  # largest stored (non-trivial) twiddle |re|, |im| up to k = 64


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
    for int_bits in range(MIN_INT_BITS, width + 33):
        fmt = replace(like, bits=width, frac=width - int_bits)
        if quantize_float(np.array([amax, -amax if like.signed else 0.0]), fmt)[1] == 0:
            return fmt
    raise ValueError(f"no {width}-bit format holds |value| {amax}")


def _amax(stats: OverflowStats, point: str, config: QuantConfig) -> float:
    """The calibrated |value| bound of a point; the twiddles (not calibrated): TWIDDLE_MAX; a point the
    model never rounds at: its current format's range (it keeps its integer bits)."""
    if point in stats.amax:
        return stats.amax[point]
    return TWIDDLE_MAX if point == "twiddle" else config[point].max


def search_int_bits(model: nn.Module, base: QuantConfig, inputs: list[torch.Tensor], width: int,
                    max_rounds: int = 6) -> tuple[QuantConfig, OverflowStats]:
    """Every point of ``base`` that has a format at ``width`` bits, integer bits from calibration."""
    config = base
    for _ in range(max_rounds):
        stats = calibrate(model, config, inputs)
        if all(stats.get(p, 0) == 0 for p in POINT_NAMES) and config is not base:
            return config, stats
        formats = {p: fewest_int_bits(_amax(stats, p, config), config[p], width)
                   for p in POINT_NAMES if config[p] is not None}
        config = config.with_formats(**formats)
    raise ValueError(f"format search at {width} bits still overflows after {max_rounds} rounds: "
                     f"{ {p: n for p, n in stats.items() if n} }")


def point_widths(widths: int | Mapping[str, int]) -> dict[str, int]:
    """``widths`` per point name: one int for every point, or ``{group or point name: bits}``
    (:data:`POINT_GROUPS`; a point name overrides its group's width)."""
    if isinstance(widths, int) and not isinstance(widths, bool):
        return dict.fromkeys(POINT_NAMES, widths)
    if not isinstance(widths, Mapping):
        raise TypeError(f"widths must be an int or a mapping of group/point names to ints, got {widths!r}")
    unknown = sorted(set(widths) - set(POINT_GROUPS) - set(POINT_NAMES))
    if unknown:
        raise ValueError(f"unknown group or point name(s) {unknown}, expected names from "
                         f"{sorted(POINT_GROUPS)} or {list(POINT_NAMES)}")
    out: dict[str, int] = {}
    for group, points in POINT_GROUPS.items():
        if group in widths:
            out |= dict.fromkeys(points, widths[group])
    out |= {p: w for p, w in widths.items() if p in POINT_NAMES}
    return out


def _pwl_at(pwl: PWLActivation | None, width: int | None) -> PWLActivation | None:
    """The PWL with its coefficients at ``width`` bits and the fewest integer bits that hold its
    breakpoints and +-1 (ValueError when no format of that width does); unchanged for ``width`` None."""
    if pwl is None or width is None:
        return pwl
    for int_bits in range(1, width + 1):
        try:
            return replace(pwl, coef_format=replace(pwl.coef_format, bits=width, frac=width - int_bits))
        except ValueError:
            continue
    raise ValueError(f"no {width}-bit coefficient format holds the {pwl.fn} PWL's breakpoints "
                     f"[{pwl.x_min}, {pwl.x_max}) on its grid")


def with_widths(base: QuantConfig, widths: Mapping[str, int], int_bits: Mapping[str, int]) -> QuantConfig:
    """``base`` with every point of ``widths`` that has a format at ``widths[p]`` bits and ``int_bits[p]``
    integer bits (rounding/overflow modes kept); the PWL coefficients at the width of their activation's
    point (ValueError when the breakpoints are then off the coefficient grid)."""
    formats = {p: replace(base[p], bits=widths[p], frac=widths[p] - int_bits[p])
               for p in POINT_NAMES if base[p] is not None and p in widths}
    cfg = base.with_formats(**formats)
    return replace(cfg, sigmoid_pwl=_pwl_at(base.sigmoid_pwl, widths.get("sigmoid")),
                   tanh_pwl=_pwl_at(base.tanh_pwl, widths.get("tanh")))


def fit_int_bits(check: Check, base: QuantConfig, widths: int | Mapping[str, int], *,
                 start: Mapping[str, int] | None = None, max_rounds: int = 48,
                 ) -> tuple[QuantConfig, dict[str, int], int]:
    """Integer bits per point at the given total ``widths`` such that ``check`` reports no overflow.

    A search per point, all points in parallel, one ``check`` per round: each point the check
    reports keeps the last integer-bit count that did not overflow (``ok``) and the last that did
    (``bad``, at first :data:`MIN_INT_BITS` - 1) and tries the middle (bisection); with a ``start``
    (a neighbouring width's result) it first tries 1, 2, 4, ... bits below ``ok`` (galloping: two
    checks when the start is already the answer). A point that overflows with no ``ok`` yet gets one
    more bit. Starts from ``start`` (default ``base``'s integer bits; the twiddles,
    which no check counts, get the fewest that hold :data:`TWIDDLE_MAX`; unreported points keep theirs).
    Ends when the configuration just checked had no overflow and every reported point sits at its
    ``ok`` with ``bad`` = ``ok`` - 1: one fewer integer bit at any point overflowed in some round (given
    the other points at that time). Returns (config, the check's zero overflow counts, rounds = checks
    run). ValueError when a point overflows with all bits integer bits, or after ``max_rounds`` checks.
    """
    per_point = point_widths(widths)
    points = [p for p in POINT_NAMES if base[p] is not None]
    missing = [p for p in points if p not in per_point]
    if missing:
        raise ValueError(f"no width for point(s) {missing}")
    ibits = {p: min(max((start or {}).get(p, base[p].int_bits), MIN_INT_BITS), per_point[p]) for p in points}
    if base.twiddle is not None:
        ibits["twiddle"] = fewest_int_bits(TWIDDLE_MAX, base.twiddle, per_point["twiddle"]).int_bits
    ok: dict[str, int | None] = dict.fromkeys(points)
    bad = dict.fromkeys(points, MIN_INT_BITS - 1)
    step = dict.fromkeys(points, 1 if start else 64)  # galloping step below ok (64: plain bisection)
    passed: tuple[dict[str, int], QuantConfig, dict[str, int]] | None = None  # the last clean check
    for rounds in range(1, max_rounds + 1):
        config = with_widths(base, per_point, ibits)
        counts = dict(check(config))
        reported = [p for p in points if p in counts and p != "twiddle"]
        for p in reported:
            if counts[p] > 0:
                bad[p] = ibits[p]
                if ok[p] is not None and ok[p] <= ibits[p]:
                    ok[p] = None  # it passed before only because of the other points' trial values
            else:
                if ok[p] is not None and ibits[p] < ok[p]:
                    step[p] *= 2
                ok[p] = ibits[p]
        if all(counts[p] == 0 and ok[p] - bad[p] <= 1 for p in reported):
            return config, counts, rounds
        if all(counts.get(p, 0) == 0 for p in points):
            passed = (dict(ibits), config, counts)
        for p in reported:
            if ok[p] is None:
                if bad[p] >= per_point[p]:
                    raise ValueError(f"point {p!r} overflows on the calibration data even as "
                                     f"ap_fixed<{per_point[p]},{per_point[p]}> ({counts[p]} values)")
                ibits[p] = bad[p] + 1
            else:
                ibits[p] = max(ok[p] - step[p], (ok[p] + bad[p] + 1) // 2) if ok[p] - bad[p] > 1 else ok[p]
        settled = all(ok[p] is not None and ok[p] - bad[p] <= 1 for p in reported)
        if passed is not None and passed[0] == ibits and settled:
            return passed[1], passed[2], rounds  # the next config was checked already: no overflow
    raise ValueError(f"integer-bit fit at widths {dict(widths) if isinstance(widths, Mapping) else widths} "
                     f"did not settle within {max_rounds} checks")


@dataclass(frozen=True)
class WidthTrial:
    """One evaluated configuration: the widths per group, the fitted config and its PER."""

    widths: dict[str, int]
    config: QuantConfig
    per: float
    rounds: int  # checks the integer-bit fit ran
    extra: dict = field(default_factory=dict)  # whatever the evaluator adds (overflows, other splits)

    @property
    def total_bits(self) -> int | None:
        """The one width of a uniform trial, else None."""
        values = set(self.widths.values())
        return values.pop() if len(values) == 1 else None

    def to_dict(self) -> dict:
        return {"widths": dict(self.widths), "per": self.per, "fit_checks": self.rounds,
                "formats": {p: v for p, v in self.config.as_dict().items() if p in POINT_NAMES},
                **self.extra}


@dataclass(frozen=True)
class WidthSearch:
    """The result of :func:`search_widths`."""

    reference_per: float
    budget: float
    uniform: list[WidthTrial]  # max_bits down to min_bits
    groups: list[WidthTrial]  # the per-group narrowing steps tried, in order
    best_uniform: WidthTrial | None  # smallest uniform width within the budget
    best: WidthTrial | None  # the per-group result (or best_uniform when groups were not searched)

    def within(self, trial: WidthTrial) -> bool:
        return trial.per <= self.reference_per + self.budget


Evaluate = Callable[[QuantConfig], tuple[float, dict]]


def search_widths(check: Check, evaluate: Evaluate, base: QuantConfig, reference_per: float, budget: float,
                  min_bits: int = 8, max_bits: int = 16, *, groups: bool = True,
                  log: Callable[[str], None] | None = None) -> WidthSearch:
    """The smallest widths whose PER stays within ``reference_per + budget`` (fractions, not points).

    Every uniform width ``max_bits`` .. ``min_bits`` gets its integer bits from :func:`fit_int_bits`
    (seeded with the previous width's) and is evaluated (``evaluate(config) -> (PER, extra)``); the
    smallest one within the budget is ``best_uniform`` (the PER need not fall monotonically with the
    width, so every width is tried). With ``groups``, each group of :data:`POINT_GROUPS` is then
    narrowed by one bit at a time from there while the PER stays within the budget (greedy, groups in
    their order); ``best`` is the narrowest within the budget found.
    """
    if not 2 <= min_bits <= max_bits <= 32:
        raise ValueError(f"need 2 <= min_bits <= max_bits <= 32, got {min_bits}..{max_bits}")
    if not budget >= 0:
        raise ValueError(f"PER budget must be >= 0, got {budget}")
    log = log or (lambda _msg: None)
    limit = reference_per + budget

    def trial(widths: dict[str, int], start: Mapping[str, int] | None) -> WidthTrial:
        cfg, _, rounds = fit_int_bits(check, base, widths, start=start)
        per, extra = evaluate(cfg)
        return WidthTrial(dict(widths), cfg, per, rounds, extra)

    uniform: list[WidthTrial] = []
    start: dict[str, int] | None = None
    for bits in range(max_bits, min_bits - 1, -1):
        try:
            t = trial(dict.fromkeys(POINT_GROUPS, bits), start)
        except ValueError as exc:  # a point needs more bits than the width has: narrower ones fail too
            log(f"{bits} bits: no format fits ({exc}); narrower widths not tried")
            break
        start = {p: t.config[p].int_bits for p in POINT_NAMES if t.config[p] is not None}
        uniform.append(t)
        log(f"{bits} bits: PER {100 * t.per:.2f} % ({'within' if t.per <= limit else 'over'} the budget, "
            f"{t.rounds} checks)")
    inside = [t for t in uniform if t.per <= limit]
    best_uniform = min(inside, key=lambda t: t.total_bits) if inside else None
    best, steps = best_uniform, []
    if groups and best_uniform is not None:
        for group in POINT_GROUPS:
            while best.widths[group] > min_bits:
                widths = {**best.widths, group: best.widths[group] - 1}
                start = {p: best.config[p].int_bits for p in POINT_NAMES if best.config[p] is not None}
                try:
                    t = trial(widths, start)
                except ValueError as exc:
                    log(f"{group} at {widths[group]} bits: no format fits ({exc})")
                    break
                steps.append(t)
                ok = t.per <= limit
                log(f"{group} at {widths[group]} bits: PER {100 * t.per:.2f} % ({'kept' if ok else 'over'})")
                if not ok:
                    break
                best = t
    return WidthSearch(reference_per, budget, uniform, steps, best_uniform, best)
