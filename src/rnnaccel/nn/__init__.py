"""Float reference layers: block-circulant linear (E-RNN/C-LSTM), LSTM (with peepholes, projection), GRU.

See docs/nn.md for the layout contract and the block-circulant convention. The inference fast paths live
in ``rnnaccel.nn.fast`` (``select_path`` chooses; ``LSTM``/``GRU.last_path`` says what ran).
"""

from rnnaccel.nn.blocksize import ROLES, BlockSizeSpec, resolve_block_sizes
from rnnaccel.nn.cells import gru_cell_step, gru_update, lstm_cell_step, lstm_update
from rnnaccel.nn.circulant import (
    BlockCirculantLinear,
    block_circulant_vectors,
    dense_weight,
    expand_block_circulant,
)
from rnnaccel.nn.cost import circulant_mults, dense_mults, mults_per_frame
from rnnaccel.nn.fast import PathChoice, select_path
from rnnaccel.nn.rnn import GRU, LSTM, GRUDirection, LSTMDirection
from rnnaccel.nn.torch_compat import to_torch

__all__ = [
    "GRU",
    "LSTM",
    "ROLES",
    "BlockCirculantLinear",
    "BlockSizeSpec",
    "GRUDirection",
    "LSTMDirection",
    "PathChoice",
    "block_circulant_vectors",
    "circulant_mults",
    "dense_mults",
    "dense_weight",
    "expand_block_circulant",
    "gru_cell_step",
    "gru_update",
    "lstm_cell_step",
    "lstm_update",
    "mults_per_frame",
    "resolve_block_sizes",
    "select_path",
    "to_torch",
]
