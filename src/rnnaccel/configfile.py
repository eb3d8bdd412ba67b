"""Config files: TOML or YAML into a validated pydantic model; errors name the file and the bad key.

Every problem with a file is a ``ValueError`` that starts with the file's path: unreadable, over
1 MiB, not UTF-8, control characters, a TOML/YAML syntax error (with its line), nesting deeper than
32 levels, YAML anchors/aliases (a config has no use for them, and they can expand exponentially),
a non-finite number (``inf``/``nan``; no setting means "unbounded" that way), or a validation error
listed as ``key.path: message`` for every bad key.

Paths written in a config file are relative to **the folder of that file**, not to the working
directory: a model lists its path keys in ``PATH_KEYS`` (dotted, e.g. ``"data.corpus"``) and
:func:`load_config_file` rewrites each relative one it finds in the file to the path it names (relative
to the working directory when it lies below it, absolute otherwise), so the same config works from any
working directory. Two exceptions: a key *not written* in the file keeps its built-in default, which is
relative to the working directory, and so are the paths in the default configs shipped in the package
(``rnnaccel/configs``), which stand for the built-in defaults. A config file that names another config
file (``train_config``) is looked up by :func:`resolve_config_path`.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["MAX_CONFIG_BYTES", "MAX_DEPTH", "PACKAGED_CONFIGS", "config_dir", "load_config_file",
           "read_config_file", "relative_to_config", "resolve_config_path"]

M = TypeVar("M", bound=BaseModel)

MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 32
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PACKAGED_CONFIGS = Path(__file__).resolve().parent / "configs"


def _read_text(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ValueError(f"{path}: cannot read config (file does not exist)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read config ({exc.strerror})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: config larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (bad byte at offset {exc.start})") from None
    bad = _CONTROL.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise ValueError(f"{path}:{line}: control character U+{ord(bad.group()):04X} in a config file")
    return text


def _parse_toml(path: Path, text: str) -> object:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path} is not valid TOML: {exc}") from None


def _yaml_loader() -> type:
    import yaml

    class Loader(yaml.SafeLoader):
        """SafeLoader without anchors and aliases."""

        def compose_node(self, parent: object, index: object) -> object:
            if self.check_event(yaml.AliasEvent) or getattr(self.peek_event(), "anchor", None):
                mark = self.peek_event().start_mark
                raise yaml.YAMLError(f"line {mark.line + 1}: YAML anchors and aliases are not allowed "
                                     f"in a config")
            return super().compose_node(parent, index)

    return Loader


def _parse_yaml(path: Path, text: str) -> object:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader()) or {}  # noqa: S506 (a SafeLoader subclass)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValueError(f"{path} is not valid YAML{where}: {problem}") from None


def _check_values(path: Path, value: object, key: str = "", depth: int = 0) -> None:
    """Depth limit and finite numbers, naming the key."""
    if depth > MAX_DEPTH:
        raise ValueError(f"{path}: {key or 'config'}: nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path}: {key}: must be a finite number, got {value}")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        _check_values(path, v, f"{key}.{k}" if key else str(k), depth + 1)


def read_config_file(path: str | Path) -> dict:
    """The mapping in a ``.toml``, ``.yaml`` or ``.yml`` file (ValueError naming the file otherwise)."""
    path = Path(path)
    if path.suffix not in (".toml", ".yaml", ".yml"):
        raise ValueError(f"{path}: config must be .toml, .yaml or .yml")
    text = _read_text(path)
    try:
        data = _parse_toml(path, text) if path.suffix == ".toml" else _parse_yaml(path, text)
    except RecursionError:
        raise ValueError(f"{path}: config nested too deeply (more than {MAX_DEPTH} levels)") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a mapping of keys, got {type(data).__name__}")
    _check_values(path, data)
    return data


def config_dir(path: str | Path) -> Path | None:
    """The folder relative paths in config file ``path`` resolve against: the file's own folder, or
    None (the working directory) for the default configs shipped in the package."""
    folder = Path(os.path.abspath(path)).parent  # lexical: a linked-in configs/ stays where it is linked
    return None if folder.resolve() == PACKAGED_CONFIGS else folder


def relative_to_config(value: str, base: Path | None) -> str:
    """``value`` (a path written in a config in folder ``base``) as a path from the working directory:
    relative when it lies below it, absolute otherwise; absolute values and ``base`` None unchanged."""
    if base is None or Path(value).is_absolute():
        return value
    full = Path(os.path.normpath(base / value))
    try:
        return str(full.relative_to(Path.cwd()))
    except ValueError:
        return str(full)


def _resolve_paths(raw: dict, keys: tuple[str, ...], base: Path | None) -> None:
    for key in keys:
        *parents, leaf = key.split(".")
        node: object = raw
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(leaf), str) and node[leaf]:
            node[leaf] = relative_to_config(node[leaf], base)


def load_config_file(path: str | Path, model: type[M], what: str = "config") -> M:
    """``model`` validated from the file; every problem is listed as ``key.path: message``. The keys
    in ``model.PATH_KEYS`` are resolved relative to the file (module docstring)."""
    raw = read_config_file(path)
    _resolve_paths(raw, tuple(getattr(model, "PATH_KEYS", ())), config_dir(path))
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}"
                             for e in exc.errors())
        raise ValueError(f"{path}: invalid {what}: {problems}") from None


def resolve_config_path(ref: str | Path, base: str | Path | None = None) -> Path:
    """The config file a config (in folder ``base``) names by ``ref``: relative to ``base`` first, then
    to the working directory, then one of the default configs shipped in the package
    (``rnnaccel/configs/<name>``; so ``configs/train_bilstm.toml`` works outside the repository).
    ValueError listing the places tried."""
    ref = Path(ref)
    if ref.is_absolute():
        return ref
    tried = ([Path(base) / ref] if base is not None else []) + [ref]
    packaged = PACKAGED_CONFIGS / ref.name
    tried.append(packaged)
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise ValueError(f"{ref}: cannot read config (tried {', '.join(str(t) for t in tried)})")
