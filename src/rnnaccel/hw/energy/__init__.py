"""Energy reference tables and estimators (energy = action counts × energy per action + leakage × time)."""

from rnnaccel.hw.energy.table import (
    ESTIMATORS,
    Component,
    ConstantEstimator,
    DRAMEstimator,
    EnergyReport,
    EnergyTable,
    SRAMEstimator,
    estimate,
    load_table,
)

__all__ = ["Component", "ConstantEstimator", "DRAMEstimator", "ESTIMATORS", "EnergyReport", "EnergyTable",
           "SRAMEstimator", "estimate", "load_table"]
