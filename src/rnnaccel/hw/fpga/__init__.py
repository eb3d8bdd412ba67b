"""Analytical model of the E-RNN / C-LSTM FFT-based architecture and of ESE's sparse design."""

from rnnaccel.hw.fpga.design import CirculantDesign, LogicCosts, SparseDesign, imbalance_from_counts
from rnnaccel.hw.fpga.model import FpgaReport, evaluate, evaluate_circulant, evaluate_sparse
from rnnaccel.hw.fpga.power import PowerModel, load_power_model
from rnnaccel.hw.fpga.workload import GOOGLE_LSTM, RnnShape
from rnnaccel.hw.spec import FPGA_DEVICE_NAMES, fpga_device

__all__ = [
    "FPGA_DEVICE_NAMES",
    "GOOGLE_LSTM",
    "CirculantDesign",
    "FpgaReport",
    "LogicCosts",
    "PowerModel",
    "RnnShape",
    "SparseDesign",
    "evaluate",
    "evaluate_circulant",
    "evaluate_sparse",
    "fpga_device",
    "imbalance_from_counts",
    "load_power_model",
]
