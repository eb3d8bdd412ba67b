"""FPGA power: static + dynamic per resource class (+ DRAM), coefficients from a data file.

P = board_static + device_static + s * (f / f_ref) * (c_dsp*DSP + c_bram*RAMB18 + c_lut*kLUT + c_ff*kFF)
    + [ddr_static + c_ddr * GB/s]  (only when weights stream from DDR)

with the coefficients of ``hw/energy/fpga_power.json`` (each with its source string) and one dynamic
scale ``s`` (1 by default; :func:`calibrated` solves it against ESE's published 41 W).
Every function accepts numpy arrays as well as scalars, so the vectorized explorer uses the same code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["PowerModel", "load_power_model", "POWER_JSON"]

POWER_JSON = Path(__file__).resolve().parent.parent / "energy" / "fpga_power.json"


@dataclass(frozen=True)
class PowerModel:
    """Per-resource power coefficients at ``reference_freq_mhz`` and static power per device."""

    reference_freq_mhz: float
    dsp_w: float
    bram18_w: float
    klut_w: float
    kff_w: float
    ddr_w_per_gbyte_s: float
    ddr_static_w: float
    static_w_by_device: tuple[tuple[str, float], ...]
    dynamic_scale: float = 1.0
    calibrated_to: str = ""

    def static_w(self, device: str) -> float:
        """Device + board static power of a device by short name."""
        for name, watts in self.static_w_by_device:
            if name == device:
                return watts
        known = [name for name, _ in self.static_w_by_device]
        raise ValueError(f"no static power for device {device!r}; the power file knows {known}")

    def dynamic_w(self, dsp, bram18, luts, ffs, freq_mhz):
        """Dynamic power of the fabric, linear in clock and in each resource class."""
        per_cycle = self.dsp_w * dsp + self.bram18_w * bram18
        per_cycle = per_cycle + self.klut_w * luts / 1e3 + self.kff_w * ffs / 1e3
        return self.dynamic_scale * (freq_mhz / self.reference_freq_mhz) * per_cycle

    def ddr_w(self, gbyte_s, uses_ddr):
        """DRAM power: idle power plus traffic, only for designs that use DDR."""
        return uses_ddr * (self.ddr_static_w + self.ddr_w_per_gbyte_s * gbyte_s)

    def total_w(self, device: str, dsp, bram18, luts, ffs, freq_mhz, gbyte_s=0.0, uses_ddr=False):
        """Board power of a design."""
        dynamic = self.dynamic_w(dsp, bram18, luts, ffs, freq_mhz)
        return self.static_w(device) + dynamic + self.ddr_w(gbyte_s, uses_ddr)

    def calibrated(
        self, dynamic_w_at_scale_1: float, fixed_w: float, target_w: float, label: str
    ) -> PowerModel:
        """A copy whose dynamic scale makes a design with the given unscaled dynamic and fixed
        (static + DDR) power dissipate ``target_w``: this is a fit, and ``calibrated_to`` says so."""
        if dynamic_w_at_scale_1 <= 0 or target_w <= fixed_w:
            raise ValueError(
                f"cannot calibrate: need dynamic > 0 and target {target_w} W > fixed {fixed_w:.2f} W, "
                f"got dynamic {dynamic_w_at_scale_1!r}"
            )
        return replace(self, dynamic_scale=(target_w - fixed_w) / dynamic_w_at_scale_1, calibrated_to=label)


def load_power_model(path: str | Path | None = None) -> PowerModel:
    """Read the coefficient file (default: the packaged ``fpga_power.json``)."""
    data = json.loads(Path(path or POWER_JSON).read_text())
    coef = {key: float(entry["value"]) for key, entry in data["coefficients"].items()}
    static = tuple(
        (name, float(entry["device_static_w"]) + float(entry["board_static_w"]))
        for name, entry in data["static"].items()
    )
    return PowerModel(reference_freq_mhz=float(data["reference_freq_mhz"]), static_w_by_device=static, **coef)
