"""Two-objective Pareto front (maximize one figure, minimize another), O(n log n) by sort + running max."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_front", "pareto_front_naive"]


def pareto_front(maximize: np.ndarray, minimize: np.ndarray) -> np.ndarray:
    """Boolean mask of the points no other point beats: higher ``maximize`` at no more ``minimize``.

    Sort by ``minimize`` ascending (ties: ``maximize`` descending); a point is on the front when its
    ``maximize`` exceeds every value before it. Exact duplicates keep only the first.
    """
    maximize, minimize = np.asarray(maximize, float), np.asarray(minimize, float)
    if maximize.shape != minimize.shape or maximize.ndim != 1:
        raise ValueError(f"objectives must be 1-D of one length, got {maximize.shape} and {minimize.shape}")
    mask = np.zeros(maximize.size, dtype=bool)
    if maximize.size == 0:
        return mask
    order = np.lexsort((-maximize, minimize))
    best_before = np.maximum.accumulate(np.concatenate(([-np.inf], maximize[order][:-1])))
    mask[order] = maximize[order] > best_before
    return mask


def pareto_front_naive(maximize: np.ndarray, minimize: np.ndarray) -> np.ndarray:
    """Quadratic reference: a point is dominated if another is >= on both and > on one."""
    n = len(maximize)
    mask = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            better_or_equal = maximize[j] >= maximize[i] and minimize[j] <= minimize[i]
            strictly = maximize[j] > maximize[i] or minimize[j] < minimize[i]
            if j != i and better_or_equal and (strictly or j < i):
                mask[i] = False
                break
    return mask
