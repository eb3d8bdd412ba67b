"""`rnnaccel explore` (design-space sweep) and `rnnaccel fpga` (one design / the papers' comparison)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from rnnaccel.cli.options import NON_NEGATIVE_INT, POSITIVE_INT
from rnnaccel.io import to_strict_json


def _sweep_options(command):
    from rnnaccel.cli.compress import sweep_options

    return sweep_options(command)


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Explore TOML.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Override output.dir.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@_sweep_options
def explore(config_path: str, out_dir: str | None, as_json: bool, **sweep) -> None:
    """Sweep parallelism, block sizes, bit widths, cell type and device; write CSV, front, plot.

    Without --sampler every grid point is evaluated at once (vectorized); with --sampler the points
    are trials of an Optuna study (resumable, --jobs, --backend ray)."""
    from rnnaccel.explore import load_explore_config

    try:
        config = load_explore_config(config_path)
        if out_dir is not None:
            config = config.model_copy(update={"output": config.output.model_copy(update={"dir": out_dir})})
        start = time.perf_counter()
        result, study = _run(config, sweep)
        seconds = time.perf_counter() - start
        summary = _write_outputs(config, result, seconds, study)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _echo_summary(summary, result.front_rows(), as_json)


def _run(config, sweep: dict):
    from rnnaccel.explore import explore as run_explore

    sampler = sweep.pop("sampler")
    if sampler is None:
        if any(sweep[k] != d for k, d in (("storage", None), ("jobs", 1), ("backend", "local"),
                                           ("address", None), ("n_trials", None))):
            raise ValueError("--storage, --jobs, --backend, --address and --trials need --sampler "
                             "(without it the whole grid is evaluated at once)")
        return run_explore(config), None
    from rnnaccel.explore.study import explore_study

    return explore_study(config, sampler, sweep.pop("n_trials"), **sweep)


def _write_outputs(config, result, seconds: float, study: dict | None) -> dict:
    from rnnaccel.explore import plot_front, write_csv
    from rnnaccel.explore.run import plot_resources
    from rnnaccel.hw.fpga.calibration import default_costs, describe_costs

    out = Path(config.output.dir)
    files = {"points": str(write_csv(result, out / "points.csv"))}
    front = result.front_rows()
    summary = {
        "points": result.n_points,
        "fitting": int(result.columns["fits"].sum()),
        "eligible": int(result.columns["eligible"].sum()),
        "pareto": len(front),
        "eval_seconds": seconds,
        "points_per_second": result.n_points / seconds,
        "model_costs": describe_costs(default_costs()),  # the coefficients evaluate_grid used
        "files": files,
        "study": study,
    }
    files["front"] = str(_write_json(out / "pareto.json", front))
    if config.output.plot:
        files["plot"] = str(plot_front(result, out / "pareto.svg"))
        if front:
            files["resources"] = str(plot_resources(result, out / "resources.svg"))
    files["summary"] = str(_write_summary(out / "summary.json", {**summary, "config": config.model_dump()}))
    return summary


def _write_json(path: Path, data: object) -> Path:
    """Strict JSON (a NaN PER of a point without Phase I result is null), written atomically."""
    from rnnaccel.io import write_json_atomic

    return Path(write_json_atomic(path, data))


def _write_summary(path: Path, summary: dict) -> Path:
    """summary.json with the SHA-256 of every file written beside it and its own content_sha256 (the
    report checks both: an edited or damaged output is an error, not a page)."""
    from rnnaccel.io import file_sha256, write_json_atomic

    digests = {Path(f).name: file_sha256(f) for f in summary["files"].values()}
    return Path(write_json_atomic(path, {**summary, "files_sha256": digests}, stamp=True))


def _echo_summary(summary: dict, front: list[dict], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(to_strict_json(summary), indent=2, allow_nan=False))
        return
    click.echo(
        f"{summary['points']} points ({summary['fitting']} fit, {summary['eligible']} eligible) in "
        f"{summary['eval_seconds']:.3f} s = {summary['points_per_second']:,.0f} points/s; "
        f"{summary['pareto']} on the Pareto fronts (one per device)"
    )
    for note in (summary["study"] or {}).get("notes", []):
        click.echo(f"note: {note}", err=True)
    for row in front[:10]:
        click.echo(
            f"  {row['cell']:4s} {row['device']:6s} k={row['block_gate']}/{row['block_proj']} "
            f"pe={row['pe_gate']}x{row['lanes_gate']} w{row['weight_bits']}/d{row['data_bits']} "
            f"ii={row['ii']}: {row['frames_per_s']:,.0f} frames/s, {row['frames_per_s_per_w']:,.0f} "
            f"frames/s/W, resource {row['resource_use']:.2f}"
        )
    for name, path in summary["files"].items():
        click.echo(f"{name:7s} {path}")


@click.group()
def fpga() -> None:
    """Analytical FPGA model of the E-RNN / C-LSTM / ESE architectures."""


def _devices() -> click.Choice:
    from rnnaccel.hw.spec import FPGA_DEVICE_NAMES

    return click.Choice(list(FPGA_DEVICE_NAMES))


@fpga.command()
@click.option("--device", type=_devices(), default="ku060", show_default=True, help="FPGA of the model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def compare(device: str, as_json: bool) -> None:
    """ESE vs C-LSTM-like vs E-RNN-like on the Google LSTM, modeled beside the published numbers."""
    from rnnaccel.hw.fpga.compare import format_comparison, run_comparison

    try:
        result = run_comparison(device)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(to_strict_json(result.to_dict()), indent=2, allow_nan=False) if as_json
               else format_comparison(result))


@fpga.command()
@click.option("--device", type=_devices(), default="ku060", show_default=True, help="FPGA of the model.")
@click.option("--cell", type=click.Choice(["lstm", "gru"]), default="lstm", show_default=True)
@click.option("--input-size", type=POSITIVE_INT, default=153, show_default=True)
@click.option("--hidden", type=POSITIVE_INT, default=1024, show_default=True)
@click.option("--proj", type=NON_NEGATIVE_INT, default=512, show_default=True,
              help="LSTM projection (0 = none).")
@click.option("--layers", type=POSITIVE_INT, default=1, show_default=True)
@click.option("--bidirectional", is_flag=True)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="FIELD=INT",
    help="CirculantDesign field, e.g. --set block_gate=16 --set pe_gate=8.",
)
@click.option("--json", "as_json", is_flag=True)
def design(device, cell, input_size, hidden, proj, layers, bidirectional, overrides, as_json) -> None:
    """Report resources, timing and power of one block-circulant design (the network given by the
    options, the design's fields by --set; the others keep CirculantDesign's defaults). When it does not
    fit, says which resources exceed the device and by how much."""
    from rnnaccel.hw.fpga import CirculantDesign, RnnShape, evaluate, fpga_device
    from rnnaccel.hw.fpga.compare import ese_calibrated_power

    try:
        lstm = cell == "lstm"
        shape = RnnShape(cell, input_size, hidden, proj_size=proj if lstm else 0, num_layers=layers,
                         bidirectional=bidirectional, peepholes=lstm)
        report = evaluate(
            shape, CirculantDesign(**_parse_overrides(overrides)), fpga_device(device), ese_calibrated_power()
        )
    except (ValueError, TypeError) as exc:
        raise click.ClickException(str(exc)) from None
    data = report.to_dict()
    data["exceeds"] = _exceeds(data)
    if as_json:
        click.echo(json.dumps(to_strict_json(data), indent=2, allow_nan=False))
        return
    for key, value in data.items():
        if key != "exceeds":
            click.echo(f"{key:28s} {value}")
    click.echo(_fit_line(data, device))


_RESOURCES = (("dsp", "dsp", "dsp_avail", "DSP slices"), ("bram", "bram18", "bram18_avail", "RAMB18 blocks"),
              ("lut", "luts", "luts_avail", "LUTs"), ("ff", "ffs", "ffs_avail", "flip-flops"))


def _exceeds(data: dict) -> list[dict]:
    """The resources a design uses more of than the device has: name, used, available, fraction."""
    fr = data["fractions"]
    return [{"resource": label, "used": data[used], "available": data[avail], "fraction": fr[key]}
            for key, used, avail, label in _RESOURCES if fr[key] > 1.0]


def _fit_line(data: dict, device: str) -> str:
    if not data["exceeds"]:
        worst = max(data["fractions"], key=data["fractions"].get)
        return f"fits {device}: yes (largest use: {worst} {data['fractions'][worst]:.0%})"
    over = "; ".join(f"{e['resource']} {e['used']:,} of {e['available']:,} ({e['fraction']:.0%})"
                     for e in data["exceeds"])
    return f"fits {device}: NO, exceeds {over}"


def _parse_overrides(overrides: tuple[str, ...]) -> dict[str, object]:
    from dataclasses import fields

    from rnnaccel.hw.fpga import CirculantDesign

    known = [f.name for f in fields(CirculantDesign) if f.name != "name"]
    out: dict[str, object] = {}
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects FIELD=VALUE, got {item!r}")
        if key not in known:
            raise ValueError(f"--set: unknown design field {key!r}; expected one of {known}")
        out[key] = _override_value(key, value)
    return out


def _override_value(key: str, value: str) -> float | int:
    """A --set value: freq_mhz a positive finite number, every other field an integer."""
    import math

    try:
        number = float(value) if key == "freq_mhz" else int(value)
    except ValueError:
        kind = "a number" if key == "freq_mhz" else "an integer"
        raise ValueError(f"--set {key}: expected {kind}, got {value!r}") from None
    if key == "freq_mhz" and not (math.isfinite(number) and number > 0):
        raise ValueError(f"--set freq_mhz: expected a positive finite clock in MHz, got {value!r}")
    return number
