"""E-PUR processing-unit simulator (Silfa et al., PACT 2018) with Maximizing Weight Locality, energy,
area, a naive per-cycle twin, a functional (numerical) mode and a Tegra X1 roofline baseline."""

from rnnaccel.hw.epur.baseline import BaselineResult, TegraX1, tegra_x1
from rnnaccel.hw.epur.config import ComputeUnitConfig, DRAMConfig, EPURConfig, load_config
from rnnaccel.hw.epur.networks import NETWORK_NAMES, NetworkSpec, block_size, get_network, layer_params
from rnnaccel.hw.epur.report import Evaluation, evaluate, export_actions
from rnnaccel.hw.epur.schedule import LayerResult, PhaseResult, SimResult, simulate, simulate_layer

__all__ = ["BaselineResult", "ComputeUnitConfig", "DRAMConfig", "EPURConfig", "Evaluation", "LayerResult",
           "NETWORK_NAMES", "NetworkSpec", "PhaseResult", "SimResult", "TegraX1", "block_size", "evaluate",
           "export_actions", "get_network", "layer_params", "load_config", "simulate", "simulate_layer",
           "tegra_x1"]
