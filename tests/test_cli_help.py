"""``--help`` of every verb: it works, and no option shows a meaningless range such as ``[x<=None]``."""

import click
from click.testing import CliRunner

from rnnaccel.cli import main


def _paths(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    ctx = click.Context(group)
    out = []
    for name in group.list_commands(ctx):  # the group loads its verbs lazily
        cmd = group.get_command(ctx, name)
        out.append((*prefix, name))
        if isinstance(cmd, click.Group):
            out += _paths(cmd, (*prefix, name))
    return out


def test_every_help_page_renders_without_empty_ranges():
    paths = _paths(main)
    assert len(paths) >= 10
    for path in paths:
        res = CliRunner().invoke(main, [*path, "--help"])
        assert res.exit_code == 0 and res.exception is None, (path, res.output)
        assert "None]" not in res.output and "None;" not in res.output, (path, res.output)
