"""Calibration of the analytical model's per-resource coefficients against real synthesis.

``benchmarks/bench_calibration.py`` synthesizes the layer accelerator (:class:`rnnaccel.rtl.top.LayerTop`)
with Yosys ``synth_xilinx -family xcu`` at several design points and fits the :class:`LogicCosts`
fields in :data:`FITTED` so that the model's DSP/LUT/FF for the *same structure* (two PEs of
``lanes`` lanes, one elementwise lane, no PCIe shell: :func:`top_tally`) match Yosys's. The result
is ``calibration_xcu.json`` beside this module, which names its source (tool, version, family,
script, date, design points) and the error before and after.

Block RAM is not fitted: it is counted structurally (one weight memory per PE x lane, ``k`` codes
wide, one word per block product; :func:`rnnaccel.hw.fpga.arith.bram18_for`'s aspect ratios).
:func:`yosys_ramb` is the rule Yosys 0.23's ``memory_libmap`` applies to such a memory (the
RAMB18 / RAMB36 costs of ``brams_xc4v.txt``) and :func:`live_width` the width it keeps after
``opt_mem`` drops the bit columns that are constant over every word; with both, the synthesized
counts are reproduced exactly, and the difference from the model is the constant columns of small
random-weight memories (``benchmarks/bench_calibration.py``).

:func:`default_costs` is what the model uses when no ``costs`` are given: the calibrated costs when
that file exists, else :class:`LogicCosts`'s defaults. ``RNNACCEL_FPGA_CALIBRATION=none`` selects the
uncalibrated model, ``RNNACCEL_FPGA_CALIBRATION=PATH`` another calibration file.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from rnnaccel.hw.fpga.design import LogicCosts

__all__ = [
    "CALIBRATION_JSON",
    "FITTED",
    "RESOURCES",
    "Calibration",
    "default_costs",
    "describe_costs",
    "errors",
    "fit_costs",
    "live_width",
    "load_calibration",
    "predict",
    "tally_dict",
    "top_tally",
    "yosys_ramb",
]

CALIBRATION_JSON = Path(__file__).resolve().parent / "calibration_xcu.json"
FITTED = ("lut_per_adder_bit", "lut_per_pwl_bit", "ff_per_reg_bit", "fft_dsp_per_mult")
RESOURCES = ("dsp", "bram18", "lut", "ff")
_ENV = "RNNACCEL_FPGA_CALIBRATION"


@dataclass(frozen=True)
class Calibration:
    """Fitted costs plus where they come from (``source``) and the fit's errors."""

    costs: LogicCosts
    source: Mapping[str, object]
    error_before: Mapping[str, float]
    error_after: Mapping[str, float]
    path: str = ""


def load_calibration(path: str | Path | None = None) -> Calibration:
    """Read a calibration file; ValueError naming the file and the bad field."""
    path = Path(path or CALIBRATION_JSON)
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read FPGA calibration {path}: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("costs"), dict) or "source" not in doc:
        raise ValueError(f"FPGA calibration {path} needs 'costs' (object) and 'source'")
    known = {f.name for f in fields(LogicCosts)}
    bad = sorted(set(doc["costs"]) - known)
    if bad:
        raise ValueError(f"FPGA calibration {path}: unknown cost field(s) {bad}, "
                         f"expected some of {sorted(known)}")
    for name, value in doc["costs"].items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"FPGA calibration {path}: costs.{name} must be a number >= 0, got {value!r}")
    return Calibration(replace(LogicCosts(), **doc["costs"]), doc["source"], doc.get("error_before", {}),
                       doc.get("error_after", {}), str(path))


@functools.lru_cache(maxsize=8)
def _cached(path: str) -> LogicCosts:
    return load_calibration(path).costs


def default_costs() -> LogicCosts:
    """The calibrated costs (``calibration_xcu.json``, or ``$RNNACCEL_FPGA_CALIBRATION``); the
    uncalibrated :class:`LogicCosts` when that variable is ``none`` or no calibration file exists."""
    choice = os.environ.get(_ENV, "")
    if choice.lower() in ("none", "uncalibrated", "0"):
        return LogicCosts()
    path = Path(choice) if choice else CALIBRATION_JSON
    if not choice and not path.exists():
        return LogicCosts()
    return _cached(str(path))


def describe_costs(costs: LogicCosts) -> str:
    """One line saying which coefficients ``costs`` are (calibrated from what, or the defaults)."""
    if costs == LogicCosts():
        return "uncalibrated (LogicCosts defaults)"
    path = Path(os.environ.get(_ENV, "") or CALIBRATION_JSON)
    if path.exists() and _cached(str(path)) == costs:
        src = load_calibration(path).source
        tool = f"{src.get('tool')} {src.get('version')} synth_xilinx -family {src.get('family')}"
        n = len(src.get("design_points", []))
        return f"calibrated to {tool} ({n} design points, {src.get('date')}; {path.name})"
    return "custom LogicCosts"


def top_tally(kind: str, n_in: int, hidden: int, k: int, lanes: int, bits: int = 16, device: str = "ku060",
              streams: int = 1):
    """The model's tally of the layer top's structure: a PE (FFT-k, ``lanes`` MAC lanes and IFFTs,
    weight memory) for W_ih and one for W_hh, one elementwise lane; no buffers in BRAM (the top keeps
    x, h, c and the gates in registers) and no shell. ``streams``: the pipelined top
    (:class:`rnnaccel.rtl.pipeline.PipelinedTop`) of that many distinct directions, whose weight
    memories hold every direction's words one after another (same PEs, ``streams`` x the depth)."""
    from rnnaccel.hw.fpga.design import CirculantDesign
    from rnnaccel.hw.fpga.model import Tally, _elementwise, _mac_bank, _weight_memory
    from rnnaccel.hw.spec import fpga_device
    from rnnaccel.shape import Cell, RnnShape

    dev, t = fpga_device(device), Tally()
    d = CirculantDesign(block_gate=k, block_proj=k, pe_gate=1, lanes_gate=lanes, elem_lanes=1,
                        weight_bits=bits, data_bits=bits, complex_mult=4)
    cell = Cell.parse(kind, "kind")
    rows = cell.gates * hidden
    for cols in ((n_in,), (hidden,)):
        _mac_bank(t, k, 1, lanes, d)
        _weight_memory(t, ((rows, cols),) * streams, k, 1, lanes, d, dev)
    shape = RnnShape(cell, n_in, hidden, peepholes=cell is Cell.LSTM)
    _elementwise(t, shape, 1, bits, LogicCosts())
    return t


def predict(tally: Mapping[str, float], costs: LogicCosts, bits: int = 16, device: str = "ku060") -> dict:
    """The model's DSP / RAMB18 / LUT / FF of a tally (``asdict(Tally)``), without the shell."""
    from rnnaccel.hw.fpga.design import CirculantDesign
    from rnnaccel.hw.fpga.model import Tally, _dsp, _logic
    from rnnaccel.hw.spec import fpga_device

    t = Tally(**tally)
    d = CirculantDesign(weight_bits=bits, data_bits=bits)
    lut, ff = _logic(t, replace(costs, shell_luts=0, shell_ffs=0))
    return {"dsp": _dsp(t, fpga_device(device), d, costs), "bram18": int(t.bram18), "lut": lut, "ff": ff}


def errors(rows: Sequence[Mapping], costs: LogicCosts) -> dict[str, float]:
    """Mean |model / yosys - 1| per resource over ``rows`` ({"tally", "yosys"}); BRAM over rows with any."""
    out = {}
    for res in RESOURCES:
        pairs = [(predict(r["tally"], costs)[res], r["yosys"][res]) for r in rows if r["yosys"][res] > 0]
        out[res] = float(np.mean([abs(m / y - 1.0) for m, y in pairs])) if pairs else 0.0
    return out


def _relative_nnls(features: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Non-negative x minimizing sum((features @ x / target - 1)^2): relative error, every point alike."""
    from scipy.optimize import nnls

    a = features / target[:, None]
    return nnls(a, np.ones(len(target)))[0]


def fit_costs(rows: Sequence[Mapping], base: LogicCosts | None = None,
              pwl_lut_per_bit: float | None = None) -> LogicCosts:
    """Fit :data:`FITTED` (relative least squares, non-negative) to rows of {"tally", "yosys"}:
    LUT = (1 + overhead)(a adder_bits + b pwl_bits), FF = (1 + overhead) c (adder + reg bits),
    DSP - weight and elementwise products = d x FFT twiddle products. ``pwl_lut_per_bit`` (LUTs per
    output bit of a synthesized PWL unit) fixes b = it / (1 + overhead); a is then fitted alone
    (with one elementwise lane per design, pwl_bits is a per-cell constant and b would otherwise
    absorb every fixed cost of the top)."""
    base = base or LogicCosts()
    if len(rows) < 2:
        raise ValueError(f"fitting needs at least 2 synthesized design points, got {len(rows)}")
    t = {key: np.array([float(r["tally"][key]) for r in rows]) for key in rows[0]["tally"]}
    y = {res: np.array([float(r["yosys"][res]) for r in rows]) for res in RESOURCES}
    scale = 1.0 + base.control_overhead
    if pwl_lut_per_bit is None:
        lut = _relative_nnls(scale * np.stack([t["adder_bits"], t["pwl_bits"]], axis=1), y["lut"])
    else:
        b = pwl_lut_per_bit / scale
        rest = np.maximum(y["lut"] - scale * b * t["pwl_bits"], 1e-9)
        lut = (_relative_nnls(scale * t["adder_bits"][:, None], rest)[0], b)
    ff = _relative_nnls(scale * (t["adder_bits"] + t["reg_bits"])[:, None], y["ff"])
    rest = t["mults_wide"] + t["mults_data"]  # 16 x 16 bit: one DSP each on the KU060
    dsp = _relative_nnls(t["mults_fft"][:, None], np.maximum(y["dsp"] - rest, 1e-9))
    fitted = (lut[0], lut[1], ff[0], dsp[0])
    return replace(base, **{name: round(float(v), 4) for name, v in zip(FITTED, fitted, strict=True)})


# Yosys 0.23 share/xilinx/brams_xc4v.txt, simple dual port: (cost, primitive, ((depth, width), ...)).
# A RAMB36 ("FULL") has every RAMB18 ("HALF") ratio at twice the depth, plus 512 x 72.
_HALF = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
_LIBMAP = ((129, "RAMB18", _HALF), (257, "RAMB36", tuple((2 * d, w) for d, w in _HALF) + ((512, 72),)))


def yosys_ramb(width: int, depth: int) -> tuple[int, int]:
    """(RAMB18, RAMB36) that Yosys 0.23 ``memory_libmap`` maps a ``width`` x ``depth`` block memory
    to: the cheapest of every aspect ratio of either primitive, tiled in width and depth. In RAMB18
    equivalents this equals :func:`~rnnaccel.hw.fpga.arith.bram18_for` for any memory up to 129
    RAMB36 (a test checks), which is why the model counts RAMB18s only."""
    if width < 0 or depth < 1:
        raise ValueError(f"memory must have width >= 0 and depth >= 1, got {width}x{depth}")
    if width == 0:
        return 0, 0
    cost, prim, n = min((cost * c, prim, c) for cost, prim, cfgs in _LIBMAP for d, w in cfgs
                        for c in [-(-width // w) * -(-depth // d)])
    return (n, 0) if prim == "RAMB18" else (0, n)


def live_width(words: Sequence[int], width: int) -> int:
    """Bits of a ``width``-bit ROM that are not constant over all ``words``: what Yosys keeps after
    ``opt_mem`` removes constant bit columns (a 2-4 word ROM of random codes loses many)."""
    return sum(1 for b in range(width) if len({(w >> b) & 1 for w in words}) > 1)


def tally_dict(tally) -> dict[str, float]:
    """A model tally as a JSON-ready dict."""
    return {key: float(v) for key, v in asdict(tally).items()}
