"""``rnnaccel report RUN [--out FILE]``: one self-contained HTML page of a flow run or a sweep."""

from __future__ import annotations

import click


@click.command()
@click.argument("run", type=click.Path(exists=True))
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="HTML file to write (default: beside RUN, .html; report.html in an explore folder).",
)
def report(run: str, out: str | None) -> None:
    """Write the HTML report of RUN: a flow report (results/flow.json), a compress results JSON, or an
    explore output folder. Plots are inline SVG; the page needs no network to view."""
    from rnnaccel.report.html import write_report

    try:
        path = write_report(run, out)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"report: {path}")
