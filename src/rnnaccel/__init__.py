"""rnnaccel: LSTM/GRU inference co-design for FPGAs and low-power processing units.

Implements E-RNN (block-circulant weights, ADMM, Phase I/II) and E-PUR (processing unit with
Maximizing Weight Locality). Heavy optional parts (plotting, HDL, sweeps) are imported lazily.
The network every stage builds is one :class:`RnnShape` (``rnnaccel.shape``, standard library only).
"""

from rnnaccel.shape import BlockSizes, Cell, RnnShape

__version__ = "0.1.0"
__all__ = ["BlockSizes", "Cell", "RnnShape", "__version__"]
