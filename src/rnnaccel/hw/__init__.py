"""Hardware models: frozen specs, the E-RNN FPGA model, the E-PUR processing unit, energy tables."""

from __future__ import annotations

import importlib

__all__ = ["available_targets"]

# Explicit registry: family -> (module, attribute naming a tuple/list of target names).
_TARGET_SOURCES: dict[str, tuple[str, str]] = {
    "epur": ("rnnaccel.hw.epur.networks", "NETWORK_NAMES"),
    "fpga": ("rnnaccel.hw.spec", "FPGA_DEVICE_NAMES"),
}


def available_targets() -> dict[str, list[str]]:
    """Names of the hardware targets per family (e.g. FPGA devices, processing units)."""
    found: dict[str, list[str]] = {}
    for family, (module_name, attr) in _TARGET_SOURCES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found[family] = sorted(getattr(module, attr))
    return found
