"""Synthesizable RTL of the E-RNN processing element, in Amaranth 0.5 (emitted as Verilog).

Components (``amaranth.lib.wiring.Component``, valid/ready ``amaranth.lib.stream`` ports): FFT-k,
IFFT-k, the frequency-domain MAC bank and the PE composed of them; each is bit-exact with its
model in :mod:`rnnaccel.ref.pe`. :mod:`rnnaccel.rtl.synth` runs Yosys, :mod:`rnnaccel.rtl.pnr`
nextpnr-ecp5. Names load lazily, so importing this package does not import Amaranth.
"""

from __future__ import annotations

import importlib

__all__ = [
    "FFT",
    "IFFT",
    "MACBank",
    "PE",
    "SynthReport",
    "PnrReport",
    "fft_latency",
    "synth_xilinx",
    "place_and_route_ecp5",
    "to_verilog",
]

_WHERE = {
    "FFT": "fft",
    "IFFT": "fft",
    "fft_latency": "fft",
    "MACBank": "mac",
    "PE": "pe",
    "SynthReport": "synth",
    "synth_xilinx": "synth",
    "to_verilog": "synth",
    "PnrReport": "pnr",
    "place_and_route_ecp5": "pnr",
}


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'rnnaccel.rtl' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rnnaccel.rtl.{_WHERE[name]}"), name)
