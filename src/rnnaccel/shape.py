"""The network every stage builds, described once: :class:`RnnShape`.

Training (``rnnaccel.train``), compression, the fixed-point engine, the FPGA model, the E-PUR simulator
and the design-space exploration all take an ``RnnShape``: a cell type, sizes, depth, directions,
peepholes, and the block size of every weight role of every layer (:class:`BlockSizes`). Construction
validates it (``TypeError``/``ValueError`` naming the key and the reason; booleans are not integers).

What a later stage can build is stated as :class:`Requirements` (see :data:`REQUIREMENTS`);
``shape.check_buildable("fpga", "epur")`` raises the same kind of error before anything is trained, so a
config is rejected when it is loaded rather than after hours of training.

Block-size config form (``block_size`` in the TOML/YAML configs, ``block_size=`` of ``rnnaccel.nn``):
``None`` (dense) | an int (every role) | a mapping over roles ``{"input", "recurrent", "projection"}``
(a missing role is dense) | a list with one of those per layer.
"""

from __future__ import annotations

import enum
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, replace

__all__ = [
    "REQUIREMENTS",
    "ROLES",
    "BlockSizes",
    "Cell",
    "LayerBlocks",
    "Requirements",
    "RnnShape",
    "check_block_size",
    "requirements",
]

ROLES: tuple[str, ...] = ("input", "recurrent", "projection")


class Cell(enum.StrEnum):
    """The recurrent cell; compares equal to its config string (``Cell.LSTM == "lstm"``)."""

    LSTM = "lstm"
    GRU = "gru"

    @property
    def gates(self) -> int:
        """Gate pre-activations per hidden unit (rows of the gate matrix per unit): LSTM i, f, g, o
        (Hochreiter & Schmidhuber 1997; Sak et al. 2014); GRU r, z, n (Cho et al. 2014, torch form)."""
        return 4 if self is Cell.LSTM else 3

    @classmethod
    def parse(cls, value: object, key: str = "cell") -> Cell:
        """``value`` as a Cell; TypeError/ValueError naming ``key`` otherwise."""
        if isinstance(value, cls):
            return value
        if not isinstance(value, str):
            raise TypeError(f"{key} must be one of 'lstm', 'gru', got {value!r} ({type(value).__name__})")
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"{key} must be one of 'lstm', 'gru', got {value!r}") from None


def _int(value: object, key: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; bool and non-integers are TypeErrors."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{key} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{key} must be an integer >= {minimum}, got {value}")
    return int(value)


def _bool(value: object, key: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{key} must be true or false, got {value!r} ({type(value).__name__})")
    return value


def check_block_size(value: object, key: str = "block_size") -> int:
    """One block size: an integer >= 1 (``True`` is not 1). Stage limits: :class:`Requirements`."""
    return _int(value, key, 1)


@dataclass(frozen=True)
class LayerBlocks:
    """Block sizes of one layer's weight roles; ``None`` = a dense role."""

    input: int | None = None
    recurrent: int | None = None
    projection: int | None = None

    def __post_init__(self) -> None:
        for role in ROLES:
            value = getattr(self, role)
            if value is not None:
                check_block_size(value, role)

    def items(self) -> tuple[tuple[str, int | None], ...]:
        return tuple((role, getattr(self, role)) for role in ROLES)

    def as_dict(self) -> dict[str, int | None]:
        return dict(self.items())


def _layer_blocks(spec: object, key: str, roles: tuple[str, ...]) -> LayerBlocks:
    """One layer's config form (None | int | {role: int | None}) as LayerBlocks over ``roles``."""
    if spec is None:
        return LayerBlocks()
    if isinstance(spec, LayerBlocks):
        spec = {role: k for role, k in spec.items() if k is not None}
    if isinstance(spec, Mapping):
        return _mapping_blocks(spec, key, roles)
    if isinstance(spec, bool) or not isinstance(spec, numbers.Integral):
        raise TypeError(f"{key} must be null, an integer >= 1, a mapping over roles {list(roles)} or a "
                        f"list of those (one per layer), got {spec!r} ({type(spec).__name__})")
    k = check_block_size(spec, key)
    return LayerBlocks(**dict.fromkeys(roles, k))


def _mapping_blocks(spec: Mapping, key: str, roles: tuple[str, ...]) -> LayerBlocks:
    unknown = sorted(str(r) for r in set(spec) - set(ROLES))
    if unknown:
        raise ValueError(f"{key}: unknown role(s) {unknown}; expected keys from {list(roles)}")
    absent = [r for r in spec if r not in roles and spec[r] is not None]
    if absent:
        raise ValueError(f"{key}.{absent[0]}: this network has no {absent[0]} weights (roles: {list(roles)})")
    return LayerBlocks(**{r: None if spec.get(r) is None else check_block_size(spec[r], f"{key}.{r}")
                          for r in roles})


@dataclass(frozen=True)
class BlockSizes:
    """Block size of every role of every layer (one :class:`LayerBlocks` per layer)."""

    layers: tuple[LayerBlocks, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.layers, tuple) or not all(isinstance(x, LayerBlocks) for x in self.layers):
            raise TypeError(f"BlockSizes.layers must be a tuple of LayerBlocks, got {self.layers!r}")
        if not self.layers:
            raise ValueError("BlockSizes needs at least one layer")

    @classmethod
    def parse(cls, spec: object, num_layers: int, *, key: str = "block_size",
              roles: tuple[str, ...] = ROLES) -> BlockSizes:
        """The config form (module docstring) for a ``num_layers`` network with weight ``roles``."""
        if isinstance(spec, BlockSizes):
            spec = [layer.as_dict() for layer in spec.layers]
        if isinstance(spec, Sequence) and not isinstance(spec, str):
            if len(spec) != num_layers:
                raise ValueError(f"{key} has {len(spec)} entries, expected one per layer "
                                 f"(num_layers = {num_layers})")
            return cls(tuple(_layer_blocks(s, f"{key}[{i}]", roles) for i, s in enumerate(spec)))
        return cls((_layer_blocks(spec, key, roles),) * num_layers)

    @classmethod
    def dense(cls, num_layers: int = 1) -> BlockSizes:
        return cls((LayerBlocks(),) * num_layers)

    @property
    def is_dense(self) -> bool:
        return not self.sizes()

    def sizes(self) -> tuple[int, ...]:
        """The distinct block sizes in use, ascending (empty when every role is dense)."""
        return tuple(sorted({k for layer in self.layers for _, k in layer.items() if k is not None}))

    def role(self, name: str) -> tuple[int | None, ...]:
        """The block size of role ``name`` in every layer."""
        if name not in ROLES:
            raise ValueError(f"unknown role {name!r}; expected one of {list(ROLES)}")
        return tuple(getattr(layer, name) for layer in self.layers)

    def spec(self) -> list[dict[str, int | None]]:
        """The per-layer config form (``block_size=`` of ``rnnaccel.nn``, JSON-ready)."""
        return [layer.as_dict() for layer in self.layers]


@dataclass(frozen=True)
class RnnShape:
    """A stacked (bi)LSTM/GRU. ``block_sizes`` also takes the config form (module docstring).

    ``proj_size`` is the LSTM projection y_t = W_proj m_t (Sak et al. 2014; 0 = none); a GRU has no
    projection and no peepholes.
    """

    cell: Cell
    input_size: int
    hidden_size: int
    _: KW_ONLY
    proj_size: int = 0
    num_layers: int = 1
    bidirectional: bool = False
    peepholes: bool = False
    block_sizes: BlockSizes | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "cell", Cell.parse(self.cell))
        for name, minimum in (("input_size", 1), ("hidden_size", 1), ("proj_size", 0), ("num_layers", 1)):
            set_(self, name, _int(getattr(self, name), name, minimum))
        _bool(self.bidirectional, "bidirectional")
        _bool(self.peepholes, "peepholes")
        if self.cell is Cell.GRU and self.proj_size:
            raise ValueError(f"proj_size: a GRU has no projection, got proj_size = {self.proj_size}")
        if self.cell is Cell.GRU and self.peepholes:
            raise ValueError("peepholes: a GRU has no peepholes, got peepholes = true")
        set_(self, "block_sizes", BlockSizes.parse(self.block_sizes, self.num_layers, roles=self.roles))

    @property
    def roles(self) -> tuple[str, ...]:
        """The weight roles of every layer: input, recurrent (and projection when ``proj_size``)."""
        return ROLES if self.proj_size else ROLES[:2]

    @property
    def gates(self) -> int:
        return self.cell.gates

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def recurrent_size(self) -> int:
        """Width of one direction's y_t, fed back (the projection when present, else the hidden state)."""
        return self.proj_size or self.hidden_size

    @property
    def output_size(self) -> int:
        """Width of a layer's output (all directions): the next layer's input."""
        return self.recurrent_size * self.directions

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.output_size

    def layer(self, index: int) -> RnnShape:
        """Layer ``index`` alone: a one-layer shape with that layer's input width and block sizes."""
        if not 0 <= index < self.num_layers:
            raise ValueError(f"layer index {index} out of range for num_layers = {self.num_layers}")
        blocks = BlockSizes((self.block_sizes.layers[index],))
        return replace(self, input_size=self.layer_input_size(index), num_layers=1, block_sizes=blocks)

    def per_layer(self) -> tuple[RnnShape, ...]:
        return tuple(self.layer(i) for i in range(self.num_layers))

    def with_block_sizes(self, spec: object) -> RnnShape:
        """The same network with other block sizes (config form or :class:`BlockSizes`)."""
        return replace(self, block_sizes=BlockSizes.parse(spec, self.num_layers, roles=self.roles))

    @property
    def matrix_weights(self) -> int:
        """Dense-equivalent weights in the mat-vecs of one frame (all layers and directions: gates over
        [x_t, y_{t-1}] + projection), without biases and peepholes."""
        gate = sum(self.gates * self.hidden_size * (self.layer_input_size(i) + self.recurrent_size)
                   for i in range(self.num_layers))
        return self.directions * (gate + self.num_layers * self.proj_size * self.hidden_size)

    @property
    def dense_ops(self) -> int:
        """Dense-equivalent operations per frame: 2 per matrix weight (multiply + add), as ESE counts."""
        return 2 * self.matrix_weights

    def check_buildable(self, *targets: str | Requirements, key: str = "block_size") -> RnnShape:
        """``self`` when every target stage (names of :data:`REQUIREMENTS`) can build it, else a
        ValueError naming the key, the stage and what it needs."""
        for target in targets:
            requirements(target).check(self, key)
        return self

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields (block sizes in their per-layer config form)."""
        return {"cell": str(self.cell), "input_size": self.input_size, "hidden_size": self.hidden_size,
                "proj_size": self.proj_size, "num_layers": self.num_layers,
                "bidirectional": self.bidirectional, "peepholes": self.peepholes,
                "block_sizes": self.block_sizes.spec()}


@dataclass(frozen=True)
class Requirements:
    """What one stage can build; ``stage`` names it in the errors.

    Block limits apply to block-circulant roles (a dense role, ``None``, is always buildable).
    """

    stage: str
    min_block: int = 1
    max_block: int | None = None
    power_of_two: bool = False
    one_block_per_layer: bool = False  # every role of a layer has the same block size (dense = 1)
    gate_roles_equal: bool = False     # input and recurrent share one block size (dense = 1)
    same_every_layer: bool = False     # every layer has the same block sizes
    proj_at_most_hidden: bool = False  # proj_size <= hidden_size
    all_circulant: bool = False        # no dense role

    def describe(self) -> str:
        """What a block size must be, e.g. ``a power of two in 2..32``."""
        kind = "a power of two" if self.power_of_two else "an integer"
        if self.max_block is not None:
            return f"{kind} in {self.min_block}..{self.max_block}"
        return f"{kind} >= {self.min_block}" if self.min_block > 1 or not self.power_of_two else kind

    def check_block(self, k: int, key: str = "block_size") -> int:
        """``k`` when this stage can build a block-circulant role of block size ``k``."""
        k = check_block_size(k, key)
        too_big = self.max_block is not None and k > self.max_block
        if k < self.min_block or too_big or (self.power_of_two and k & (k - 1)):
            raise ValueError(f"{key} = {k}: {self.stage} needs {self.describe()}")
        return k

    def check(self, shape: RnnShape, key: str = "block_size") -> RnnShape:
        """``shape`` when this stage can build it, else a ValueError naming ``key`` and the reason."""
        if self.proj_at_most_hidden and shape.proj_size > shape.hidden_size:
            raise ValueError(f"proj_size = {shape.proj_size} > hidden_size = {shape.hidden_size}: "
                             f"{self.stage} needs a projection no wider than the hidden state")
        for i, layer in enumerate(shape.block_sizes.layers):
            where = key if shape.num_layers == 1 else f"{key}[{i}]"
            self._check_layer(layer, shape.roles, where)
        if self.same_every_layer and len(set(shape.block_sizes.layers)) > 1:
            raise ValueError(f"{key}: {self.stage} needs the same block sizes in every layer, got "
                             f"{shape.block_sizes.spec()}")
        return shape

    def _check_layer(self, layer: LayerBlocks, roles: tuple[str, ...], key: str) -> None:
        sizes = {role: getattr(layer, role) for role in roles}
        uniform = len(set(sizes.values())) == 1  # one size for every role: name the layer, not the role
        for role, k in sizes.items():
            if k is None and self.all_circulant:
                raise ValueError(f"{key}.{role} is dense: {self.stage} needs every role block-circulant")
            if k is not None:
                self.check_block(k, key if uniform else f"{key}.{role}")
        if self.gate_roles_equal and (sizes["input"] or 1) != (sizes["recurrent"] or 1):
            raise ValueError(f"{key}: {self.stage} needs one block size for the input and recurrent "
                             f"roles (one gate matrix over [x_t, y_t-1]), got {layer.as_dict()}")
        if self.one_block_per_layer and len({k or 1 for k in sizes.values()}) > 1:
            raise ValueError(f"{key}: {self.stage} needs one block size for every role of a layer, "
                             f"got {layer.as_dict()}")


REQUIREMENTS: dict[str, Requirements] = {
    # rnnaccel.nn and rnnaccel.compress: any block size (a ragged last block is zero-padded)
    "nn": Requirements("rnnaccel.nn"),
    # rnnaccel.quant / rnnaccel.ref: the fixed-point FFT is radix-2 (quant.fft.check_fft_size)
    "fixed_point": Requirements("the fixed-point FFT (rnnaccel.quant, rnnaccel.ref)", power_of_two=True),
    # the RTL datapath: radix-2 FFT PEs of 2..32 points, every role circulant
    "rtl": Requirements("the RTL", min_block=2, max_block=32, power_of_two=True, all_circulant=True),
    # hw.fpga: FFT sizes of hw.fpga.arith.VALID_BLOCKS; one gate-stage and one projection-stage block
    # size for the whole design (design.CirculantDesign.block_gate / block_proj)
    "fpga": Requirements("the FPGA model (rnnaccel.hw.fpga)", max_block=64, power_of_two=True,
                         gate_roles_equal=True, same_every_layer=True, proj_at_most_hidden=True),
    # hw.epur: radix-2 FFT on the DPU, one FFT size per layer (networks' per-layer block_size)
    "epur": Requirements("E-PUR (rnnaccel.hw.epur)", power_of_two=True, one_block_per_layer=True,
                         proj_at_most_hidden=True),
}


def requirements(target: str | Requirements) -> Requirements:
    """The :class:`Requirements` of a stage name in :data:`REQUIREMENTS` (or ``target`` itself)."""
    if isinstance(target, Requirements):
        return target
    if target not in REQUIREMENTS:
        raise ValueError(f"unknown build target {target!r}; expected one of {sorted(REQUIREMENTS)}")
    return REQUIREMENTS[target]
