"""``rnnaccel compress --config FILE``: E-RNN Phase I model selection (train trials, pick the cheapest
model within the PER budget) and print the trial table."""

from __future__ import annotations

import click


def _line(row: dict, base: float) -> str:
    d = 100 * (row["per"] - base)
    fpw = row.get("frames_per_s_per_w")
    return (f"{row['trial']:32s} {100 * row['per']:7.2f} {d:+7.2f} {row['params']:>10,} "
            f"{row['storage_bytes']:>12,} {row['mults_per_frame']:>12,} "
            f"{'-' if fpw is None else f'{fpw:,.0f}':>12s}")


_HEADER = (f"{'trial':32s} {'PER%':>7s} {'dPER':>7s} {'params':>10s} {'storage B':>12s} {'mults/frame':>12s} "
           f"{'frames/s/W':>12s}")


def _on_trial(row: dict, cached: bool) -> None:
    how = "reused from the study" if cached else f"{row.get('seconds', 0):.0f} s"
    click.echo(f"trial {row['trial']}: PER {100 * row['per']:.2f}% ({how})", err=True)


def _plan(config) -> None:
    from rnnaccel.compress.select import full_plan

    g = config.grid
    n_full = len(full_plan(g))
    cells = len(g.cells) * len(g.hidden_sizes)
    reduced_max = 1 + len(g.block_sizes) + 2 * (cells - 1) + len([q for q in g.quant if q != "float"])
    click.echo(f"full grid: {n_full} trials; reduced strategy: at most {reduced_max} trials")


def sweep_options(command):
    """--storage/--jobs/--backend/--address/--sampler/--trials, shared with ``rnnaccel explore``."""
    from rnnaccel.study.storage import STORAGE_HELP

    options = [
        click.option("--storage", default=None, help=STORAGE_HELP),
        click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
                     help="Trials run at once (worker processes, or Ray actors with --backend ray)."),
        click.option("--backend", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this machine; ray: Ray tasks (pip install 'rnnaccel[ray]')."),
        click.option("--address", default=None,
                     help="With --backend ray: a running cluster ('auto', 'ray://HEAD:10001'); default "
                          "starts a local Ray."),
        click.option("--sampler", type=click.Choice(["grid", "tpe", "nsga2"]), default=None,
                     help="Let an Optuna sampler propose trials (nsga2: multi-objective over PER, "
                          "storage bytes and frames/s/W) instead of the strategy."),
        click.option("--trials", "n_trials", type=click.IntRange(min=1), default=None,
                     help="With --sampler: how many trials to propose (default: 20 for compress; for "
                          "explore every grid point with grid, else 100)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False),
              help="Sweep config (TOML/YAML), e.g. configs/compress_default.toml.")
@click.option("--strategy", type=click.Choice(["reduced", "full"]), default=None,
              help="Override the config's strategy.")
@click.option("--plan", "plan_only", is_flag=True, help="Only print the number of trials; train nothing.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True, help="torch threads.")
@click.option("--progress", is_flag=True, help="Progress bars (epochs, ADMM iterations with the residual).")
@sweep_options
def compress(config_path: str, strategy: str | None, plan_only: bool, threads: int, progress: bool,
             **sweep: object) -> None:
    """Run the model-selection trials on an Optuna study (resumable after a kill; finished trials with
    the same config and data are reused) and select the cheapest model within the budget."""
    import torch

    from rnnaccel.compress.config import load_compress_config
    from rnnaccel.compress.sweep import Sweep
    from rnnaccel.compress.trials import TrialRunner

    torch.set_num_threads(threads)
    n_trials = sweep.pop("n_trials")
    try:
        config = load_compress_config(config_path)
        if strategy is not None:
            config = config.model_copy(update={"strategy": strategy})
        if plan_only:
            return _plan(config)
        runner = TrialRunner(config.train, config.admm, config.out_dir, progress=progress)
        summary = Sweep(config, runner=runner, on_trial=_on_trial, threads=threads, **sweep).run(n_trials)
        plots = _plots(config.results)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    _echo(config, summary, plots)


def _plots(results: str) -> list[str]:
    from rnnaccel.report.plots import write_compress_plots

    return [str(p) for p in write_compress_plots(results)]


def _echo(config, summary: dict, plots: list[str]) -> None:
    click.echo(_HEADER)
    for row in summary["table"]:
        click.echo(_line(row, summary["baseline_per"]))
    for note in summary["notes"]:
        click.echo(f"note: {note}", err=True)
    for warning in summary["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"selected: {summary['selected']} (budget {config.max_per_degradation} PER points, "
               f"cost {config.cost}); trials run {summary['trials_run']} of {summary['full_grid_trials']} "
               f"in the full grid; results in {config.results}; study in {summary['study']['storage']}")
    for path in plots:
        click.echo(f"plot: {path}")
