"""``rnnaccel quant``: fixed-point formats of a trained run (``quant search``: per-point integer bits and
the smallest widths within a PER budget, :mod:`rnnaccel.quant.formats`; docs/fixedpoint.md)."""

from __future__ import annotations

import json

import click

from rnnaccel.cli.options import POSITIVE_INT, finite_float


@click.group()
def quant() -> None:
    """Fixed-point formats of a trained model."""


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}"


def _over(counts: dict | None) -> str:
    if not counts:
        return "-"
    nonzero = {k: v for k, v in sorted(counts.items()) if v}
    return f"{sum(nonzero.values())}" + (f" ({', '.join(f'{k} {v}' for k, v in nonzero.items())})"
                                         if nonzero else "")


def _table(result: dict) -> list[str]:
    rep, ev = result["splits"]["report"], result["splits"]["eval"]
    lines = [f"reference PER ({result['reference']}) on {result['splits']['eval']}: "
             f"{_pct(result['reference_per'])} %, budget +{result['budget_points']} points",
             f"bits | PER {ev} % | PER {rep} % | overflows {ev} | overflows {rep}"]
    b = result["base_config"]
    lines.append(f"{result['base']} preset (unfitted) | {_pct(b['per'])} | {_pct(b.get('report_per'))} | "
                 f"{_over(b['overflows'])} | {_over(b.get('report_overflows'))}")
    for row in result["uniform"]:
        bits = next(iter(row["widths"].values()))
        lines.append(f"{bits} | {_pct(row['per'])} | {_pct(row.get('report_per'))} | "
                     f"{_over(row['overflows'])} | {_over(row.get('report_overflows'))}")
    best = result["best"]
    if best is None:
        lines.append(f"no width in {result['min_bits']}..{result['max_bits']} stays within the budget")
    else:
        lines.append(f"smallest uniform width within the budget: {result['best_uniform_bits']} bits; "
                     f"chosen widths {best['widths']}: PER {_pct(best['per'])} % "
                     f"({_pct(best.get('report_per'))} % on {rep}), "
                     f"calibration overflows {_over(best['calibration_overflows'])}, "
                     f"bit-exact={best['bit_exact']} on {best['checked_utterances']}")
        lines.append("formats: " + ", ".join(f"{p} {f}" for p, f in best["formats"].items() if f))
    return lines


@quant.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--budget", type=finite_float(0.0), required=True,
              help="PER points (percent) the chosen formats may lose against the reference.")
@click.option("--min-bits", type=click.IntRange(2, 32), default=8, show_default=True)
@click.option("--max-bits", type=click.IntRange(2, 32), default=16, show_default=True)
@click.option("--calibration", type=POSITIVE_INT, default=100, show_default=True,
              help="Training utterances the integer bits are fitted on (zero overflows on them).")
@click.option("--eval-split", default="dev", show_default=True, help="Split the PER budget is judged on.")
@click.option("--report-split", default="test", show_default=True,
              help="Split every uniform width and the result are re-measured on ('none': skip).")
@click.option("--reference", type=click.Choice(["float", "max_bits"]), default="float", show_default=True,
              help="PER the budget is relative to: the float model's or the max-bits configuration's.")
@click.option("--base", type=click.Choice(["16bit", "12bit"]), default="16bit", show_default=True,
              help="Preset whose rounding/overflow modes and PWL segments the formats keep.")
@click.option("--groups/--uniform-only", default=True, show_default=True,
              help="After the uniform widths, narrow each group of points on its own.")
@click.option("--check-utterances", type=click.IntRange(0), default=1, show_default=True,
              help="Utterances the result is checked on, fake-quant torch vs integer engine.")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None,
              help="Write the result as JSON (atomically) here.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON instead of the table.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="torch threads (default: torch's choice).")
def search(run_dir: str, budget: float, min_bits: int, max_bits: int, calibration: int, eval_split: str,
           report_split: str, reference: str, base: str, groups: bool, check_utterances: int,
           out_file: str | None, as_json: bool, threads: int | None) -> None:
    """Per-point integer bits (no overflow on calibration data) and the smallest total widths whose
    PER stays within --budget points of the reference, for a training run directory."""
    from rnnaccel.io import write_json_atomic
    from rnnaccel.quant.formats import format_search

    if min_bits > max_bits:
        raise click.BadParameter(f"--min-bits {min_bits} is above --max-bits {max_bits}",
                                 param_hint="--min-bits")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    def log(msg: str) -> None:
        click.echo(msg, err=True)

    try:
        result = format_search(run_dir, budget=budget, min_bits=min_bits, max_bits=max_bits,
                               calibration=calibration, eval_split=eval_split,
                               report_split=None if report_split == "none" else report_split, groups=groups,
                               reference=reference, base=base, check_utterances=check_utterances, log=log)
        if out_file is not None:
            write_json_atomic(out_file, result, stamp=True)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result, indent=1))
    else:
        for line in _table(result):
            click.echo(line)
        if out_file is not None:
            click.echo(f"result: {out_file}")
