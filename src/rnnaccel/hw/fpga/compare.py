"""Redo the ESE vs C-LSTM vs E-RNN comparison with the analytical model, beside the published numbers.

Designs (Google LSTM 153 -> 1024 -> 512 with peepholes, one layer, one direction per frame; the GRU
row is a 153 -> 1024 GRU), all on the KU060 at 200 MHz:

* ``ese``: ESE's sparse design, 32 channels x 32 PEs, 12-bit weights + 4-bit indices from DDR, density
  282/2520 (the published sparse/dense GOPS ratio), per-PE imbalance 1.0 [assumed: load-balance-aware
  pruning gives every PE the same nonzero count].
* ``clstm_fft8`` / ``clstm_fft16``: C-LSTM kernel style: 16-bit, FFT-8 / FFT-16 for every matrix,
  16 output blocks in parallel, II = 2, schoolbook complex multiply; PEs sized to fill the device.
* ``ernn_lstm`` / ``ernn_gru``: E-RNN's choices made explicit: 12-bit datapath, block size per part
  (gates 8, projection 16 for the LSTM; 16 for the GRU gates) [assumed sizes], GRU vs LSTM.

Power: the coefficient file's single dynamic scale is calibrated so the modeled ESE dissipates 41 W;
the C-LSTM and E-RNN powers are predictions. Resources: the model's LUT/FF/FFT-DSP coefficients
are the ones fitted to Yosys syntheses of the RTL (:mod:`rnnaccel.hw.fpga.calibration`) unless
``costs`` are given (``LogicCosts()``: the uncalibrated model).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from rnnaccel.hw.fpga.calibration import default_costs, describe_costs
from rnnaccel.hw.fpga.design import CirculantDesign, LogicCosts, SparseDesign
from rnnaccel.hw.fpga.model import FpgaReport, evaluate
from rnnaccel.hw.fpga.power import PowerModel, load_power_model
from rnnaccel.hw.fpga.sizing import size_for_device
from rnnaccel.hw.fpga.workload import GOOGLE_LSTM, RnnShape
from rnnaccel.hw.spec import fpga_device
from rnnaccel.shape import Cell

__all__ = [
    "PUBLISHED_JSON",
    "Comparison",
    "comparison_designs",
    "ese_calibrated_power",
    "format_comparison",
    "run_comparison",
]

PUBLISHED_JSON = Path(__file__).resolve().parent.parent / "energy" / "fpga_published.json"
GOOGLE_GRU = RnnShape(Cell.GRU, 153, 1024)


def comparison_designs() -> tuple[tuple[str, RnnShape, object], ...]:
    """(key, network, base design) of every row; circulant rows get their parallelism sized later."""
    clstm = dict(lanes_gate=16, ii=2, weight_bits=16, data_bits=16, complex_mult=4)
    ernn = dict(lanes_gate=16, ii=2, weight_bits=12, data_bits=12, complex_mult=4)
    return (
        ("ese", GOOGLE_LSTM, SparseDesign(name="ESE sparse 12b")),
        (
            "clstm_fft8",
            GOOGLE_LSTM,
            CirculantDesign(block_gate=8, block_proj=8, name="C-LSTM FFT8 16b", **clstm),
        ),
        (
            "clstm_fft16",
            GOOGLE_LSTM,
            CirculantDesign(block_gate=16, block_proj=16, name="C-LSTM FFT16 16b", **clstm),
        ),
        (
            "ernn_lstm",
            GOOGLE_LSTM,
            CirculantDesign(block_gate=8, block_proj=16, name="E-RNN LSTM 8/16 12b", **ernn),
        ),
        (
            "ernn_gru",
            GOOGLE_GRU,
            CirculantDesign(block_gate=16, block_proj=16, name="E-RNN GRU 16 12b", **ernn),
        ),
    )


@dataclass(frozen=True)
class Comparison:
    """Modeled rows, checks against the published figures, and the power calibration used."""

    device: str
    rows: tuple[dict, ...]
    checks: tuple[dict, ...]
    dynamic_scale: float
    costs: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "device": self.device,
            "dynamic_scale": self.dynamic_scale,
            "costs": self.costs,
            "rows": list(self.rows),
            "checks": list(self.checks),
        }


def _calibrate(power: PowerModel, shape: RnnShape, ese: SparseDesign, dev, costs=None) -> PowerModel:
    """Solve the dynamic scale so that the modeled ESE dissipates its published 41 W."""
    report = evaluate(shape, ese, dev, power, costs)
    fixed = power.static_w(dev.name) + power.ddr_w(report.ddr_gbyte_s, ese.weights_in_ddr)
    return power.calibrated(report.power_w - fixed, fixed, 41.0, "ESE 41 W (Han et al. 2017)")


def ese_calibrated_power(device: str = "ku060", power: PowerModel | None = None) -> PowerModel:
    """The coefficient file with its dynamic scale fitted to ESE's 41 W (see :func:`run_comparison`)."""
    _, shape, ese = comparison_designs()[0]
    return _calibrate(power or load_power_model(), shape, ese, fpga_device(device))


def _row(key: str, report: FpgaReport, ese: FpgaReport, design) -> dict:
    ese_paper_fps = ese.single_stream_frames_per_s
    row = {"key": key, "design": report.name, **report.to_dict()}
    row["single_stream_frames_per_s_per_w"] = report.single_stream_frames_per_s / report.power_w
    row["perf_vs_ese"] = report.frames_per_s / ese_paper_fps
    row["ee_vs_ese"] = report.frames_per_s_per_w / (ese_paper_fps / ese.power_w)
    row["perf_vs_ese_throughput"] = report.frames_per_s / ese.frames_per_s
    row["ee_vs_ese_throughput"] = report.frames_per_s_per_w / ese.frames_per_s_per_w
    row["parameters"] = {k: v for k, v in vars(design).items() if k != "name"}
    return row


def _check(design: str, metric: str, modeled: float, ref: dict) -> dict:
    err = modeled / ref["value"] - 1.0
    return {
        "design": design,
        "metric": metric,
        "modeled": modeled,
        "published": ref["value"],
        "tag": ref["tag"],
        "rel_error": err,
        "within": abs(err) <= ref["rel_tolerance"],
        "expect_within": ref["expect_within"],
        "note": ref.get("note", ""),
    }


def _best(rows: dict[str, dict], prefix: str, metric: str) -> float:
    return max(row[metric] for key, row in rows.items() if key.startswith(prefix))


def _checks(rows: dict[str, dict], published: dict) -> list[dict]:
    checks = [
        _check(key, metric, rows[key][metric], ref)
        for key in ("ese", "clstm_fft8", "clstm_fft16")
        for metric, ref in published[key].items()
    ]
    for ref in published["ratios"]:
        design, metric = ref["design"], ref["metric"]
        if metric == "ee_vs_clstm":
            value = _best(rows, "ernn", "ee_vs_ese") / _best(rows, "clstm", "ee_vs_ese")
        elif design.endswith("_best"):
            value = _best(rows, design.split("_")[0], metric)
        else:
            value = rows[design][metric]
        checks.append(_check(design, metric, value, ref))
    return checks


def run_comparison(
    device: str = "ku060", power: PowerModel | None = None, published_path: str | Path | None = None,
    costs: LogicCosts | None = None,
) -> Comparison:
    """Size, evaluate and compare every design of :func:`comparison_designs` on ``device``
    (``costs``: the model's coefficients, default the synthesis-calibrated ones)."""
    dev, costs = fpga_device(device), costs or default_costs()
    designs = comparison_designs()
    power = _calibrate(power or load_power_model(), designs[0][1], designs[0][2], dev, costs)
    reports = {}
    for key, shape, base in designs:
        design = (size_for_device(shape, base, dev, power, costs=costs) if isinstance(base, CirculantDesign)
                  else base)
        reports[key] = (evaluate(shape, design, dev, power, costs), design)
    ese = reports["ese"][0]
    rows = {key: _row(key, rep, ese, design) for key, (rep, design) in reports.items()}
    published = json.loads(Path(published_path or PUBLISHED_JSON).read_text())
    return Comparison(dev.name, tuple(rows.values()), tuple(_checks(rows, published)), power.dynamic_scale,
                      describe_costs(costs))


_COLS = (  # (header, width, format spec)
    ("design", 20, "<20s"),
    ("fits", 5, ">5"),
    ("dsp%", 5, ">5.0f"),
    ("bram%", 5, ">5.0f"),
    ("lut%", 5, ">5.0f"),
    ("frames/s", 10, ">10.0f"),
    ("lat_us", 7, ">7.2f"),
    ("GOPS", 7, ">7.0f"),
    ("dGOPS", 7, ">7.0f"),
    ("W", 5, ">5.1f"),
    ("fps/W", 8, ">8.0f"),
    ("perf_x", 7, ">7.2f"),
    ("ee_x", 7, ">7.2f"),
)


def _row_values(row: dict) -> tuple:
    f = row["fractions"]
    return (
        row["design"],
        row["fits"],
        100 * f["dsp"],
        100 * f["bram"],
        100 * f["lut"],
        row["frames_per_s"],
        row["latency_us"],
        row["gops"],
        row["dense_gops"],
        row["power_w"],
        row["frames_per_s_per_w"],
        row["perf_vs_ese"],
        row["ee_vs_ese"],
    )


def format_comparison(cmp: Comparison) -> str:
    """Plain-text tables: modeled designs, then modeled vs published with relative errors."""
    head = " ".join(
        f"{name:>{width}s}" if i else f"{name:<{width}s}" for i, (name, width, _) in enumerate(_COLS)
    )
    lines = [
        f"device {cmp.device}; power dynamic scale {cmp.dynamic_scale:.3f} (calibrated to ESE 41 W)",
        "perf_x / ee_x: frames/s and frames/s/W vs ESE on the papers' basis (ESE frames/s = 1/latency)",
        f"model coefficients: {cmp.costs}",
        head,
    ]
    lines += [
        " ".join(
            format(str(v) if isinstance(v, bool) else v, spec)
            for (_, _, spec), v in zip(_COLS, _row_values(r), strict=True)
        )
        for r in cmp.rows
    ]
    lines += [
        "",
        f"{'design':<12s} {'metric':<34s} {'modeled':>10s} {'published':>10s} {'tag':>3s} {'error':>8s}",
    ]
    lines += [
        f"{c['design']:<12s} {c['metric']:<34s} {c['modeled']:>10.4g} {c['published']:>10.4g} "
        f"{c['tag']:>3s} {100 * c['rel_error']:>+7.1f}%"
        for c in cmp.checks
    ]
    return "\n".join(lines)
