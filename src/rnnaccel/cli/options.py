"""Option types for numbers: NaN, Inf and out-of-range values are usage errors, not silent defaults."""

from __future__ import annotations

import math

import click

__all__ = ["NON_NEGATIVE_INT", "POSITIVE_INT", "FiniteFloat", "finite_float"]

POSITIVE_INT = click.IntRange(min=1)
NON_NEGATIVE_INT = click.IntRange(min=0)


class FiniteFloat(click.FloatRange):
    """A float option that rejects NaN and ±Inf (click's FloatRange lets NaN through every bound)."""

    name = "finite float"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number

    def _describe_range(self) -> str:
        """No ``[x<=None]`` in ``--help`` when there are no bounds."""
        return "" if self.min is None and self.max is None else super()._describe_range()


def finite_float(min: float | None = None, max: float | None = None, *, min_open: bool = False,
                 max_open: bool = False) -> FiniteFloat:
    """Option type: a finite float, optionally within [min, max] (open ends with min_open/max_open)."""
    return FiniteFloat(min, max, min_open=min_open, max_open=max_open)
