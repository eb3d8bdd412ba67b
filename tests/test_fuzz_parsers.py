"""Fuzz tests of the SPHERE, RIFF, PHN and config parsers: whatever the bytes, the reader either returns
a valid result or raises its own ValueError naming the file (never another exception, never a long
message). Bounded here (a few seconds); ``benchmarks/fuzz_parsers.py`` runs the same checks for longer.

``FUZZ`` maps a name to (strategy, check); ``check(scratch_dir, example)`` holds the contract.
"""

import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnaccel.configfile import load_config_file
from rnnaccel.data.audio import read_audio, write_sphere
from rnnaccel.data.phones import PHONES_61
from rnnaccel.data.timit import load_split
from rnnaccel.train.config import Config

MAX_MESSAGE = 400
RATE = 16000


def _pcm(n: int = 1100) -> np.ndarray:
    t = np.arange(n) / RATE
    return (5000 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)


def _sphere_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as d:
        write_sphere(Path(d) / "x.wav", _pcm(), RATE)
        return (Path(d) / "x.wav").read_bytes()


def _riff_bytes() -> bytes:
    body = _pcm().astype("<i2").tobytes()
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, 2 * RATE, 2, 16)
    chunks = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


SPHERE, RIFF = _sphere_bytes(), _riff_bytes()

# --- strategies --------------------------------------------------------------------------------------

_edit = st.tuples(st.sampled_from(["set", "insert", "delete", "truncate"]), st.integers(0, 4000),
                  st.binary(min_size=1, max_size=8))


def _mutate(base: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    data = bytearray(base)
    for op, pos, chunk in edits:
        pos = pos % (len(data) + 1)
        if op == "set":
            data[pos : pos + len(chunk)] = chunk
        elif op == "insert":
            data[pos:pos] = chunk
        elif op == "delete":
            del data[pos : pos + len(chunk)]
        else:
            del data[pos:]
    return bytes(data)


mutated_audio = st.builds(_mutate, st.sampled_from([SPHERE, RIFF]), st.lists(_edit, min_size=1, max_size=4))

_tokens = st.sampled_from(["0", "1", "-1", "2", "10", "01", "16000", "-5", "9" * 30, "abc", "1.5", "nan",
                           "pcm", "ulaw", "pcm,embedded-shorten-v2.00", "", "\u00e9"])
_field_names = st.sampled_from(["sample_count", "sample_rate", "channel_count", "sample_n_bytes",
                                "sample_byte_format", "sample_coding", "sample_sig_bits", "database_id"])
_field = st.tuples(_field_names, st.sampled_from(["-i", "-r", "-s3", "-s", "", "-x"]), _tokens)


def _sphere_from(fields: list[tuple[str, str, str]], size: str, body_samples: int) -> bytes:
    lines = "\n".join(" ".join(p for p in f if p) for f in fields)
    head = f"NIST_1A\n{size}\n{lines}\nend_head\n".encode("utf-8", "replace")
    return head.ljust(1024, b" ") + _pcm(max(body_samples, 1)).astype("<i2").tobytes()[: 2 * body_samples]


structured_sphere = st.builds(_sphere_from, st.lists(_field, max_size=8),
                              st.sampled_from(["   1024", "1024", "0", "99999999", "-1", "abc", ""]),
                              st.integers(0, 1200))


def _riff_from(tag: int, channels: int, rate: int, align: int, bits: int, fmt_size: int, data_size: int,
               body_len: int, extra: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, channels, rate, 2 * rate % 2**32, align, bits).ljust(fmt_size, b"\0")
    body = _pcm(1100).astype("<i2").tobytes()[:body_len]
    chunks = (extra + b"fmt " + struct.pack("<I", fmt_size) + fmt[:fmt_size] + b"data"
              + struct.pack("<I", data_size) + body)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


_u16, _u32 = st.integers(0, 2**16 - 1), st.integers(0, 2**32 - 1)
structured_riff = st.builds(
    _riff_from, st.sampled_from([1, 3, 0xFFFE, 0]) | _u16, st.sampled_from([1, 2]) | _u16,
    st.sampled_from([16000, 0, 1]) | _u32, st.sampled_from([2, 0, 4]) | _u16,
    st.sampled_from([16, 8, 0]) | _u16,
    st.sampled_from([16, 18, 40, 0, 2]) | st.integers(0, 100), st.sampled_from([2200, 0, 3]) | _u32,
    st.integers(0, 2200), st.sampled_from([b"", b"LIST\x04\x00\x00\x00abcd", b"junk\xff\xff\xff\xff"]),
)  # fmt: skip

audio_inputs = mutated_audio | structured_sphere | structured_riff | st.binary(max_size=64).map(
    lambda b: b"NIST_1A\n" + b) | st.binary(max_size=64).map(lambda b: b"RIFF" + b)

_phn_tokens = (st.sampled_from(["0", "100", "1100", "500", "-3", "9" * 40, "1e3", "abc", "", "\t"])
               | st.integers(0, 1300).map(str))
_labels = st.sampled_from(PHONES_61[:8] + ("h#", "xyz", "H#", "\u00e9", ""))
_phn_line = st.lists(_phn_tokens | _labels, max_size=5).map(" ".join)
VALID_PHN = b"0 400 h#\n400 700 s\n700 1100 h#\n"
phn_inputs = (st.lists(_phn_line, max_size=6).map(lambda lines: "\n".join(lines).encode())
              | st.builds(_mutate, st.just(VALID_PHN), st.lists(_edit, max_size=3)) | st.binary(max_size=200))

_keys = st.sampled_from(["data", "model", "optim", "corpus", "hidden_size", "lr", "epochs", "cell",
                         "block_size", "out_dir", "x", "seed", "loss"])
_scalars = (st.integers(-3, 10**6) | st.floats(allow_nan=True, allow_infinity=True) | st.booleans()
            | st.sampled_from(["lstm", "gru", "ctc", "ce", "", "x" * 40]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner,
                                                                                               max_size=3),
                       max_leaves=6)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(repr(v), repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _config_text(doc: dict, syntax: str, garbage: str) -> tuple[str, str]:
    if syntax == "toml":
        return ".toml", "\n".join(f"{k} = {_toml_value(v)}" for k, v in doc.items()) + garbage
    import json

    return ".yaml", json.dumps(doc) + garbage  # JSON is YAML (except non-finite floats: they fail)


SHIPPED = (Path(__file__).resolve().parents[1] / "configs" / "train_bilstm.toml").read_bytes()


def _mutated_config(edits: list[tuple[str, int, bytes]], suffix: str) -> tuple[str, str]:
    return suffix, _mutate(SHIPPED, edits).decode("utf-8", errors="replace")


config_inputs = st.builds(_mutated_config, st.lists(_edit, max_size=3), st.just(".toml")) | st.builds(
    _config_text, st.dictionaries(_keys, _values, max_size=4),
                          st.sampled_from(["toml", "yaml"]),
                          st.sampled_from(["", "\n[", "\n\x01", "\n: :", "\nx = [[[[", "\n&a 1", "\n\t- x"])
                          | st.text(max_size=20))

# --- checks ------------------------------------------------------------------------------------------


def _assert_reader_error(exc: ValueError, path: Path) -> None:
    message = str(exc)
    assert message.startswith(str(path)), message
    assert len(message) < MAX_MESSAGE, message


def check_audio(scratch: Path, data: bytes) -> str:
    path = scratch / "fuzz.wav"
    path.write_bytes(data)
    try:
        x, rate = read_audio(path)
    except ValueError as exc:
        _assert_reader_error(exc, path)
        return "error"
    assert x.dtype == np.float32 and x.ndim == 1 and x.size >= 1 and rate >= 1
    assert float(np.abs(x).max()) <= 1.0
    return "ok"


def _tree(scratch: Path) -> Path:
    spk = scratch / "TRAIN" / "DR1" / "MABC0"
    if not spk.is_dir():
        spk.mkdir(parents=True)
        write_sphere(spk / "SX1.WAV", _pcm(), RATE)
        (spk / "SX1.WRD").write_text("0 1100 yes\n")
        (spk / "SX1.TXT").write_text("0 1100 Yes.\n")
    return spk


def check_phn(scratch: Path, data: bytes) -> str:
    spk = _tree(scratch)
    (spk / "SX1.PHN").write_bytes(data)
    try:
        (utt,) = load_split(scratch, "train")
    except ValueError as exc:
        _assert_reader_error(exc, spk / "SX1.PHN")
        return "error"
    segs = utt.phones
    assert segs and all(a[1] == b[0] for a, b in zip(segs, segs[1:], strict=False))
    assert all(0 <= s <= e <= utt.samples.size and p in PHONES_61 for s, e, p in segs)
    return "ok"


def check_config(scratch: Path, example: tuple[str, str]) -> str:
    suffix, text = example
    path = scratch / f"fuzz{suffix}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load_config_file(path, Config)
    except ValueError as exc:
        assert str(exc).startswith(str(path)), str(exc)
        return "error"
    assert isinstance(config, Config)
    return "ok"


FUZZ = {"audio": (audio_inputs, check_audio), "phn": (phn_inputs, check_phn),
        "config": (config_inputs, check_config)}
EXAMPLES = {"audio": 300, "phn": 150, "config": 100}  # in the suite; the script runs thousands


@pytest.mark.parametrize("name", sorted(FUZZ))
def test_fuzz_parser(name, tmp_path):
    strategy, check = FUZZ[name]

    @settings(max_examples=EXAMPLES[name])
    @given(strategy)
    def run(example):
        check(tmp_path, example)

    run()
