"""How one layer direction maps onto the E-PUR computation units (shared by the analytical model and
its naive per-cycle twin).

Dense: CU g computes gate g; a *row* is one neuron (a dot product of ``M + R`` values, ⌈(M+R)/W⌉ DPU
cycles [U, papers.md]). The projection rows (``P × N``) are spread round-robin over all CUs.

Block-circulant (block size k, the E-RNN/C-LSTM decoupled FFT scheme, papers.md "Block-circulant
mat-vec"): a *row* is one output block row. Weights are stored pre-transformed, k real values per block
(k/2+1 complex bins, the DC and Nyquist bins being real), so weight bytes shrink by k. Per timestep a CU
(1) transforms its input blocks with FFT-k on the DPU — k/2·log2 k radix-2 butterflies × 4 real
multiplies = 2k·log2 k multiplies, ⌈2k·log2 k / W⌉ cycles per transform; (2) accumulates, per output
block row, Σ_j FFT(w_ij)∘FFT(x_j) in the frequency domain — (k/2+1) complex MACs per block = 4(k/2+1)
real multiplies, W/4 complex products per cycle; (3) applies one IFFT-k per output block row (same cost
as an FFT). Each CU transforms the input blocks itself (redundantly) so no CU-to-CU traffic is needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rnnaccel.hw.epur.networks import block_size
from rnnaccel.shape import Cell, RnnShape

__all__ = ["LayerWork", "layer_work"]


@dataclass(frozen=True)
class LayerWork:
    """Per-direction work of one layer, in rows, values and real multiplies (see module docstring)."""

    kind: str
    gates: int
    rows: int            # rows per gate (neurons, or block rows)
    x_vals: int          # stored weight values per row, input part
    h_vals: int          # stored weight values per row, recurrent part
    x_mults: int         # real multiplies per row, input part
    h_mults: int
    proj_rows: tuple[int, ...]   # projection rows on each CU
    proj_vals: int
    proj_mults: int
    q_x: int             # input-vector transforms per timestep (0 when dense)
    q_h: int
    q_n: int             # transforms of m_t before the projection
    fft_mults: int       # real multiplies of one FFT/IFFT of size k
    psum_vals: int       # intermediate-memory values per row and timestep under MWL
    x_ifft_in_input: int   # IFFTs per row done in the MWL input phase (GRU keeps x and h apart)
    in_x: int            # values loaded per timestep: the input vector (M)
    in_h: int            # ... the recurrent vector (R)
    hidden: int
    circulant: bool
    params: int          # biases and peepholes (values), loaded once per layer direction
    act_per_step: int
    elem_per_step: int

    @property
    def split(self) -> bool:
        """GRU keeps W_x·x and W_h·h apart (n = tanh(W_in x + r∘(W_hn h))), so x and h parts never fuse."""
        return self.kind == "gru"

    @property
    def iffts_per_row(self) -> int:
        return (2 if self.split else 1) if self.circulant else 0


def _transform_mults(k: int) -> int:
    return 2 * k * int(math.log2(k)) if k > 1 else 0


def _split_rows(n_rows: int, n_cu: int) -> tuple[int, ...]:
    return tuple(len(range(c, n_rows, n_cu)) for c in range(n_cu))


def layer_work(layer: RnnShape, n_cu: int) -> LayerWork:
    """Rows, values and multiplies of one direction of ``layer`` on ``n_cu`` computation units."""
    if layer.num_layers != 1:
        raise ValueError(f"E-PUR maps one layer at a time (shape.layer(i)), got num_layers = "
                         f"{layer.num_layers}")
    if layer.gates > n_cu:
        raise ValueError(f"E-PUR needs one CU per gate: {layer.gates} gates but n_cu={n_cu}")
    k, n, m, r, p = block_size(layer), layer.hidden_size, layer.input_size, layer.recurrent_size, \
        layer.proj_size
    blk = (lambda d: -(-d // k)) if k > 1 else (lambda d: d)
    per = (lambda d: 4 * (k // 2 + 1) * blk(d)) if k > 1 else (lambda d: d)
    vals = (lambda d: blk(d) * k) if k > 1 else (lambda d: d)
    circ = k > 1
    return LayerWork(
        kind=str(layer.cell), gates=layer.gates, rows=blk(n), x_vals=vals(m), h_vals=vals(r),
        x_mults=per(m), h_mults=per(r), proj_rows=_split_rows(blk(p), n_cu) if p else (0,) * n_cu,
        proj_vals=vals(n) if p else 0, proj_mults=per(n) if p else 0,
        q_x=blk(m) if circ else 0, q_h=blk(r) if circ else 0, q_n=blk(n) if circ and p else 0,
        fft_mults=_transform_mults(k), psum_vals=_psum_vals(layer),
        x_ifft_in_input=int(circ and layer.cell is Cell.GRU),
        in_x=m, in_h=r, hidden=n, circulant=circ, params=_params(layer),
        act_per_step=(5 if layer.cell is Cell.LSTM else 3) * n, elem_per_step=_elem(layer))


def _psum_vals(layer: RnnShape) -> int:
    """Partial sums per row: 1 dense; k+2 reals (k/2+1 complex bins) for a circulant LSTM, kept in the
    frequency domain so one IFFT serves both parts; k (time domain) for a circulant GRU."""
    k = block_size(layer)
    if k == 1:
        return 1
    return k + 2 if layer.cell is Cell.LSTM else k


def _params(layer: RnnShape) -> int:
    bias = layer.gates * layer.hidden_size * (1 if layer.cell is Cell.LSTM else 2)
    return bias + (3 * layer.hidden_size if layer.peepholes else 0)


def _elem(layer: RnnShape) -> int:
    """Elementwise MFU operations per timestep: bias adds, cell/hidden update, peepholes, and (GRU)
    the x/h part additions."""
    n, g = layer.hidden_size, layer.gates
    if layer.cell is Cell.LSTM:
        return g * n + 4 * n + (6 * n if layer.peepholes else 0)
    return 2 * g * n + g * n + 5 * n
