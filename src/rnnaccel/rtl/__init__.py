"""Synthesizable RTL of the E-RNN accelerator, in Amaranth 0.5 (emitted as Verilog).

Components (``amaranth.lib.wiring.Component``, valid/ready ``amaranth.lib.stream`` ports): FFT-k,
IFFT-k, the frequency-domain MAC bank and the PE composed of them (bit-exact with
:mod:`rnnaccel.ref.pe`); the PWL activation and the LSTM / GRU elementwise units (bit-exact with
:mod:`rnnaccel.ref.cell`); the layer top (one direction of one layer, bit-exact with
:func:`rnnaccel.ref.engine.run_direction`). :mod:`rnnaccel.rtl.synth` runs Yosys,
:mod:`rnnaccel.rtl.pnr` nextpnr-ecp5, :mod:`rnnaccel.rtl.build` writes a layer's Verilog and
testbench. Names load lazily, so importing this package does not import Amaranth.
"""

from __future__ import annotations

import importlib

__all__ = [
    "FFT",
    "GRU_LATENCY",
    "IFFT",
    "LSTM_LATENCY",
    "MAC_LATENCY",
    "PE",
    "PWL_LATENCY",
    "GRUUpdateUnit",
    "LSTMCellUnit",
    "LayerTop",
    "MACBank",
    "PWLPipeline",
    "PWLUnit",
    "PnrReport",
    "SynthReport",
    "ToolNotFound",
    "build_shape",
    "circulant_pre_format",
    "fft_latency",
    "place_and_route_ecp5",
    "run_sim",
    "synth_xilinx",
    "to_verilog",
    "top_cycles",
    "write_design",
]

_WHERE = {
    "FFT": "fft", "IFFT": "fft", "fft_latency": "fft",
    "MACBank": "mac", "MAC_LATENCY": "mac", "PE": "pe",
    "PWLUnit": "pwl", "PWLPipeline": "pwl", "PWL_LATENCY": "pwl",
    "LSTMCellUnit": "cell", "GRUUpdateUnit": "cell", "LSTM_LATENCY": "cell", "GRU_LATENCY": "cell",
    "circulant_pre_format": "cell",
    "LayerTop": "top", "top_cycles": "top",
    "build_shape": "build", "write_design": "build", "run_sim": "build",
    "SynthReport": "synth", "synth_xilinx": "synth", "to_verilog": "synth", "ToolNotFound": "synth",
    "PnrReport": "pnr", "place_and_route_ecp5": "pnr",
}


def __getattr__(name: str) -> object:
    if name not in _WHERE:
        raise AttributeError(f"module 'rnnaccel.rtl' has no attribute {name!r}")
    return getattr(importlib.import_module(f"rnnaccel.rtl.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
