"""Audio file I/O for TIMIT: NIST SPHERE (the LDC distribution) and RIFF WAV (common converted copies).

SPHERE: an ASCII header ``NIST_1A\\n   1024\\n`` + ``name -type value`` lines up to ``end_head``, padded
to the stated header size, then raw PCM. RIFF: ``RIFF <size> WAVE`` then chunks, of which ``fmt `` and
``data`` are read. Only uncompressed 16-bit mono PCM is read; anything else (shorten, µ-law, float,
stereo, a non-positive rate or count, a chunk or body shorter than its header says, samples that look
byte-swapped against the declared byte order) is a ``ValueError`` naming the file and the offending
field. Messages quote at most the offending token (shortened), never a whole header or file.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

import numpy as np

from rnnaccel.io import write_bytes_atomic

__all__ = ["read_audio", "write_sphere"]

_SPHERE_MAGIC = b"NIST_1A"
_MAX_HEADER = 1 << 20
_INT = re.compile(r"[+-]?[0-9]{1,18}")
_TYPE = re.compile(r"-(i|r|s[0-9]{1,6})")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
# WAVE_FORMAT_EXTENSIBLE's sub-format GUID for integer PCM (the format tag sits in its first 2 bytes).
_PCM_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def token(value: object, limit: int = 24) -> str:
    """``repr`` of an offending token, shortened so an error never echoes a file's contents."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a 16-bit mono SPHERE or RIFF file -> (float32 samples in [-1, 1), sample rate in Hz)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read audio file ({exc.strerror})") from None
    if data.startswith(_SPHERE_MAGIC):
        pcm, rate = _parse_sphere(path, data)
    elif data[:4] in (b"RIFF", b"RIFX", b"RF64"):
        pcm, rate = _parse_riff(path, data)
    else:
        raise ValueError(f"{path}: not a NIST SPHERE or RIFF WAV file (starts with {token(data[:4])})")
    _check_byte_order(path, pcm)
    return (pcm.astype(np.float32) / 32768.0), rate


def _roughness(x: np.ndarray) -> float:
    """mean |x[t+1] − x[t]| / mean |x|: well below 1 for speech, about 1.1 or more for white noise."""
    x = x.astype(np.float64)
    return float(np.abs(np.diff(x)).mean() / max(np.abs(x).mean(), 1e-9))


def _check_byte_order(path: Path, pcm: np.ndarray) -> None:
    """Reject samples that read as noise while the other byte order reads as audio."""
    if pcm.size < 1024:
        return
    head = pcm[:65536]
    declared, swapped = _roughness(head), _roughness(head.byteswap())
    if declared > 1.5 * swapped and swapped < 0.8:
        raise ValueError(f"{path}: the samples look byte-swapped (the other byte order reads as audio); "
                         f"check the header's byte order (SPHERE sample_byte_format, RIFF is little-endian)")


# --- SPHERE ------------------------------------------------------------------------------------------


def _header_size(path: Path, data: bytes) -> int:
    lines = data[:64].split(b"\n", 2)
    if lines[0] != _SPHERE_MAGIC or len(lines) < 3:
        raise ValueError(f"{path}: SPHERE header line 1 must be NIST_1A followed by the header size")
    text = lines[1].strip()
    if not (text.isdigit() and len(text) <= 7):
        raise ValueError(f"{path}: SPHERE header line 2: expected the header size, got {token(text)}")
    size = int(text)
    if size < 16 or size > _MAX_HEADER:
        raise ValueError(f"{path}: SPHERE header size {size} out of range (16..{_MAX_HEADER})")
    if size > len(data):
        raise ValueError(f"{path}: truncated SPHERE header ({len(data)} bytes, header says {size})")
    return size


def _header_line(path: Path, lineno: int, raw: bytes) -> tuple[str, str] | None:
    """(name, value) of one ``name -type value`` header line; None for a blank line."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError(f"{path}: SPHERE header line {lineno}: non-ASCII bytes") from None
    if not text:
        return None
    parts = text.split(None, 2)
    if len(parts) != 3 or not _NAME.fullmatch(parts[0]) or not _TYPE.fullmatch(parts[1]):
        raise ValueError(f"{path}: SPHERE header line {lineno}: expected 'name -type value' "
                         f"(type -i, -r or -sN), got {token(text)}")
    return parts[0], parts[2]


def _sphere_fields(path: Path, data: bytes) -> tuple[dict[str, str], int]:
    size = _header_size(path, data)
    fields: dict[str, str] = {}
    for lineno, raw in enumerate(data[:size].split(b"\n")[2:], start=3):
        if raw.strip() == b"end_head":
            return fields, size
        parsed = _header_line(path, lineno, raw)
        if parsed is None:
            continue
        if parsed[0] in fields:
            raise ValueError(f"{path}: SPHERE header line {lineno}: field {token(parsed[0])} given twice")
        fields[parsed[0]] = parsed[1]
    raise ValueError(f"{path}: truncated SPHERE header (no end_head within {size} bytes)")


def _int_field(path: Path, fields: dict[str, str], name: str, default: int | None,
               lo: int, hi: int) -> int:
    if name not in fields:
        if default is None:
            raise ValueError(f"{path}: SPHERE header has no {name}")
        return default
    text = fields[name]
    if not _INT.fullmatch(text) or not lo <= int(text) <= hi:
        raise ValueError(f"{path}: SPHERE {name}: expected an integer in {lo}..{hi}, got {token(text)}")
    return int(text)


def _sphere_dtype(path: Path, fields: dict[str, str]) -> str:
    coding = fields.get("sample_coding", "pcm")
    if "shorten" in coding.lower():
        raise ValueError(f"{path}: shorten-compressed SPHERE; decompress first (sph2pipe -f sph IN OUT)")
    if coding.lower() != "pcm":
        raise ValueError(f"{path}: SPHERE sample_coding {token(coding)}: only uncompressed 'pcm' is read")
    _int_field(path, fields, "sample_n_bytes", 2, 2, 2)
    _int_field(path, fields, "channel_count", 1, 1, 1)
    _int_field(path, fields, "sample_sig_bits", 16, 1, 16)
    order = fields.get("sample_byte_format", "01")
    if order not in ("01", "10"):
        raise ValueError(f"{path}: SPHERE sample_byte_format {token(order)}: expected 01 (little-endian) "
                         f"or 10 (big-endian) for 16-bit samples")
    return "<i2" if order == "01" else ">i2"


def _parse_sphere(path: Path, data: bytes) -> tuple[np.ndarray, int]:
    fields, size = _sphere_fields(path, data)
    dtype = _sphere_dtype(path, fields)
    rate = _int_field(path, fields, "sample_rate", None, 1, 10**7)
    body = data[size:]
    count = _int_field(path, fields, "sample_count", len(body) // 2, 1, 2**40)
    if count < 1:
        raise ValueError(f"{path}: SPHERE file has no samples")
    if len(body) < 2 * count:
        raise ValueError(f"{path}: truncated audio: header says {count} samples, file has {len(body) // 2}")
    return np.frombuffer(body[: 2 * count], dtype=dtype).astype(np.int16), rate


# --- RIFF --------------------------------------------------------------------------------------------


def _riff_chunks(path: Path, data: bytes) -> dict[bytes, bytes]:
    """The first ``fmt `` and ``data`` chunks of a RIFF WAVE file."""
    if data[:4] != b"RIFF":
        raise ValueError(f"{path}: {token(data[:4])} files are not read (only little-endian RIFF WAV)")
    if data[8:12] != b"WAVE":
        raise ValueError(f"{path}: corrupt RIFF WAV (no WAVE form type)")
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data) and not (b"fmt " in chunks and b"data" in chunks):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if pos + 8 + size > len(data):
            what = "truncated audio" if cid == b"data" else "corrupt RIFF WAV"
            raise ValueError(f"{path}: {what}: chunk {token(cid)} says {size} bytes, "
                             f"{len(data) - pos - 8} remain in the file")
        chunks.setdefault(cid, data[pos + 8 : pos + 8 + size])
        pos += 8 + size + (size & 1)
    for cid in (b"fmt ", b"data"):
        if cid not in chunks:
            raise ValueError(f"{path}: corrupt RIFF WAV (no {cid.decode().strip()} chunk)")
    return chunks


def _riff_format(path: Path, fmt: bytes) -> int:
    """Check the ``fmt `` chunk (16-bit mono integer PCM); returns the sample rate."""
    if len(fmt) < 16:
        raise ValueError(f"{path}: corrupt RIFF WAV (fmt chunk of {len(fmt)} bytes, expected >= 16)")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == 0xFFFE and len(fmt) >= 40 and fmt[26:40] == _PCM_GUID_TAIL:
        tag = struct.unpack_from("<H", fmt, 24)[0]
    if tag != 1:
        raise ValueError(f"{path}: RIFF format tag 0x{tag:04x} is not integer PCM (0x0001)")
    if channels != 1 or bits != 16 or align != 2:
        raise ValueError(f"{path}: expected 16-bit mono RIFF WAV, got {channels} channel(s) of {bits} bits "
                         f"(block align {align})")
    if rate < 1:
        raise ValueError(f"{path}: RIFF sample rate {rate}: expected a positive rate")
    return rate


def _parse_riff(path: Path, data: bytes) -> tuple[np.ndarray, int]:
    chunks = _riff_chunks(path, data)
    rate = _riff_format(path, chunks[b"fmt "])
    body = chunks[b"data"]
    if len(body) < 2 or len(body) % 2:
        raise ValueError(f"{path}: RIFF data chunk of {len(body)} bytes is not a positive whole number of "
                         f"16-bit samples")
    return np.frombuffer(body, dtype="<i2"), rate


def write_sphere(path: str | Path, pcm: np.ndarray, sample_rate: int) -> None:
    """Write int16 mono PCM as a TIMIT-style SPHERE file (1024-byte header, little endian), atomically."""
    pcm = np.asarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1:
        raise TypeError(f"write_sphere expects a 1-D int16 array, got {pcm.dtype} with shape {pcm.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
        raise ValueError(f"write_sphere: sample_rate must be a positive int, got {sample_rate!r}")
    fields = [
        "database_id -s5 TIMIT", f"sample_count -i {pcm.size}", f"sample_rate -i {sample_rate}",
        "channel_count -i 1", "sample_byte_format -s2 01", "sample_n_bytes -i 2",
        "sample_sig_bits -i 16", "sample_coding -s3 pcm", "end_head",
    ]  # fmt: skip
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii").ljust(1024, b" ")
    write_bytes_atomic(path, header + pcm.astype("<i2").tobytes())
