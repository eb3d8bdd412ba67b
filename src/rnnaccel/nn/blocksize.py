"""Block-size specifications for recurrent layers (E-RNN Phase I picks block sizes per part of the network).

A spec is ``None`` (all dense) | ``int`` (every role) | a mapping over roles ``{"input", "recurrent",
"projection"}`` (a missing role is dense, a value may be ``None``) | a list/tuple with one such spec per
layer. It resolves to one ``{role: int | None}`` dict per layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rnnaccel.nn.circulant import check_block_size

__all__ = ["ROLES", "BlockSizeSpec", "resolve_block_sizes"]

ROLES: tuple[str, ...] = ("input", "recurrent", "projection")

LayerSpec = int | Mapping[str, int | None] | None
BlockSizeSpec = LayerSpec | Sequence[LayerSpec]


def _resolve_layer(spec: LayerSpec) -> dict[str, int | None]:
    if spec is None or isinstance(spec, int):
        k = None if spec is None else check_block_size(spec)
        return dict.fromkeys(ROLES, k)
    if not isinstance(spec, Mapping):
        raise TypeError(f"block_size must be None, an int, a mapping over {ROLES} or a list of those, "
                        f"got {spec!r}")
    unknown = sorted(set(spec) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown block_size role(s) {unknown}; expected keys from {list(ROLES)}")
    return {role: _optional_k(spec.get(role), role) for role in ROLES}


def _optional_k(value: int | None, role: str) -> int | None:
    return None if value is None else check_block_size(value, f"block_size[{role!r}]")


def resolve_block_sizes(spec: BlockSizeSpec, num_layers: int) -> list[dict[str, int | None]]:
    """One ``{role: block size or None}`` dict per layer."""
    if isinstance(spec, Sequence) and not isinstance(spec, str):
        if len(spec) != num_layers:
            raise ValueError(f"block_size list has {len(spec)} entries, expected one per layer "
                             f"(num_layers={num_layers})")
        return [_resolve_layer(s) for s in spec]
    return [_resolve_layer(spec) for _ in range(num_layers)]
