"""``rnnaccel train --config FILE``: train a phone recognizer and print the PER curve."""

from __future__ import annotations

import click

from rnnaccel.cli.options import POSITIVE_INT


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="TOML or YAML training config (see configs/train_*.toml).")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in out_dir.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="torch threads (default: torch's choice).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def train(config_path: str, resume: bool, threads: int | None, no_progress: bool) -> None:
    """Train a CTC (or framewise) phone recognizer; report PER (39-folded) per epoch."""
    import json

    import torch

    from rnnaccel.train import load_config
    from rnnaccel.train import train as run

    if threads is not None:
        torch.set_num_threads(threads)
    try:
        config = load_config(config_path)
        result = run(config, resume=resume, progress=not no_progress, on_epoch=_report)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    final = {split: round(100 * per, 2) for split, per in result.final_per.items()}
    click.echo(json.dumps({"out_dir": config.out_dir, "final_per_percent": final,
                           "curves": _curves(config.out_dir, result.history)}))


def _report(record: object, model: object) -> None:
    """One line per epoch; PER in percent (39-folded), as everywhere else in rnnaccel's output."""
    pers = "  ".join(f"PER[{s}]={100 * p:.2f}%" for s, p in record.per.items())
    click.echo(f"epoch {record.epoch:3d}  loss={record.loss:.4f}  {pers}  ({record.seconds:.1f} s)")


def _curves(out_dir: str, history: list) -> str | None:
    """``out_dir/training_curves.svg``: PER and loss per epoch (None, with a warning, without matplotlib)."""
    from pathlib import Path

    from rnnaccel.report.plots import training_curves_svg, write_text

    records = [{"epoch": r.epoch, "loss": r.loss, "per": r.per} for r in history]
    try:
        return str(write_text(training_curves_svg({"train": records}), Path(out_dir) / "training_curves.svg"))
    except ValueError as exc:
        click.echo(f"warning: no training curves: {exc}", err=True)
        return None
