"""Design-space exploration of the FPGA architecture model: sweeps, Pareto fronts, Phase I PER."""

from rnnaccel.explore.config import ExploreConfig, load_explore_config
from rnnaccel.explore.grid import build_points, load_phase1, per_column, shapes_for
from rnnaccel.explore.pareto import pareto_front, pareto_front_naive
from rnnaccel.explore.run import ExploreResult, explore, plot_front, write_csv

__all__ = [
    "ExploreConfig",
    "ExploreResult",
    "build_points",
    "explore",
    "load_explore_config",
    "load_phase1",
    "pareto_front",
    "pareto_front_naive",
    "per_column",
    "plot_front",
    "shapes_for",
    "write_csv",
]
