"""Energy reference tables: energy = Σ action counts × energy per action + leakage × time (Accelergy style).

A table is a JSON data file in this package (``<name>.json``, schema ``rnnaccel-energy-table/1``) whose
*primitives* each name an estimator class and carry the numbers with their source. An architecture
describes its *components* (a primitive plus attributes such as SRAM size and width); estimators turn a
component and an action into picojoules, leakage milliwatts and square millimetres. Estimators are
registered explicitly in ``ESTIMATORS`` (no directory scanning).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = ["Component", "EnergyTable", "ESTIMATORS", "load_table", "ConstantEstimator", "SRAMEstimator",
           "DRAMEstimator", "EnergyReport", "estimate"]


@dataclass(frozen=True)
class Component:
    """An instance of a primitive: ``count`` copies with ``attributes`` (e.g. size_kib, width_bits)."""

    name: str
    primitive: str
    count: int = 1
    attributes: Mapping[str, float] = field(default_factory=dict)


class ConstantEstimator:
    """Fixed energy per action, leakage and area per instance, straight from the table."""

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.params = params

    def energy_pj(self, action: str, comp: Component) -> float:
        actions = self.params["actions"]
        if action not in actions:
            raise ValueError(f"primitive of {comp.name!r} has no action {action!r}; known: {sorted(actions)}")
        return float(actions[action])

    def leakage_mw(self, comp: Component) -> float:
        return comp.count * float(self.params.get("leakage_mw", 0.0))

    def area_mm2(self, comp: Component) -> float:
        return comp.count * float(self.params.get("area_mm2", 0.0))


class SRAMEstimator(ConstantEstimator):
    """E(read) = c·√(min(size, bank) KiB)·width/64 pJ (a fit to Horowitz's SRAM points); writes × factor."""

    def energy_pj(self, action: str, comp: Component) -> float:
        if action not in ("read", "write"):
            raise ValueError(f"SRAM {comp.name!r} has actions read/write, not {action!r}")
        size = min(float(comp.attributes["size_kib"]), float(self.params["bank_kib"]))
        width = float(comp.attributes["width_bits"])
        e = float(self.params["pj_per_64b_per_sqrt_kib"]) * math.sqrt(size) * width / 64
        return e * (float(self.params["write_factor"]) if action == "write" else 1.0)

    def leakage_mw(self, comp: Component) -> float:
        return comp.count * comp.attributes["size_kib"] * float(self.params["leakage_uw_per_kib"]) / 1000

    def area_mm2(self, comp: Component) -> float:
        return comp.count * comp.attributes["size_kib"] / 1024 * float(self.params["area_mm2_per_mib"])


class DRAMEstimator(ConstantEstimator):
    """Off-chip memory: energy per byte read/written; its leakage and area are not on the chip."""

    def energy_pj(self, action: str, comp: Component) -> float:
        key = {"read_bytes": "read_pj_per_byte", "write_bytes": "write_pj_per_byte"}.get(action)
        if key is None:
            raise ValueError(f"DRAM {comp.name!r} has actions read_bytes/write_bytes, not {action!r}")
        return float(self.params[key])


ESTIMATORS: Mapping[str, type[ConstantEstimator]] = MappingProxyType(
    {"constant": ConstantEstimator, "sram": SRAMEstimator, "dram": DRAMEstimator})


@dataclass(frozen=True)
class EnergyTable:
    name: str
    raw: Mapping[str, Any]

    def estimator(self, primitive: str) -> ConstantEstimator:
        prims = self.raw["primitives"]
        if primitive not in prims:
            raise ValueError(f"energy table {self.name!r} has no primitive {primitive!r}; "
                             f"known: {sorted(prims)}")
        params = prims[primitive]
        return ESTIMATORS[params["estimator"]](params)


_TABLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def load_table(name: str) -> EnergyTable:
    """Load ``rnnaccel/hw/energy/<name>.json``; ``name`` is a bare table name (no path: a name that
    walks out of the package, ``../x``, is refused)."""
    if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
        raise ValueError(f"energy table {name!r}: expected the name of a table in rnnaccel.hw.energy "
                         f"(letters, digits, '_', '-'; no path)")
    path = resources.files("rnnaccel.hw.energy") / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown energy table {name!r} (no {name}.json in rnnaccel.hw.energy)")
    raw = json.loads(path.read_text())
    if raw.get("schema") != "rnnaccel-energy-table/1":
        raise ValueError(f"energy table {name!r} has schema {raw.get('schema')!r}, "
                         f"expected 'rnnaccel-energy-table/1'")
    return EnergyTable(name, raw)


@dataclass(frozen=True)
class EnergyReport:
    """Dynamic energy per component, leakage power, and area."""

    dynamic_pj: Mapping[str, float]
    per_action_pj: Mapping[str, float]
    leakage_mw: float
    seconds: float
    area_mm2: Mapping[str, float]

    @property
    def leakage_pj(self) -> float:
        return self.leakage_mw * 1e-3 * self.seconds * 1e12

    @property
    def total_pj(self) -> float:
        return sum(self.dynamic_pj.values()) + self.leakage_pj


def estimate(components: list[Component], counts: Mapping[str, int], table: EnergyTable,
             seconds: float) -> EnergyReport:
    """Energy of ``counts`` (keys ``component.action``) on ``components``, plus leakage over ``seconds``."""
    by_name = {c.name: c for c in components}
    dyn = dict.fromkeys(by_name, 0.0)
    per = {}
    for key, n in counts.items():
        name, action = key.split(".", 1)
        if name not in by_name:
            raise ValueError(f"action count {key!r} names no component; known: {sorted(by_name)}")
        comp = by_name[name]
        per[key] = table.estimator(comp.primitive).energy_pj(action, comp)
        dyn[name] += n * per[key]
    leak = sum(table.estimator(c.primitive).leakage_mw(c) for c in components)
    area = {c.name: table.estimator(c.primitive).area_mm2(c) for c in components}
    return EnergyReport(dyn, per, leak, seconds, area)
