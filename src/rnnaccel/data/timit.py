"""Reader for the LDC TIMIT layout: ``TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV|.PHN|.WRD|.TXT``.

Directory and file names may be upper or lower case; audio is NIST SPHERE or RIFF WAV (detected from
the bytes, also ``<utt>.WAV.wav`` copies). Splits follow the usual TIMIT recipe (Kaldi ``egs/timit``):
``train`` = TRAIN without SA sentences (3,696), ``test`` = TEST without SA (1,344), ``dev`` = the
50-speaker development set, ``core_test`` = the 24 core-test speakers (both from TEST, without SA).
A synthetic corpus names its own dev/core-test speakers in a ``SYNTH.json`` manifest at its root.
Every problem raises ``ValueError`` naming the file (and line); ``skip_bad=True`` skips bad utterances
and lists them in ``Split.skipped`` instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnaccel.data.audio import read_audio
from rnnaccel.data.phones import FOLD_39

__all__ = [
    "CORE_TEST_SPEAKERS",
    "DEV_SPEAKERS",
    "MANIFEST_NAME",
    "SPLITS",
    "Split",
    "Utterance",
    "UtteranceFiles",
    "list_split",
    "load_split",
    "load_utterance",
]

SPLITS = ("train", "dev", "core_test", "test")
MANIFEST_NAME = "SYNTH.json"

# Kaldi egs/timit/s5/conf/dev_spk.list (the standard 50-speaker development set).
DEV_SPEAKERS: frozenset[str] = frozenset("""
faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0 fcmh0 fkms0 mbdg0 mbwm0 mcsh0 fadg0 fdms0 fedw0 mgjf0
mglb0 mrtk0 mtaa0 mtdt0 mthc0 mwjg0 fnmr0 frew0 fsem0 mbns0 mmjr0 mdls0 mdlf0 mdvc0 mers0 fmah0 fdrw0
mrcs0 mrjm4 fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0 fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1
""".upper().split())

# The 24-speaker core test set (TIMIT documentation; 2 male + 1 female per dialect region DR1..DR8).
CORE_TEST_SPEAKERS: frozenset[str] = frozenset("""
mdab0 mwbt0 felc0 mtas1 mwew0 fpas0 mjmp0 mlnt0 fpkt0 mlll0 mtls0 fjlm0 mbpm0 mklt0 fnlp0 mcmj0 mjdh0
fmgd0 mgrt0 mnjm0 fdhc0 mjln0 mpam0 fmld0
""".upper().split())

_KINDS = {"wav": "wav", "wav.wav": "wav_riff", "phn": "phn", "wrd": "wrd", "txt": "txt"}


@dataclass(frozen=True)
class UtteranceFiles:
    """Paths of one utterance's files (``wav`` may be SPHERE or RIFF)."""

    utt_id: str
    speaker: str
    wav: Path
    phn: Path
    wrd: Path
    txt: Path


@dataclass(frozen=True, eq=False)
class Utterance:
    """One TIMIT utterance. ``phones``/``words`` are (start, end, label) in samples, end exclusive."""

    utt_id: str
    speaker: str
    samples: np.ndarray
    sample_rate: int
    phones: list[tuple[int, int, str]]
    words: list[tuple[int, int, str]] = field(default_factory=list)
    text: str = ""


@dataclass(frozen=True)
class Split:
    """The utterances of a split, plus ``skipped`` ('path: reason' of each bad one, with skip_bad)."""

    utterances: list[Utterance]
    skipped: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.utterances)

    def __iter__(self) -> Iterator[Utterance]:
        return iter(self.utterances)

    def __getitem__(self, i: int) -> Utterance:
        return self.utterances[i]


def _child(parent: Path, name: str) -> Path:
    """The child of ``parent`` called ``name`` in any letter case."""
    matches = [p for p in parent.iterdir() if p.name.lower() == name.lower()] if parent.is_dir() else []
    if not matches:
        raise ValueError(f"{parent}: no {name.upper()} directory (expected the TIMIT layout "
                         f"TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV)")
    return matches[0]


def _speaker_files(spk_dir: Path) -> Iterator[UtteranceFiles]:
    groups: dict[str, dict[str, Path]] = {}
    for f in sorted(spk_dir.iterdir()):
        stem, _, ext = f.name.partition(".")
        if f.is_file() and ext.lower() in _KINDS:
            groups.setdefault(stem.upper(), {})[_KINDS[ext.lower()]] = f
    speaker = spk_dir.name.upper()
    for stem, kinds in sorted(groups.items()):
        kinds.setdefault("wav", kinds.get("wav_riff", spk_dir / f"{stem}.WAV"))
        for kind in ("phn", "wrd", "txt"):
            kinds.setdefault(kind, spk_dir / f"{stem}.{kind.upper()}")
        yield UtteranceFiles(f"{speaker}_{stem}", speaker, kinds["wav"], kinds["phn"], kinds["wrd"],
                             kinds["txt"])


def _speaker_sets(root: Path) -> tuple[frozenset[str], frozenset[str]]:
    manifests = [p for p in root.iterdir() if p.name.lower() == MANIFEST_NAME.lower()]
    if not manifests:
        return DEV_SPEAKERS, CORE_TEST_SPEAKERS
    try:
        data = json.loads(manifests[0].read_text())
        return frozenset(data["dev_speakers"]), frozenset(data["core_test_speakers"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{manifests[0]}: bad manifest, expected JSON with dev_speakers and "
                         f"core_test_speakers lists ({exc})") from None


def list_split(root: str | Path, split: str) -> list[UtteranceFiles]:
    """The files of a split, sorted by utterance id, without reading them (SA sentences excluded)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: corpus directory does not exist")
    part = _child(root, "train" if split == "train" else "test")
    files = [u for dr in sorted(part.iterdir()) if dr.is_dir()
             for spk in sorted(dr.iterdir()) if spk.is_dir()
             for u in _speaker_files(spk) if not u.utt_id.split("_")[-1].startswith("SA")]
    if split in ("dev", "core_test"):
        wanted = _speaker_sets(root)[0 if split == "dev" else 1]
        found = {u.speaker for u in files}
        missing = sorted(wanted - found)
        if missing:
            raise ValueError(f"{part}: {split} speakers not found: {', '.join(missing)}")
        files = [u for u in files if u.speaker in wanted]
    return sorted(files, key=lambda u: u.utt_id)


def _read_segments(path: Path, n_samples: int, phones: bool) -> list[tuple[int, int, str]]:
    try:
        lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    segs = [_parse_segment(path, i, line, n_samples, phones)
            for i, line in enumerate(lines, 1) if line.strip()]
    if phones and not segs:
        raise ValueError(f"{path}: no phone segments")
    return segs


def _parse_segment(path: Path, lineno: int, line: str, n_samples: int, phone: bool) -> tuple[int, int, str]:
    where = f"{path}:{lineno}"
    parts = line.split()
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
        raise ValueError(f"{where}: expected 'start end label' with sample indices, got {line.strip()!r}")
    start, end, label = int(parts[0]), int(parts[1]), parts[2]
    if end < start:
        raise ValueError(f"{where}: segment end {end} < start {start}")
    if end > n_samples:
        raise ValueError(f"{where}: segment end {end} is past the audio ({n_samples} samples)")
    if phone and label not in FOLD_39:
        raise ValueError(f"{where}: unknown phone {label!r} (not one of the 61 TIMIT labels)")
    return start, end, label


def _read_text(path: Path) -> str:
    try:
        parts = path.read_text(encoding="ascii", errors="replace").split(None, 2)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    if len(parts) < 2 or not (parts[0].isdigit() and parts[1].isdigit()):
        raise ValueError(f"{path}:1: expected 'start end text'")
    return parts[2].strip() if len(parts) == 3 else ""


def load_utterance(files: UtteranceFiles) -> Utterance:
    """Read and validate one utterance (audio, phones, words, text)."""
    samples, rate = read_audio(files.wav)
    phones = _read_segments(files.phn, samples.size, phones=True)
    words = _read_segments(files.wrd, samples.size, phones=False)
    return Utterance(files.utt_id, files.speaker, samples, rate, phones, words, _read_text(files.txt))


def load_split(root: str | Path, split: str, *, skip_bad: bool = False) -> Split:
    """Load a split (``train``, ``dev``, ``core_test``, ``test``) of a TIMIT-layout corpus.

    Raises ValueError naming the file and line of the first bad input; with ``skip_bad`` bad
    utterances are left out and reported in ``Split.skipped``.
    """
    utts: list[Utterance] = []
    skipped: list[str] = []
    for files in list_split(root, split):
        try:
            utts.append(load_utterance(files))
        except ValueError as exc:
            if not skip_bad:
                raise
            skipped.append(str(exc))
    return Split(utts, tuple(skipped))
