"""Every fenced code block in README.md and docs/ runs (or is marked as not runnable on purpose).

Info strings: ``python`` (executed), ``sh``/``bash`` (each line an ``rnnaccel`` command, run through
the CLI), ``toml`` (parsed), ``text`` (output, a listing: not code). ``no-run`` after the language marks
a block that is not run on purpose (installs, training runs of minutes to hours, benchmarks, cluster
set-up); a block without an info string fails, so nothing is left unclassified. Blocks run in a
temporary directory with the repository's ``configs/`` linked in, so they write nothing into the tree.
"""

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "sh", "bash", "toml", "text"}
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)


def _blocks():
    for path in DOCS:
        text = path.read_text()
        for m in _FENCE.finditer(text):
            words = m.group(1).split()
            line = text[: m.start()].count("\n") + 1
            yield f"{path.relative_to(ROOT)}:{line}", words, m.group(2)


BLOCKS = list(_blocks())
RUNNABLE = [(name, words[0], code) for name, words, code in BLOCKS
            if words and words[0] != "text" and "no-run" not in words[1:]]


def test_blocks_found():
    assert len(BLOCKS) >= 20 and len(RUNNABLE) >= 10


def test_every_block_is_classified():
    bad = [f"{name}: info string {' '.join(words)!r}" for name, words, _ in BLOCKS
           if not words or words[0] not in LANGUAGES or set(words[1:]) - {"no-run"}]
    assert bad == [], "mark each block with one of " + ", ".join(sorted(LANGUAGES)) + " [no-run]"


def _commands(code: str) -> list[str]:
    """Logical lines (backslash continuations joined), comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = [re.sub(r"(^|\s)#.*$", "", line).strip() for line in joined.splitlines()]
    return [line for line in lines if line]


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(("name", "language", "code"), RUNNABLE, ids=[b[0] for b in RUNNABLE])
def test_block_runs(sandbox, name, language, code):
    if language == "python":
        exec(compile(code, name, "exec"), {"__name__": "__docs__"})  # noqa: S102 - the docs' own code
    elif language == "toml":
        tomllib.loads(code)
    else:
        for command in _commands(code):
            args = shlex.split(command)
            assert args[0] == "rnnaccel", f"{name}: {command!r} is not an rnnaccel command: mark it no-run"
            result = CliRunner().invoke(main, args[1:])
            assert result.exit_code == 0, f"{name}: {command}\n{result.output}"
