"""``rnnaccel report RUN``: one self-contained HTML page (inline CSS and SVG, no script, nothing fetched
from the network) for a flow run (``results/flow.json``), a compress sweep (its results JSON) or an
explore run (its output folder).

Every section has an ``id`` (:data:`FLOW_SECTIONS`, :data:`COMPRESS_SECTIONS`, :data:`EXPLORE_SECTIONS`)
so a reader, or a test, can find it; a section whose data the run does not have says so instead of
being left out.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from rnnaccel.io import file_sha256, read_json
from rnnaccel.report import plots

__all__ = ["COMPRESS_SECTIONS", "EXPLORE_SECTIONS", "FLOW_SECTIONS", "load_run", "render", "write_report"]

FLOW_SECTIONS = ("summary", "training", "compression", "admm", "overflows", "fpga", "epur")
COMPRESS_SECTIONS = ("summary", "trials", "pareto", "training", "admm")
EXPLORE_SECTIONS = ("summary", "pareto", "front", "resources")

_CSS = """
body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-top:.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}.note{color:#666;font-style:italic}
figure{margin:.5em 0}svg{max-width:100%;height:auto}
"""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table, every cell escaped."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{html.escape(caption)}</figcaption></figure>"


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>{body}</section>'


def _page(title: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{''.join(sections)}</body></html>\n"
    )


# -- flow ---------------------------------------------------------------------------------------------
def _flow_stages(report: Mapping[str, Any]) -> dict[str, list]:
    stages = {"dense": report["dense"]["per_curve"]}
    stages.update(
        {
            f"{report['compress'].get('method', 'compress')} {k}": v
            for k, v in report["compress"]["stages"].items()
        }
    )
    stages.update({f"quant {k}": v for k, v in report.get("qat", {}).get("stages", {}).items()})
    return stages


def _last_per(records: Sequence[Mapping[str, Any]], split: str | None) -> float | None:
    return plots.per_percent(records[-1], split) if records else None


def _flow_summary(report: Mapping[str, Any]) -> str:
    cfg, ref = report["config"], report["ref_check"]
    fpga, epur = report["hardware"]["fpga"], report["hardware"]["epur"]
    rows = [
        ("method", cfg.get("method")),
        ("block size", cfg.get("block_size")),
        ("quantization", cfg.get("quant")),
        ("integer-engine PER (test) %", 100 * ref["per_integer_engine"]),
        ("bit-exact vs fake-quant torch", ref["bit_exact"]),
        ("FPGA device", fpga.get("device")),
        ("FPGA frames/s/W", fpga.get("frames_per_s_per_w")),
        ("E-PUR energy per utterance (mJ)", 1e3 * epur["energy_j"]),
    ]
    return table(("item", "value"), rows)


def _flow_training(report: Mapping[str, Any], split: str | None) -> str:
    stages = _flow_stages(report)
    rows = [(name, len(recs), _last_per(recs, split)) for name, recs in stages.items()]
    return _figure(
        plots.training_curves_svg(stages, split, "flow"), "PER and loss per epoch, per stage"
    ) + table(("stage", "epochs", f"final PER % ({split})"), rows)


def _flow_compression(report: Mapping[str, Any], split: str | None) -> str:
    cfg, ref = report["config"], report["ref_check"]
    rows = [(name, _last_per(recs, split)) for name, recs in _flow_stages(report).items()]
    rows.append((f"integer engine ({cfg.get('quant')}, test split)", 100 * ref["per_integer_engine"]))
    return table(("model", "PER %"), rows) + _note(
        f"block size {cfg.get('block_size')}, method {cfg.get('method')}"
    )


def _flow_admm(report: Mapping[str, Any]) -> str:
    residuals = report["compress"].get("residuals") or []
    if not residuals:
        return _note(f"no ADMM residuals: the method of this run is {report['compress'].get('method')!r}")
    return _figure(
        plots.admm_residuals_svg({"flow": residuals}), "relative residual per ADMM iteration"
    ) + table(("iteration", "residual"), enumerate(residuals, 1))


def _flow_overflows(report: Mapping[str, Any]) -> str:
    ref = report["ref_check"]
    rows = sorted(ref["overflows"].items())
    return table(("quantization point", "saturated values"), rows) + _note(
        f"integer engine on {ref['utterances']} test utterances"
    )


def fpga_section(fpga: Mapping[str, Any]) -> str:
    """Resources (used / fraction), throughput and power of one FPGA design."""
    fr = fpga.get("fractions", {})
    res = [
        (k, fpga.get(n), fr.get(k))
        for k, n in (("dsp", "dsp"), ("bram", "bram18"), ("lut", "luts"), ("ff", "ffs"))
    ]
    perf = [
        (k, fpga.get(k))
        for k in ("device", "name", "fits", "frames_per_s", "latency_us", "power_w", "frames_per_s_per_w")
        if k in fpga
    ]
    svg = plots.resources_svg({str(fpga.get("name", "design")): fr}) if fr else ""
    return table(("resource", "used", "fraction"), res) + table(("figure", "value"), perf) + svg


def epur_section(epur: Mapping[str, Any]) -> str:
    """E-PUR energy breakdown (mJ per utterance) and its headline figures."""
    parts = epur.get("breakdown_j", {})
    total = sum(parts.values()) or 1.0
    rows = [(k, 1e3 * v, 100 * v / total) for k, v in sorted(parts.items(), key=lambda kv: -kv[1])]
    head = [(k, epur.get(k)) for k in ("network", "mwl", "seq_len", "seconds", "rtf", "energy_j", "power_w")]
    return (
        (_figure(plots.energy_breakdown_svg(parts), "energy per component") if parts else "")
        + table(("component", "mJ", "%"), rows)
        + table(("figure", "value"), head)
    )


def flow_page(report: Mapping[str, Any]) -> str:
    split = (report.get("train_config", {}).get("data", {}).get("eval_splits") or [None])[0]
    body = {
        "summary": ("Summary", _flow_summary(report)),
        "training": ("Training curves (PER per epoch, per stage)", _flow_training(report, split)),
        "compression": ("Compression", _flow_compression(report, split)),
        "admm": ("ADMM residuals", _flow_admm(report)),
        "overflows": ("Overflow counts per quantization point", _flow_overflows(report)),
        "fpga": ("FPGA resources, throughput and power", fpga_section(report["hardware"]["fpga"])),
        "epur": ("E-PUR energy breakdown", epur_section(report["hardware"]["epur"])),
    }
    return _page("rnnaccel flow report", [_section(k, *body[k]) for k in FLOW_SECTIONS])


# -- compress -----------------------------------------------------------------------------------------
def _front(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Trials no other trial beats on PER, storage and frames/s/W at once."""

    def beats(a, b):
        ge = (
            a["per"] <= b["per"]
            and a["storage_bytes"] <= b["storage_bytes"]
            and a.get("frames_per_s_per_w", 0) >= b.get("frames_per_s_per_w", 0)
        )
        return ge and (a["per"], a["storage_bytes"], -a.get("frames_per_s_per_w", 0)) != (
            b["per"],
            b["storage_bytes"],
            -b.get("frames_per_s_per_w", 0),
        )

    return [r for r in rows if not any(beats(o, r) for o in rows)]


def compress_page(results: Mapping[str, Any]) -> str:
    summary, rows = results["summary"], results["trials"]
    figs = plots.compress_plots(results)
    base = summary["baseline_per"]
    keys = ("trial", "per", "storage_bytes", "mults_per_frame", "frames_per_s_per_w")
    trial_rows = [
        [r.get(k) if k != "per" else 100 * r["per"] for k in keys] + [100 * (r["per"] - base)] for r in rows
    ]
    front = _front(rows)
    info = [
        ("selected", summary["selected"]),
        ("baseline PER %", 100 * base),
        ("trials run", summary["trials_run"]),
        ("full grid", summary["full_grid_trials"]),
        ("study", json.dumps(summary.get("study"))),
    ] + [("note", n) for n in summary.get("notes", [])]
    body = {
        "summary": ("Summary", table(("item", "value"), info)),
        "trials": (
            "Compression table (every trial)",
            table(("trial", "PER %", "storage B", "mults/frame", "frames/s/W", "ΔPER points"), trial_rows),
        ),
        "pareto": (
            "Pareto front: PER vs storage and vs frames/s/W",
            _figure(figs["per_vs_storage"], "PER vs storage (labelled trials)")
            + _figure(figs["per_vs_frames_per_s_per_w"], "PER vs frames/s/W")
            + table(
                ("non-dominated trial", "PER %", "storage B", "frames/s/W"),
                [
                    (r["trial"], 100 * r["per"], r["storage_bytes"], r.get("frames_per_s_per_w"))
                    for r in front
                ],
            ),
        ),
        "training": ("Training curves (selected trial)", _figure(figs["training_curves"], "PER and loss")),
        "admm": (
            "ADMM residuals",
            _figure(figs["admm_residuals"], "per trial")
            if "admm_residuals" in figs
            else _note("no ADMM trial in this sweep"),
        ),
    }
    return _page("rnnaccel compress sweep report", [_section(k, *body[k]) for k in COMPRESS_SECTIONS])


# -- explore ------------------------------------------------------------------------------------------
def explore_page(folder: Path) -> str:
    summary = read_json(folder / "summary.json", "explore summary")
    _check_files(folder, summary.get("files_sha256") or {})
    front = read_json(folder / "pareto.json", "Pareto front")
    groups = {}
    for row in front:
        groups.setdefault(row["device"], {"points": [], "front": []})["front"].append(row)
    info = [(k, summary.get(k)) for k in ("points", "fitting", "eligible", "pareto", "eval_seconds")]
    keys = (
        "device",
        "cell",
        "block_gate",
        "block_proj",
        "pe_gate",
        "lanes_gate",
        "weight_bits",
        "data_bits",
        "ii",
        "frames_per_s",
        "frames_per_s_per_w",
        "resource_use",
        "per",
    )
    resources = {
        f"{r['device']} k{r['block_gate']}/{r['block_proj']} pe{r['pe_gate']}": {
            k: r[f"{k}_frac"] for k in ("dsp", "bram", "lut", "ff")
        }
        for r in front[:12]
    }
    body = {
        "summary": ("Summary", table(("item", "value"), info)),
        "pareto": (
            "Pareto fronts (one per device)",
            _figure(plots.pareto_svg(groups, "resource"), "front points labelled k<gate>/<proj> w<bits>"),
        ),
        "front": ("Front points", table(keys, [[r.get(k) for k in keys] for r in front])),
        "resources": (
            "Resource use per design point (best 12 by frames/s/W)",
            plots.resources_svg(resources) if resources else _note("no point on the front"),
        ),
    }
    return _page("rnnaccel explore report", [_section(k, *body[k]) for k in EXPLORE_SECTIONS])


def _check_files(folder: Path, digests: dict) -> None:
    """Each file the summary vouches for has the SHA-256 recorded there (ValueError naming it)."""
    for name, digest in digests.items():
        path = folder / Path(str(name)).name  # confined to the folder
        if not path.is_file() or file_sha256(path) != digest:
            raise ValueError(f"{path}: missing, edited or damaged since {folder / 'summary.json'} recorded "
                             f"its SHA-256 (rerun rnnaccel explore)")


# -- entry points -------------------------------------------------------------------------------------
def load_run(run: str | Path) -> tuple[str, Any]:
    """(kind, data) of a run: ``flow`` (report JSON, or a folder with flow.json), ``compress``
    (results JSON) or ``explore`` (output folder with summary.json and pareto.json)."""
    path = Path(run)
    if path.is_dir():
        if (path / "summary.json").is_file() and (path / "pareto.json").is_file():
            return "explore", path
        if (path / "flow.json").is_file():
            path = path / "flow.json"
        else:
            raise ValueError(
                f"{str(path)!r}: expected a flow report, a compress results JSON or an explore "
                "output folder (with summary.json and pareto.json)"
            )
    data = read_json(path, "run")  # unreadable, or edited/damaged (content_sha256): an error naming it
    if isinstance(data, dict) and {"ref_check", "hardware", "dense"} <= set(data):
        return "flow", data
    if isinstance(data, dict) and {"trials", "summary"} <= set(data):
        return "compress", data
    raise ValueError(
        f"{str(path)!r} is neither a flow report (keys dense, ref_check, hardware) nor a "
        "compress results JSON (keys trials, summary)"
    )


def render(run: str | Path) -> str:
    """The HTML page of ``run`` (see :func:`load_run`)."""
    kind, data = load_run(run)
    pages = {"flow": flow_page, "compress": compress_page, "explore": explore_page}
    return pages[kind](data)


def default_out(run: str | Path) -> Path:
    path = Path(run)
    return path / "report.html" if path.is_dir() else path.with_suffix(".html")


def write_report(run: str | Path, out: str | Path | None = None) -> Path:
    """Render ``run`` and write the page atomically (default: beside it, ``.html``); returns its path."""
    text = render(run)
    return plots.write_text(text, out or default_out(run))
