"""Audio file I/O for TIMIT: NIST SPHERE (the LDC distribution) and RIFF WAV (common converted copies).

SPHERE: an ASCII header ``NIST_1A\\n   1024\\n`` + ``name -type value`` lines up to ``end_head``, padded
to the stated header size, then raw PCM. Only uncompressed 16-bit PCM is read; shorten-compressed
files (``sample_coding ... embedded-shorten``) get an error telling how to decompress them.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import numpy as np

__all__ = ["read_audio", "write_sphere"]

_SPHERE_MAGIC = b"NIST_1A"


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit mono SPHERE or RIFF file -> (float32 samples in [-1, 1), sample rate in Hz)."""
    path = Path(path)
    try:
        head = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read audio file ({exc.strerror})") from None
    if head.startswith(_SPHERE_MAGIC):
        pcm, rate = _parse_sphere(path, head)
    elif head.startswith(b"RIFF"):
        pcm, rate = _parse_riff(path)
    else:
        raise ValueError(f"{path}: not a NIST SPHERE or RIFF WAV file (starts with {head[:8]!r})")
    return (pcm.astype(np.float32) / 32768.0), rate


def _sphere_fields(path: Path, data: bytes) -> tuple[dict[str, str], int]:
    lines = data[:1024].split(b"\n")
    if len(lines) < 2 or not lines[1].strip().isdigit():
        raise ValueError(f"{path}: SPHERE header line 2: expected the header size, got {lines[1:2]!r}")
    size = int(lines[1])
    if len(data) < size or b"end_head" not in data[:size]:
        raise ValueError(f"{path}: truncated SPHERE header (no end_head within {size} bytes)")
    fields: dict[str, str] = {}
    for lineno, raw in enumerate(data[:size].split(b"\n")[2:], start=3):
        text = raw.decode("ascii", errors="replace").strip()
        if text == "end_head":
            return fields, size
        parts = text.split(None, 2)
        if len(parts) == 3:
            fields[parts[0]] = parts[2]
        elif text:
            raise ValueError(f"{path}: SPHERE header line {lineno}: expected 'name -type value', "
                             f"got {text!r}")
    raise ValueError(f"{path}: truncated SPHERE header (no end_head)")


def _parse_sphere(path: Path, data: bytes) -> tuple[np.ndarray, int]:
    fields, size = _sphere_fields(path, data)
    coding = fields.get("sample_coding", "pcm")
    if "shorten" in coding:
        raise ValueError(f"{path}: shorten-compressed SPHERE; decompress first (sph2pipe -f sph IN OUT)")
    if fields.get("sample_n_bytes", "2") != "2" or fields.get("channel_count", "1") != "1":
        raise ValueError(f"{path}: expected 16-bit mono SPHERE, got {fields}")
    if "sample_rate" not in fields:
        raise ValueError(f"{path}: SPHERE header has no sample_rate")
    dtype = ">i2" if fields.get("sample_byte_format", "01") == "10" else "<i2"
    body = data[size:]
    count = int(fields.get("sample_count", len(body) // 2))
    if len(body) < 2 * count:
        raise ValueError(f"{path}: truncated audio: header says {count} samples, file has {len(body) // 2}")
    return np.frombuffer(body[: 2 * count], dtype=dtype).astype(np.int16), int(fields["sample_rate"])


def _parse_riff(path: Path) -> tuple[np.ndarray, int]:
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise ValueError(f"{path}: expected 16-bit mono RIFF WAV")
            frames = w.readframes(w.getnframes())
            rate = w.getframerate()
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path}: corrupt RIFF WAV ({exc})") from None
    return np.frombuffer(frames, dtype="<i2"), rate


def write_sphere(path: str | Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write int16 mono PCM as a TIMIT-style SPHERE file (1024-byte header, little endian), atomically."""
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise TypeError(f"write_sphere expects a 1-D int16 array, got {pcm.dtype} with shape {pcm.shape}")
    fields = [
        "database_id -s5 TIMIT", f"sample_count -i {pcm.size}", f"sample_rate -i {sample_rate}",
        "channel_count -i 1", "sample_byte_format -s2 01", "sample_n_bytes -i 2",
        "sample_sig_bits -i 16", "sample_coding -s3 pcm", "end_head",
    ]  # fmt: skip
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii").ljust(1024, b" ")
    _atomic_write(Path(path), header + pcm.astype("<i2").tobytes())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
