"""Atomic file writes: every artifact rnnaccel writes goes through here.

A file is written to a temporary name in the same directory (``mkstemp``: unique per process and per
call, so two writers never share one), flushed to disk, given mode 0644 and renamed over the target
with ``os.replace``; a reader sees the old file or the new one, never a partial one. On any failure
(including KeyboardInterrupt) the temporary file is removed and the target is left as it was.

JSON is strict (RFC 8259): NaN and ±Inf become ``null`` instead of the non-standard ``NaN`` tokens.
A JSON object written with ``stamp=True`` carries ``content_sha256``, the SHA-256 of its canonical form
(sorted keys, no spaces) without that key; :func:`read_json` checks it, so an edited or damaged file is
an error naming it, not data used silently. :func:`file_sha256` gives the digest of any file, for a JSON
that vouches for its sibling files (CSV, SVG, a JSON list).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["CONTENT_KEY", "FILE_MODE", "atomic_output", "content_digest", "file_sha256", "process_alive",
           "read_json", "tensors_sha256", "to_strict_json", "write_bytes_atomic", "write_json_atomic",
           "write_text_atomic"]

FILE_MODE = 0o644
CONTENT_KEY = "content_sha256"


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


def content_digest(payload: Mapping[str, Any]) -> str:
    """SHA-256 of ``payload``'s canonical strict JSON, without its ``content_sha256`` key."""
    body = {k: v for k, v in payload.items() if k != CONTENT_KEY}
    body = json.loads(json.dumps(to_strict_json(body), allow_nan=False))  # as read back: keys are strings
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of the bytes of ``path``."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tensors_sha256(state: Mapping[str, Any]) -> str:
    """SHA-256 over each torch tensor's name, dtype, shape and bytes (sorted by name): what a safetensors
    file records in its metadata so that overwritten tensor bytes are detected when it is loaded."""
    import torch  # only called with tensors, so torch is already imported

    digest = hashlib.sha256()
    for name in sorted(state):
        flat = state[name].detach().contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(state[name].shape)};".encode())
        digest.update(flat.view(torch.uint8).cpu().numpy().tobytes())
    return digest.hexdigest()


def write_json_atomic(path: str | Path, payload: Any, *, indent: int | None = 1, stamp: bool = False) -> Path:
    """Write ``payload`` as strict JSON (NaN/Inf as null) to ``path`` atomically; ``stamp``: add
    ``content_sha256`` (``payload`` must then be a mapping with string keys)."""
    payload = to_strict_json(payload)
    if stamp:
        payload = {**payload, CONTENT_KEY: content_digest(payload)}
    text = json.dumps(payload, indent=indent, allow_nan=False)
    return write_text_atomic(path, text + "\n")


def read_json(path: str | Path, what: str = "JSON file") -> Any:
    """The JSON value in ``path``; ValueError naming the file when it cannot be read or parsed, or when
    its ``content_sha256`` (if it has one) does not match its content."""
    path = Path(path)
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise ValueError(f"{path}: cannot read {what} ({reason})") from None
    if isinstance(data, dict) and CONTENT_KEY in data and data[CONTENT_KEY] != content_digest(data):
        raise ValueError(f"{path}: {CONTENT_KEY} does not match the content: the {what} was edited or "
                         f"damaged (rerun the command that wrote it)")
    return data


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine exists (one owned by another user counts): what tells a
    stale temporary file or claim of a killed run from one still being written."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
