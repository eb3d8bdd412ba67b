"""Command-line interface: one verb per subcommand, loaded lazily so `rnnaccel --help` stays fast.

Subcommands are registered explicitly in ``_COMMANDS`` (verb -> "module:attribute" of a click command);
the library itself never prints or exits, only this layer does.

Errors: a user error (``ValueError``, ``TypeError``, ``OSError``, e.g. a bad config key, a missing or
unwritable file) is printed as ``Error: <message>`` with exit code 1, never as a traceback; anything
else is reported as an internal error in one line. ``rnnaccel --debug VERB ...`` shows the traceback.
Warnings print as ``warning: <message>``. The option types for numbers are in ``rnnaccel.cli.options``.
"""

from __future__ import annotations

import importlib
import warnings

import click

__all__ = ["main"]


def _describe(exc: BaseException) -> str:
    """One line for a user: the message of a user error, or an internal error with its type."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    if isinstance(exc, ValueError | TypeError | OSError):
        return str(exc) or type(exc).__name__
    return (f"internal error: {type(exc).__name__}: {exc} (rerun with `rnnaccel --debug ...` for the "
            f"traceback, and please report it)")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    click.echo(f"warning: {message}", err=True)

_COMMANDS: dict[str, str] = {
    "info": "rnnaccel.cli.info:info",
    "data": "rnnaccel.cli.data:data",
    "train": "rnnaccel.cli.train:train",
    "flow": "rnnaccel.cli.flow:flow",
    "explore": "rnnaccel.cli.explore:explore", "fpga": "rnnaccel.cli.explore:fpga",
    "simulate": "rnnaccel.cli.simulate:simulate",
    "compress": "rnnaccel.cli.compress:compress",
    "rtl": "rnnaccel.cli.rtl:rtl",
    "report": "rnnaccel.cli.report:report",
    "export": "rnnaccel.cli.export:export",
    "quant": "rnnaccel.cli.quant:quant",
}


class _LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def invoke(self, ctx: click.Context) -> object:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            cause = exc.__context__  # a verb's `raise ClickException(str(exc)) from None` keeps it here
            if debug and isinstance(cause, Exception) and not isinstance(cause, click.ClickException):
                raise cause from None
            raise
        except (click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if debug:
                raise
            raise click.ClickException(_describe(exc)) from None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnaccel")
@click.option("--debug", is_flag=True, help="Show the Python traceback of an error.")
def main(debug: bool) -> None:
    """rnnaccel: block-circulant LSTM/GRU layers, compression, fixed point and hardware models."""
    if not debug:
        warnings.showwarning = _show_warning
