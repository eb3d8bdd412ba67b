"""Atomic file writes: every artifact rnnaccel writes goes through here.

A file is written to a temporary name in the same directory (``mkstemp``: unique per process and per
call, so two writers never share one), flushed to disk, given mode 0644 and renamed over the target
with ``os.replace``; a reader sees the old file or the new one, never a partial one. On any failure
(including KeyboardInterrupt) the temporary file is removed and the target is left as it was.

JSON is strict (RFC 8259): NaN and ±Inf become ``null`` instead of the non-standard ``NaN`` tokens.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["FILE_MODE", "atomic_output", "to_strict_json", "write_bytes_atomic", "write_json_atomic",
           "write_text_atomic"]

FILE_MODE = 0o644


@contextmanager
def atomic_output(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without an exception the temporary
    file is made 0644 and renamed to ``path``, otherwise it is removed. For writers that need a file
    name (safetensors, numpy, matplotlib: pass ``suffix=path.suffix`` where the format follows it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        _fsync(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (module docstring); returns ``path``."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text_atomic(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_bytes_atomic(path, text.encode(encoding))


def to_strict_json(value: Any) -> Any:
    """``value`` with non-finite floats as None, tuples as lists and numpy scalars/arrays as Python
    values, so ``json.dumps(..., allow_nan=False)`` accepts it. Keys must be str/int/float/bool/None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: to_strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_strict_json(v) for v in value]
    converted = _numpy_value(value)
    return value if converted is value else to_strict_json(converted)


def _numpy_value(value: Any) -> Any:
    """``value.tolist()``/``.item()`` for numpy values (without importing numpy); else ``value``."""
    if type(value).__module__ == "numpy":
        convert: Callable[[], Any] | None = getattr(value, "tolist", None)
        if convert is not None:
            return convert()
    return value


def write_json_atomic(path: str | Path, payload: Any, *, indent: int | None = 1) -> Path:
    """Write ``payload`` as strict JSON (NaN/Inf as null) to ``path`` atomically."""
    text = json.dumps(to_strict_json(payload), indent=indent, allow_nan=False)
    return write_text_atomic(path, text + "\n")
