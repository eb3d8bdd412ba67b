"""The RNN being accelerated: shapes of the weight matrices per layer and direction, and op counts.

Google LSTM (Sak et al. 2014, as benchmarked by ESE and C-LSTM): input 153, 1024 cells, 512
projection, peepholes. Gates (i, g, f, o) come from one matrix over [x_t, y_{t-1}]; the projection
y_t = W_proj m_t is a separate stage. GRU follows torch.nn.GRU: the three gate mat-vecs
(W_ir|W_iz|W_in over x and W_hr|W_hz|W_hn over h) are all stage 1; r gates W_hn h in stage 2.

A "frame" is one timestep of the whole network (all layers, all directions). The comparison with ESE
uses one layer, one direction (``GOOGLE_LSTM``), which is what ESE's per-frame figures count.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CELLS", "GOOGLE_LSTM", "LayerWork", "RnnShape", "ceil_div"]

CELLS = ("lstm", "gru")
_GATES = {"lstm": 4, "gru": 3}


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


@dataclass(frozen=True)
class RnnShape:
    """An LSTM/GRU network: sizes of input, hidden and projection, depth, directions."""

    cell: str
    input_size: int
    hidden: int
    proj: int = 0
    layers: int = 1
    bidirectional: bool = False
    peepholes: bool = False

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
        for name in ("input_size", "hidden", "layers"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.proj < 0:
            raise ValueError(f"proj must be >= 0 (0 = no projection), got {self.proj}")
        if self.cell == "gru" and (self.proj or self.peepholes):
            raise ValueError("a GRU has no projection or peepholes; set proj=0 and peepholes=False")

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def out_size(self) -> int:
        """Size of one direction's output y_t (the projection if any, else the hidden state)."""
        return self.proj or self.hidden

    def layer_work(self) -> tuple[LayerWork, ...]:
        """Matrix shapes for every layer and direction, in execution order."""
        works = []
        for layer in range(self.layers):
            in_x = self.input_size if layer == 0 else self.out_size * self.directions
            rows = _GATES[self.cell] * self.hidden
            work = LayerWork(rows, in_x, self.out_size, self.hidden, self.proj)
            works.extend([work] * self.directions)
        return tuple(works)

    @property
    def matrix_weights(self) -> int:
        """Weights in the mat-vecs of one frame (gates + projection), without biases and peepholes."""
        return sum(w.gate_weights + w.proj_weights for w in self.layer_work())

    @property
    def dense_ops(self) -> int:
        """Dense-equivalent operations per frame: 2 per matrix weight (multiply + add), as ESE counts."""
        return 2 * self.matrix_weights


GOOGLE_LSTM = RnnShape("lstm", input_size=153, hidden=1024, proj=512, layers=1, peepholes=True)
