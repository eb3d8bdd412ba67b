"""Convert a folder of WAV files with phone-aligned labels into the TIMIT layout (``rnnaccel data import``).

Input: ``SRC/<speaker>/<utt>.wav`` (16-bit mono RIFF; another rate is resampled to 16 kHz) with, beside
each, ``<utt>.lab`` (HTK label file: ``start end label`` per line, times in 100 ns units) or
``<utt>.TextGrid`` (Praat, long text format: the interval tier named ``phones``/``phone``, else the first
interval tier; a ``words``/``word`` tier, when present, becomes the ``.WRD``). Labels must be TIMIT's 61
phones (``h#`` for edge silence), contiguous from 0 to the end of the audio (the last end may differ from
the audio length by up to 10 ms and is snapped to it).

Output: ``OUT/TRAIN|TEST/DR1/<SPEAKER>/<UTT>.WAV|.PHN|.WRD|.TXT`` (SPHERE audio) and a ``SYNTH.json``
naming the TEST speakers as dev, core_test and test, so ``rnnaccel train`` and the flow read it
unchanged. Every bad file is reported with its path and reason (all of them, not only the first).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnaccel.data.audio import read_audio, write_sphere
from rnnaccel.data.phones import FOLD_39
from rnnaccel.data.timit import MANIFEST_NAME
from rnnaccel.io import write_text_atomic

__all__ = ["ImportReport", "import_corpus", "read_htk_lab", "read_textgrid"]

_RATE_HZ = 16000
_TOLERANCE_S = 0.010
Segment = tuple[float, float, str]  # start s, end s, label


@dataclass(frozen=True)
class ImportReport:
    """What ``import_corpus`` wrote: utterances, TRAIN/TEST speakers, and the skipped 'path: reason's."""

    root: Path
    utterances: int
    train_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]
    skipped: tuple[str, ...] = ()


def read_htk_lab(path: Path) -> list[Segment]:
    """HTK ``.lab``: 'start end label' per line, times in 100 ns units (ValueError naming path:line)."""
    segs = []
    for i, line in enumerate(_lines(path), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 3 or not (parts[0].isdigit() and parts[1].isdigit()):
            raise ValueError(f"{path}:{i}: expected 'start end label' with times in 100 ns units, "
                             f"got {line.strip()[:60]!r}")
        segs.append((int(parts[0]) * 1e-7, int(parts[1]) * 1e-7, parts[2]))
    return segs


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None


_ITEM = re.compile(r"^\s*(class|name|xmin|xmax|text)\s*=\s*(.*?)\s*$")


def _tiers(path: Path) -> list[dict]:
    """Interval tiers of a long-format TextGrid: [{'name', 'intervals': [(xmin, xmax, text)]}]."""
    tiers: list[dict] = []
    cur: dict = {}
    for line in _lines(path):
        m = _ITEM.match(line)
        if m is None:
            continue
        key, val = m.group(1), m.group(2).strip('"')
        if key == "class":
            tiers.append({"class": val, "name": "", "intervals": []})
        elif tiers and key == "name":
            tiers[-1]["name"] = val
        elif tiers and key in ("xmin", "xmax"):
            cur[key] = val
        elif tiers and key == "text" and {"xmin", "xmax"} <= cur.keys():
            tiers[-1]["intervals"].append((_float(path, cur["xmin"]), _float(path, cur["xmax"]), val.strip()))
    return [t for t in tiers if t["class"] == "IntervalTier"]


def _float(path: Path, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}: bad time {text[:30]!r} in TextGrid") from None


def read_textgrid(path: Path) -> tuple[list[Segment], list[Segment]]:
    """(phone segments, word segments) of a Praat TextGrid (long text format); empty word intervals
    are dropped, empty phone intervals are an error (label silence ``h#``/``pau``)."""
    tiers = _tiers(path)
    if not tiers:
        raise ValueError(f"{path}: no interval tier (expected a Praat TextGrid in long text format)")
    by_name = {t["name"].lower(): t for t in tiers}
    phones = by_name.get("phones") or by_name.get("phone") or tiers[0]
    words = by_name.get("words") or by_name.get("word")
    wsegs = [s for s in words["intervals"] if s[2]] if words else []
    return phones["intervals"], wsegs


def _samples(segs: list[Segment], n: int, path: Path) -> list[tuple[int, int, str]]:
    """Seconds -> contiguous sample segments covering [0, n); ValueError naming the file otherwise."""
    if not segs:
        raise ValueError(f"{path}: no phone segments")
    end_s, audio_s = segs[-1][1], n / _RATE_HZ
    if abs(segs[0][0]) > 1e-9 or abs(end_s - audio_s) > _TOLERANCE_S:
        raise ValueError(f"{path}: labels cover {segs[0][0]:.3f}-{end_s:.3f} s but the audio is "
                         f"{audio_s:.3f} s long (labels must cover the audio, ±10 ms)")
    out, prev = [], 0
    for k, (s, e, label) in enumerate(segs):
        if label not in FOLD_39:
            raise ValueError(f"{path}: segment {k + 1} has label {label!r}, not one of the 61 TIMIT phones")
        if abs(s * _RATE_HZ - prev) > 0.5 + 1e-6 * _RATE_HZ:
            raise ValueError(f"{path}: segment {k + 1} starts at {s:.4f} s, previous ended at "
                             f"{prev / _RATE_HZ:.4f} s (segments must be contiguous and sorted)")
        end = n if k == len(segs) - 1 else round(e * _RATE_HZ)
        if end <= prev:
            raise ValueError(f"{path}: segment {k + 1} ({label}) is empty or ends before it starts")
        out.append((prev, end, label))
        prev = end
    return out


def _audio(wav: Path) -> np.ndarray:
    x, rate = read_audio(wav)
    if rate != _RATE_HZ:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(rate, _RATE_HZ)
        x = resample_poly(x.astype(np.float64), _RATE_HZ // g, rate // g)
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * 32768), -32768, 32767).astype(np.int16)


def _labels(wav: Path) -> tuple[list[Segment], list[Segment], Path]:
    for ext in (".lab", ".LAB", ".TextGrid", ".textgrid", ".TEXTGRID"):
        path = wav.with_suffix(ext)
        if path.is_file():
            return (read_htk_lab(path), [], path) if ext.lower() == ".lab" else (*read_textgrid(path), path)
    raise ValueError(f"{wav}: no label file beside it (expected {wav.stem}.lab or {wav.stem}.TextGrid)")


def _convert(wav: Path, dest: Path) -> None:
    pcm = _audio(wav)
    phones, words, lab = _labels(wav)
    segs = _samples(phones, pcm.size, lab)
    wsegs = [(round(s * _RATE_HZ), min(round(e * _RATE_HZ), pcm.size), w) for s, e, w in words]
    write_sphere(dest.with_suffix(".WAV"), pcm, _RATE_HZ)
    _write(dest.with_suffix(".PHN"), [f"{s} {e} {p}" for s, e, p in segs])
    _write(dest.with_suffix(".WRD"), [f"{s} {e} {w}" for s, e, w in wsegs])
    _write(dest.with_suffix(".TXT"), [f"0 {pcm.size} {' '.join(w for _, _, w in wsegs)}"])


def _write(path: Path, lines: list[str]) -> None:
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def _speakers(src: Path) -> dict[str, Path]:
    if not src.is_dir():
        raise ValueError(f"{src}: source directory does not exist")
    found: dict[str, Path] = {}
    for d in sorted(p for p in src.iterdir() if p.is_dir()):
        name = _name(d.name)
        if not name or name in found:
            raise ValueError(f"{d}: speaker folder name {d.name!r} is empty or clashes with "
                             f"{found.get(name)}")
        found[name] = d
    if not found:
        raise ValueError(f"{src}: no speaker folders (expected SRC/<speaker>/<utt>.wav + .lab|.TextGrid)")
    return found


def import_corpus(src: str | Path, out: str | Path, test_speakers: list[str], *, skip_bad: bool = False,
                  overwrite: bool = False) -> ImportReport:
    """Convert ``src`` (module docstring) into a TIMIT-layout corpus at ``out``; ``test_speakers`` go
    to TEST (dev = core_test = test = them). Bad files raise one ValueError listing each 'path: reason'
    (``skip_bad``: they are left out and listed in ``ImportReport.skipped``)."""
    src, root = Path(src), Path(out)
    speakers = _speakers(src)
    test = {_name(s) for s in test_speakers}
    unknown = sorted(test - speakers.keys())
    if unknown or not test or test == speakers.keys():
        raise ValueError(f"test speakers must be a non-empty proper subset of {sorted(speakers)}, got "
                         f"{sorted(test)} (unknown: {unknown})")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{root}: output directory is not empty (pass --overwrite)")
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        written, bad = _convert_all(speakers, test, tmp)
        if bad and not skip_bad:
            raise ValueError(f"{len(bad)} bad file(s):\n" + "\n".join(bad))
        _manifest(tmp, sorted(test))
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ImportReport(root, written, tuple(sorted(speakers.keys() - test)), tuple(sorted(test)), tuple(bad))


def _convert_all(speakers: dict[str, Path], test: set[str], tmp: Path) -> tuple[int, list[str]]:
    written, bad = 0, []
    for name, folder in speakers.items():
        dest = tmp / ("TEST" if name in test else "TRAIN") / "DR1" / name
        dest.mkdir(parents=True, exist_ok=True)
        for wav in sorted(p for p in folder.iterdir() if p.suffix.lower() == ".wav"):
            try:
                _convert(wav, dest / (_name(wav.stem) or "UTT"))
                written += 1
            except ValueError as exc:
                bad.append(str(exc))
    return written, bad


def _manifest(root: Path, test: list[str]) -> None:
    from rnnaccel.data.synth import corpus_digest  # the same content hash as a synthetic corpus

    data = {"generator": "rnnaccel.data.importer", "dev_speakers": test, "core_test_speakers": test,
            "test_speakers": test, "content_sha256": corpus_digest(root)}
    _write(root / MANIFEST_NAME, [json.dumps(data, indent=1, allow_nan=False)])
