"""``rnnaccel train --config FILE``: train a phone recognizer and print the PER curve."""

from __future__ import annotations

import click


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="TOML or YAML training config (see configs/train_*.toml).")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in out_dir.")
@click.option("--threads", type=int, default=None, help="torch threads (default: torch's choice).")
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
    click.echo(json.dumps({"out_dir": config.out_dir, "final_per": result.final_per}))


def _report(record: object, model: object) -> None:
    pers = "  ".join(f"PER[{s}]={p:.4f}" for s, p in record.per.items())
    click.echo(f"epoch {record.epoch:3d}  loss={record.loss:.4f}  {pers}  ({record.seconds:.1f} s)")
