"""Config files: TOML or YAML into a validated pydantic model; errors name the file and the bad key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["load_config_file", "read_config_file"]

M = TypeVar("M", bound=BaseModel)


def read_config_file(path: str | Path) -> dict:
    """The mapping in a ``.toml``, ``.yaml`` or ``.yml`` file (ValueError naming the file otherwise)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path}: cannot read config (file does not exist)") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot read config ({exc.strerror})") from None
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: a config must be a mapping of keys, got {type(data).__name__}")
        return data
    raise ValueError(f"{path}: config must be .toml, .yaml or .yml")


def load_config_file(path: str | Path, model: type[M], what: str = "config") -> M:
    """``model`` validated from the file; every problem is listed as ``key.path: message``."""
    raw = read_config_file(path)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: invalid {what}: {problems}") from None
