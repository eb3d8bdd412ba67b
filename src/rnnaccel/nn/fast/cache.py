"""Prepared inference weights are a function of the parameters: rebuild them when the parameters change.

A ``Watch`` records what a prepared object was built from. ``.to()``/``.double()``/``.cuda()`` and
``train()``/``eval()`` drop the cache explicitly (``rnnaccel.nn.rnn``); what remains to detect per call is
an in-place update (an optimizer step, ``load_state_dict``'s ``copy_``, ``weight.mul_``) and a reassigned
parameter or submodule. In-place updates are only visible through a tensor's version counter
(``Tensor._version``, the counter autograd itself uses to detect them), so that is what is compared.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from torch import Tensor, nn

__all__ = ["Watch", "cached"]

T = TypeVar("T")


@dataclass(frozen=True)
class Watch:
    """Every parameter/submodule slot of a module tree and each parameter's version counter."""

    tables: tuple[dict, ...]
    names: tuple[str, ...]
    objs: tuple[object, ...]
    params: tuple[Tensor, ...]
    versions: list

    @classmethod
    def of(cls, module: nn.Module) -> Watch:
        slots = [(table, name, obj) for mod in module.modules()
                 for table in (mod._parameters, mod._modules) for name, obj in table.items()]
        params = tuple(module.parameters())
        cols = tuple(tuple(col) for col in zip(*slots, strict=True)) if slots else ((), (), ())
        return cls(*cols, params, _versions(params))

    def fresh(self) -> bool:
        """True while no slot was reassigned and no parameter modified in place (C-level iteration)."""
        return (all(map(operator.is_, map(dict.get, self.tables, self.names), self.objs))
                and _versions(self.params) == self.versions)


def _versions(params: tuple[Tensor, ...]) -> list:
    try:
        return [p._version for p in params]
    except RuntimeError:  # inference tensors have no version counter (immutable outside inference mode)
        return [p.is_inference() or p._version for p in params]


def cached(module: nn.Module, slot: str, build: Callable[[nn.Module], T]) -> T:
    """``build(module)``, kept in ``module.<slot>`` as ``(Watch, value)`` until the parameters change."""
    cache = getattr(module, slot)
    if cache is None or not cache[0].fresh():
        cache = (Watch.of(module), build(module))
        setattr(module, slot, cache)
    return cache[1]
