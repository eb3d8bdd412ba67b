"""The RNN being accelerated (an :class:`rnnaccel.shape.RnnShape`): weight-matrix shapes per layer
and direction, and op counts.

Google LSTM (Sak et al. 2014, as benchmarked by ESE and C-LSTM): input 153, 1024 cells, 512
projection, peepholes. Gates (i, g, f, o) come from one matrix over [x_t, y_{t-1}]; the projection
y_t = W_proj m_t is a separate stage. GRU follows torch.nn.GRU: the three gate mat-vecs
(W_ir|W_iz|W_in over x and W_hr|W_hz|W_hn over h) are all stage 1; r gates W_hn h in stage 2.

A "frame" is one timestep of the whole network (all layers, all directions). The comparison with ESE
uses one layer, one direction (``GOOGLE_LSTM``), which is what ESE's per-frame figures count.
"""

from __future__ import annotations

from dataclasses import dataclass

from rnnaccel.shape import Cell, RnnShape

__all__ = ["GOOGLE_LSTM", "LayerWork", "RnnShape", "ceil_div", "design_blocks", "layer_work"]


def ceil_div(a: int, b: int) -> int:
    """ceil(a / b) for non-negative integers (works elementwise on numpy integer arrays too)."""
    return -(-a // b)


@dataclass(frozen=True)
class LayerWork:
    """One layer-direction: gate matrix (rows x (in_x + in_r)) and optional projection (proj x hidden)."""

    gate_rows: int
    in_x: int
    in_r: int
    hidden: int
    proj: int

    @property
    def gate_weights(self) -> int:
        return self.gate_rows * (self.in_x + self.in_r)

    @property
    def proj_weights(self) -> int:
        return self.proj * self.hidden


def layer_work(shape: RnnShape) -> tuple[LayerWork, ...]:
    """Matrix shapes for every layer and direction of ``shape``, in execution order (ValueError when
    the FPGA model cannot build it, e.g. a projection wider than the hidden state)."""
    shape.check_buildable("fpga")
    works = []
    for layer in range(shape.num_layers):
        rows = shape.gates * shape.hidden_size
        work = LayerWork(rows, shape.layer_input_size(layer), shape.recurrent_size, shape.hidden_size,
                         shape.proj_size)
        works.extend([work] * shape.directions)
    return tuple(works)


def design_blocks(shape: RnnShape) -> tuple[int, int]:
    """(block_gate, block_proj) of a design for ``shape``'s block sizes (dense = 1); ValueError when the
    FPGA model cannot build them (one size per stage for the whole network, powers of two <= 64)."""
    shape.check_buildable("fpga")
    first = shape.block_sizes.layers[0]
    return first.input or 1, (first.projection or 1) if shape.proj_size else 1


GOOGLE_LSTM = RnnShape(Cell.LSTM, 153, 1024, proj_size=512, num_layers=1, peepholes=True)
