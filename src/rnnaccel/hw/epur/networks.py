"""Network descriptions (stacks of :class:`rnnaccel.shape.RnnShape`) and the E-PUR benchmark networks.

Shapes follow papers.md: EESEN [V for the recipe; 4 BiLSTM layers × 320 per direction on a 120-d input
gives 8.5 M parameters, which matches the quoted ~8.5 M, D], RLDRADSPR (10 residual layers × 1024, [U]),
GMAT (8 + 8 layers × 1024, [U]), BYSDNE (5 × 512, [U]), NEURALTALK (1 × 512, [U]) and the Google LSTM of
ESE/C-LSTM (153 → 1024 cells, 512 projection, peepholes [V]). Sequence lengths, input widths not in
papers.md and the real-time budget per step are **assumed** and documented in docs/epur.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from rnnaccel.shape import Cell, RnnShape, requirements

__all__ = ["NETWORK_NAMES", "NetworkSpec", "block_size", "get_network", "layer_params"]


def block_size(layer: RnnShape) -> int:
    """The one block size E-PUR runs ``layer`` (a one-layer shape) with: 1 = dense, k > 1 = block-circulant
    with FFT-k (ValueError unless E-PUR can build it: one power of two for every role of the layer)."""
    layer.check_buildable("epur")
    return (layer.block_sizes.sizes() or (1,))[0]


def layer_params(layer: RnnShape) -> int:
    """Stored weight values of a one-layer shape (incl. biases, peepholes), over both directions."""
    k, n, r, p = block_size(layer), layer.hidden_size, layer.recurrent_size, layer.proj_size
    blocks = math.ceil(n / k) * (math.ceil(layer.input_size / k) + math.ceil(r / k))
    gate = layer.gates * (blocks * k + n)
    proj = math.ceil(p / k) * math.ceil(n / k) * k if p else 0
    return layer.directions * (gate + proj + (3 * n if layer.peepholes else 0))


@dataclass(frozen=True)
class NetworkSpec:
    """A stack of layers run layer by layer on ``seq_len`` timesteps; ``step_ms`` is the real-time budget
    per timestep (e.g. a 10 ms speech frame), ``None`` where real time has no meaning.

    ``layers`` takes :class:`rnnaccel.shape.RnnShape` stacks; they are kept split into one-layer shapes
    (each checked against E-PUR's requirements).
    """

    name: str
    layers: tuple[RnnShape, ...]
    seq_len: int
    step_ms: float | None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"NetworkSpec {self.name!r} has no layers")
        if not all(isinstance(lay, RnnShape) for lay in self.layers):
            raise TypeError(f"NetworkSpec {self.name!r}: layers must be RnnShapes, got {self.layers!r}")
        if isinstance(self.seq_len, bool) or not isinstance(self.seq_len, int) or self.seq_len <= 0:
            raise ValueError(f"NetworkSpec.seq_len must be a positive int, got {self.seq_len!r}")
        for stack in self.layers:
            stack.check_buildable("epur")
        object.__setattr__(self, "layers", tuple(one for stack in self.layers for one in stack.per_layer()))

    def with_block_size(self, k: int) -> NetworkSpec:
        """The same network with block-circulant weights of size ``k`` in every layer (1 = dense)."""
        requirements("epur").check_block(k)
        return replace(self, layers=tuple(lay.with_block_sizes(k) for lay in self.layers))

    def with_seq_len(self, seq_len: int) -> NetworkSpec:
        return replace(self, seq_len=seq_len)

    def n_params(self) -> int:
        return sum(layer_params(layer) for layer in self.layers)


def _stack(n: int, input_size: int, hidden: int, *, bi: bool = False) -> tuple[RnnShape, ...]:
    return (RnnShape(Cell.LSTM, input_size, hidden, num_layers=n, bidirectional=bi),)


def _eesen() -> NetworkSpec:
    return NetworkSpec("eesen", _stack(4, 120, 320, bi=True), 1000, 10.0,
                       "EESEN WSJ: 4 BiLSTM x 320/dir, 120-d filterbank input, 10 s of 10 ms frames")


def _rldradspr() -> NetworkSpec:
    return NetworkSpec("rldradspr", _stack(10, 40, 1024), 1000, 10.0,
                       "Residual LSTM for distant speech (AMI): 10 x 1024, 40-d input (assumed)")


def _gmat() -> NetworkSpec:
    lstm = Cell.LSTM
    enc = (RnnShape(lstm, 1024, 1024, bidirectional=True), RnnShape(lstm, 2048, 1024),
           RnnShape(lstm, 1024, 1024, num_layers=6))
    dec = (RnnShape(lstm, 2048, 1024),) * 8
    return NetworkSpec("gmat", enc + dec, 50, None,
                       "GNMT-like: 8 encoder (first bidirectional) + 8 decoder layers x 1024; decoder "
                       "inputs carry a 1024-d attention context (attention itself not modelled)")


def _bysdne() -> NetworkSpec:
    return NetworkSpec("bysdne", _stack(5, 4096, 512), 30, 1000.0,
                       "Beyond Short Snippets: 5 x 512 on 4096-d CNN features, 30 frames at 1 fps")


def _neuraltalk() -> NetworkSpec:
    return NetworkSpec("neuraltalk", _stack(1, 512, 512), 20, None,
                       "NeuralTalk captioning: 1 x 512 on 512-d embeddings, 20 words")


def _google() -> NetworkSpec:
    layers = (RnnShape(Cell.LSTM, 153, 1024, proj_size=512, num_layers=2, peepholes=True),)
    return NetworkSpec("google-lstm", layers, 1000, 10.0,
                       "Google LSTM of ESE/C-LSTM: 2 layers, 153 -> 1024 cells, 512 projection, peepholes")


_BUILDERS = {"eesen": _eesen, "rldradspr": _rldradspr, "gmat": _gmat, "bysdne": _bysdne,
             "neuraltalk": _neuraltalk, "google-lstm": _google}
NETWORK_NAMES: tuple[str, ...] = tuple(_BUILDERS)


def get_network(name: str) -> NetworkSpec:
    """A benchmark network by (case-insensitive) name."""
    builder = _BUILDERS.get(name.lower())
    if builder is None:
        raise ValueError(f"unknown network {name!r}; expected one of {', '.join(NETWORK_NAMES)}")
    return builder()
