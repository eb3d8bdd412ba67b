"""Layer and network descriptions, and the benchmark networks of the E-PUR evaluation.

Shapes follow papers.md: EESEN [V for the recipe; 4 BiLSTM layers × 320 per direction on a 120-d input
gives 8.5 M parameters, which matches the quoted ~8.5 M, D], RLDRADSPR (10 residual layers × 1024, [U]),
GMAT (8 + 8 layers × 1024, [U]), BYSDNE (5 × 512, [U]), NEURALTALK (1 × 512, [U]) and the Google LSTM of
ESE/C-LSTM (153 → 1024 cells, 512 projection, peepholes [V]). Sequence lengths, input widths not in
papers.md and the real-time budget per step are **assumed** and documented in docs/epur.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = ["LayerSpec", "NetworkSpec", "NETWORK_NAMES", "get_network"]


@dataclass(frozen=True)
class LayerSpec:
    """One recurrent layer. ``block_size`` 1 = dense, k > 1 (power of two) = block-circulant weights."""

    kind: str
    input_size: int
    hidden_size: int
    proj_size: int = 0
    peephole: bool = False
    bidirectional: bool = False
    block_size: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("lstm", "gru"):
            raise ValueError(f"LayerSpec.kind must be 'lstm' or 'gru', got {self.kind!r}")
        for name in ("input_size", "hidden_size", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"LayerSpec.{name} must be a positive int, got {value!r}")
        if not isinstance(self.proj_size, int) or self.proj_size < 0:
            raise ValueError(f"LayerSpec.proj_size must be an int >= 0, got {self.proj_size!r}")
        if self.kind == "gru" and (self.proj_size or self.peephole):
            raise ValueError("LayerSpec: a GRU layer has no projection or peepholes")
        if self.block_size & (self.block_size - 1):
            raise ValueError(f"LayerSpec.block_size must be a power of two, got {self.block_size}")

    @property
    def gates(self) -> int:
        return 4 if self.kind == "lstm" else 3

    @property
    def recurrent_size(self) -> int:
        """Width of the recurrent state fed back (the projection when present)."""
        return self.proj_size or self.hidden_size

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def output_size(self) -> int:
        return self.recurrent_size * self.directions

    def n_params(self) -> int:
        """Stored weight values (incl. biases, peepholes), over both directions."""
        k = self.block_size
        blocks = math.ceil(self.hidden_size / k) * (math.ceil(self.input_size / k)
                                                   + math.ceil(self.recurrent_size / k))
        gate = self.gates * (blocks * k + self.hidden_size)
        proj = math.ceil(self.proj_size / k) * math.ceil(self.hidden_size / k) * k if self.proj_size else 0
        return self.directions * (gate + proj + (3 * self.hidden_size if self.peephole else 0))


@dataclass(frozen=True)
class NetworkSpec:
    """A stack of layers run layer by layer on ``seq_len`` timesteps; ``step_ms`` is the real-time budget
    per timestep (e.g. a 10 ms speech frame), ``None`` where real time has no meaning."""

    name: str
    layers: tuple[LayerSpec, ...]
    seq_len: int
    step_ms: float | None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError(f"NetworkSpec {self.name!r} has no layers")
        if not isinstance(self.seq_len, int) or self.seq_len <= 0:
            raise ValueError(f"NetworkSpec.seq_len must be a positive int, got {self.seq_len!r}")

    def with_block_size(self, block_size: int) -> NetworkSpec:
        """The same network with block-circulant weights of size ``block_size`` in every layer."""
        return replace(self, layers=tuple(replace(lay, block_size=block_size) for lay in self.layers))

    def with_seq_len(self, seq_len: int) -> NetworkSpec:
        return replace(self, seq_len=seq_len)

    def n_params(self) -> int:
        return sum(layer.n_params() for layer in self.layers)


def _stack(kind: str, n: int, input_size: int, hidden: int, *, bi: bool = False, **kw: object) -> tuple:
    first = LayerSpec(kind, input_size, hidden, bidirectional=bi, **kw)
    rest = LayerSpec(kind, first.output_size, hidden, bidirectional=bi, **kw)
    return (first,) + (rest,) * (n - 1)


def _eesen() -> NetworkSpec:
    return NetworkSpec("eesen", _stack("lstm", 4, 120, 320, bi=True), 1000, 10.0,
                       "EESEN WSJ: 4 BiLSTM x 320/dir, 120-d filterbank input, 10 s of 10 ms frames")


def _rldradspr() -> NetworkSpec:
    return NetworkSpec("rldradspr", _stack("lstm", 10, 40, 1024), 1000, 10.0,
                       "Residual LSTM for distant speech (AMI): 10 x 1024, 40-d input (assumed)")


def _gmat() -> NetworkSpec:
    enc = (LayerSpec("lstm", 1024, 1024, bidirectional=True), LayerSpec("lstm", 2048, 1024)) + \
        (LayerSpec("lstm", 1024, 1024),) * 6
    dec = (LayerSpec("lstm", 2048, 1024),) * 8
    return NetworkSpec("gmat", enc + dec, 50, None,
                       "GNMT-like: 8 encoder (first bidirectional) + 8 decoder layers x 1024; decoder "
                       "inputs carry a 1024-d attention context (attention itself not modelled)")


def _bysdne() -> NetworkSpec:
    return NetworkSpec("bysdne", _stack("lstm", 5, 4096, 512), 30, 1000.0,
                       "Beyond Short Snippets: 5 x 512 on 4096-d CNN features, 30 frames at 1 fps")


def _neuraltalk() -> NetworkSpec:
    return NetworkSpec("neuraltalk", _stack("lstm", 1, 512, 512), 20, None,
                       "NeuralTalk captioning: 1 x 512 on 512-d embeddings, 20 words")


def _google() -> NetworkSpec:
    layers = (LayerSpec("lstm", 153, 1024, proj_size=512, peephole=True),
              LayerSpec("lstm", 512, 1024, proj_size=512, peephole=True))
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
