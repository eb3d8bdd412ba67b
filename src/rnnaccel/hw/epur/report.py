"""Energy, power, area and the exported action-count file of an E-PUR simulation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rnnaccel.hw.energy import Component, EnergyReport, estimate, load_table
from rnnaccel.hw.epur.baseline import TegraX1, tegra_x1
from rnnaccel.hw.epur.config import EPURConfig
from rnnaccel.hw.epur.schedule import SimResult
from rnnaccel.io import write_json_atomic

__all__ = ["components", "Evaluation", "evaluate", "export_actions", "write_json"]


def components(cfg: EPURConfig) -> list[Component]:
    """The E-PUR components and the table primitive each maps to (counts cover all CUs)."""
    word = {"width_bits": cfg.word_bits}
    return [
        Component("dram", "dram"),
        Component("weight_buffer", "sram", cfg.n_cu, {"size_kib": cfg.cu.weight_buffer_kib, **word}),
        Component("input_buffer", "sram", cfg.n_cu, {"size_kib": cfg.cu.input_buffer_kib, **word}),
        Component("intermediate_memory", "sram", 1, {"size_kib": cfg.intermediate_memory_kib, **word}),
        Component("dpu", "fp16_mac", cfg.n_cu * cfg.cu.dpu_width),
        Component("accumulator", "register", cfg.n_cu),
        Component("mfu", "mfu", cfg.n_cu),
    ]


def _counts(sim: SimResult) -> dict[str, int]:
    counts = sim.counts()
    counts["accumulator.cycle"] = counts.pop("dpu.cycle")
    return counts


@dataclass(frozen=True)
class Evaluation:
    """Headline figures of one simulated sequence, with the Tegra X1 roofline beside them."""

    sim: SimResult
    energy: EnergyReport
    tegra_seconds: float
    tegra_energy_j: float

    @property
    def seconds(self) -> float:
        return self.sim.seconds

    @property
    def energy_j(self) -> float:
        return self.energy.total_pj * 1e-12

    @property
    def power_w(self) -> float:
        return self.energy_j / self.seconds

    @property
    def area_mm2(self) -> float:
        return sum(self.energy.area_mm2.values())

    @property
    def rtf(self) -> float | None:
        """Real-time factor: processing time / duration of the input (< 1 is faster than real time)."""
        step = self.sim.network.step_ms
        return None if step is None else self.seconds / (self.sim.network.seq_len * step * 1e-3)

    def breakdown_j(self) -> dict[str, float]:
        out = {k: v * 1e-12 for k, v in self.energy.dynamic_pj.items()}
        out["leakage"] = self.energy.leakage_pj * 1e-12
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "network": self.sim.network.name, "mwl": self.sim.mwl, "seq_len": self.sim.network.seq_len,
            "cycles": self.sim.cycles, "seconds": self.seconds, "rtf": self.rtf, "energy_j": self.energy_j,
            "power_w": self.power_w, "area_mm2": self.area_mm2, "dram_bytes": self.sim.dram_bytes,
            "breakdown_j": self.breakdown_j(),
            "tegra_x1": {"seconds": self.tegra_seconds, "energy_j": self.tegra_energy_j,
                         "speedup": self.tegra_seconds / self.seconds,
                         "energy_reduction": self.tegra_energy_j / self.energy_j},
            "layers": [_layer_dict(lay) for lay in self.sim.layers],
        }


def _layer_dict(lay: Any) -> dict[str, Any]:
    return {"layer": lay.index, "direction": lay.direction, "schedule": lay.schedule,
            "window_steps": lay.window_steps, "n_windows": lay.n_windows,
            "phases": [{"name": p.name, "cycles": p.cycles, "compute_cycles": p.compute_cycles,
                        "dram_cycles": p.dram_cycles, "bound": p.bound, "dram_bytes": p.dram_bytes,
                        "counts": p.counts} for p in lay.phases]}


def evaluate(sim: SimResult, gpu: TegraX1 | None = None) -> Evaluation:
    """Energy (Σ counts × energy per action + leakage × time), area, and the Tegra X1 comparison."""
    table = load_table(sim.config.energy_table)
    rep = estimate(components(sim.config), _counts(sim), table, sim.seconds)
    base = tegra_x1(sim.network, gpu)
    return Evaluation(sim, rep, base.seconds, base.energy_j)


def export_actions(ev: Evaluation) -> dict[str, Any]:
    """Action counts, energy per action and the full reference table (schema ``rnnaccel-epur-actions/1``)."""
    cfg = ev.sim.config
    return {
        "schema": "rnnaccel-epur-actions/1", "network": ev.sim.network.name, "mwl": ev.sim.mwl,
        "seconds": ev.seconds, "config": asdict(cfg),
        "components": [asdict(c) for c in components(cfg)],
        "action_counts": _counts(ev.sim), "energy_pj_per_action": dict(ev.energy.per_action_pj),
        "leakage_mw": ev.energy.leakage_mw, "energy_breakdown_j": ev.breakdown_j(),
        "area_mm2": dict(ev.energy.area_mm2), "table": dict(load_table(cfg.energy_table).raw),
    }


def write_json(data: Any, path: str | Path) -> None:
    """Write strict JSON atomically (:func:`rnnaccel.io.write_json_atomic`)."""
    write_json_atomic(path, data, indent=2)
