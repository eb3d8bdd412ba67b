"""Compression: block-circulant projection (and, later, ADMM / direct training / pruning)."""

from rnnaccel.compress.projection import project_block_circulant

__all__ = ["project_block_circulant"]
