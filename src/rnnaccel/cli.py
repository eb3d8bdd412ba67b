"""Command-line interface: one verb per subcommand, loaded lazily so `rnnaccel --help` stays fast.

Subcommands are registered explicitly in ``_COMMANDS`` (verb -> "module:attribute" of a click command);
the library itself never prints or exits, only this layer does.
"""

from __future__ import annotations

import importlib

import click

_COMMANDS: dict[str, str] = {
    "info": "rnnaccel.cli_info:info",
    "data": "rnnaccel.cli_data:data",
    "train": "rnnaccel.cli_train:train",
    "flow": "rnnaccel.cli_flow:flow",
    "explore": "rnnaccel.cli_explore:explore", "fpga": "rnnaccel.cli_explore:fpga",
    "simulate": "rnnaccel.cli_simulate:simulate",
    "compress": "rnnaccel.cli_compress:compress",
    "rtl": "rnnaccel.cli_rtl:rtl",
    "report": "rnnaccel.cli_report:report",
    "export": "rnnaccel.cli_export:export",
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


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rnnaccel")
def main() -> None:
    """rnnaccel: block-circulant LSTM/GRU layers, compression, fixed point and hardware models."""
