"""Reader for the LDC TIMIT layout: ``TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV|.PHN|.WRD|.TXT``.

Directory and file names may be upper or lower case; audio is NIST SPHERE or RIFF WAV (detected from
the bytes, also ``<utt>.WAV.wav`` copies). Splits follow the usual TIMIT recipe (Kaldi ``egs/timit``):
``train`` = TRAIN without SA sentences (3,696), ``test`` = TEST without SA (1,344), ``dev`` = the
50-speaker development set, ``core_test`` = the 24 core-test speakers (both from TEST, without SA).
A synthetic corpus names its own dev/core-test speakers in a ``SYNTH.json`` manifest at its root, and
its ``test`` (held-out voices) and ``test_seen`` (unseen settings of training voices) speakers.
Every problem raises ``ValueError`` naming the file (and line); ``skip_bad=True`` skips bad utterances
and lists them in ``Split.skipped`` instead. Messages quote at most the offending token, shortened.

Rules beyond the file formats: phone segments (``.PHN``) must be sorted and contiguous, each starting
where the previous one ends (a gap, an overlap or an unsorted line is an error; frames before the first
or after the last segment take that segment's label); word segments (``.WRD``) must be sorted by start
and may leave gaps (pauses) or overlap (TIMIT words can share a phone). Two names that differ only in
letter case (``SX1.PHN`` and ``sx1.phn``, ``TRAIN`` and ``train``) are an error, and so is a symlink
(file or directory) that resolves outside the corpus root.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnaccel.data.audio import read_audio, token
from rnnaccel.data.phones import FOLD_39

__all__ = [
    "CORE_TEST_SPEAKERS",
    "DEV_SPEAKERS",
    "MANIFEST_NAME",
    "SPLITS",
    "corpus_splits",
    "Split",
    "Utterance",
    "UtteranceFiles",
    "list_split",
    "load_split",
    "load_utterance",
]

SPLITS = ("train", "dev", "core_test", "test", "test_seen")
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
_INDEX = re.compile(r"[0-9]{1,12}")  # a sample index (12 digits: ~2 years of 16 kHz audio)
_MAX_TEXT_BYTES = 1 << 20


@dataclass(frozen=True)
class UtteranceFiles:
    """Paths of one utterance's files (``wav`` may be SPHERE or RIFF)."""

    utt_id: str
    speaker: str
    wav: Path
    phn: Path
    wrd: Path
    txt: Path
    root: Path | None = None  # the corpus root the files must stay inside (symlinks), when known


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


def _confined(root: Path, path: Path) -> Path:
    """``path`` itself, after checking that it (through any symlink) stays inside ``root``."""
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
        raise ValueError(f"{path}: cannot resolve ({type(exc).__name__})") from None
    if not inside:
        raise ValueError(f"{path}: symlink leads outside the corpus root {root}; refused")
    return path


def _entries(root: Path, parent: Path) -> list[Path]:
    """Sorted children of ``parent``; names that differ only in letter case are an error."""
    try:
        children = sorted(parent.iterdir())
    except OSError as exc:
        raise ValueError(f"{parent}: cannot list directory ({exc.strerror})") from None
    seen: dict[str, Path] = {}
    for child in children:
        other = seen.setdefault(child.name.lower(), child)
        if other is not child:
            raise ValueError(f"{parent}: {other.name!r} and {child.name!r} differ only in letter case; "
                             f"keep one")
    return children


def _dirs(root: Path, parent: Path) -> list[Path]:
    """Sub-directories (confined to ``root``); files are checked when read, so ``skip_bad`` skips them."""
    return [_confined(root, c) for c in _entries(root, parent) if c.is_dir()]


def _child(root: Path, parent: Path, name: str) -> Path:
    """The child of ``parent`` called ``name`` in any letter case."""
    matches = [p for p in _dirs(root, parent) if p.name.lower() == name.lower()]
    if not matches:
        raise ValueError(f"{parent}: no {name.upper()} directory (expected the TIMIT layout "
                         f"TRAIN|TEST/DR1..DR8/<speaker>/<utt>.WAV)")
    return matches[0]


def _speaker_files(root: Path, spk_dir: Path) -> Iterator[UtteranceFiles]:
    groups: dict[str, dict[str, Path]] = {}
    for f in _entries(root, spk_dir):
        stem, _, ext = f.name.partition(".")
        if ext.lower() in _KINDS and f.is_file():
            groups.setdefault(stem.upper(), {})[_KINDS[ext.lower()]] = f
    speaker = spk_dir.name.upper()
    for stem, kinds in sorted(groups.items()):
        kinds.setdefault("wav", kinds.get("wav_riff", spk_dir / f"{stem}.WAV"))
        for kind in ("phn", "wrd", "txt"):
            kinds.setdefault(kind, spk_dir / f"{stem}.{kind.upper()}")
        yield UtteranceFiles(f"{speaker}_{stem}", speaker, kinds["wav"], kinds["phn"], kinds["wrd"],
                             kinds["txt"], root)


def _split_speakers(root: Path, split: str) -> frozenset[str] | None:
    """Speakers of a TEST-side split (None: all of TEST). A ``SYNTH.json`` manifest names its own:
    dev/core_test, ``test_speakers`` (held-out voices) and ``test_seen_speakers`` (training voices)."""
    manifests = [p for p in _entries(root, root) if p.name.lower() == MANIFEST_NAME.lower()]
    if not manifests:
        if split == "test_seen":
            raise ValueError(f"{root}: split test_seen exists only in a synthetic corpus (its "
                             f"{MANIFEST_NAME} lists test_seen_speakers)")
        return {"dev": DEV_SPEAKERS, "core_test": CORE_TEST_SPEAKERS}.get(split)
    try:
        data = json.loads(manifests[0].read_text())
        if split in ("dev", "core_test") or f"{split}_speakers" in data:
            return frozenset(data[f"{split}_speakers"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{manifests[0]}: bad manifest, expected JSON with dev_speakers and "
                         f"core_test_speakers lists ({exc})") from None
    if split == "test_seen":
        raise ValueError(f"{manifests[0]}: no test_seen_speakers (a corpus from an older rnnaccel)")
    return None


def corpus_splits(root: str | Path) -> tuple[str, ...]:
    """The splits of the corpus at ``root``: :data:`SPLITS`, without ``test_seen`` unless its manifest
    lists ``test_seen_speakers`` (a synthetic corpus; real TIMIT and imported corpora have none)."""
    try:
        _split_speakers(Path(root), "test_seen")
    except ValueError:
        return tuple(s for s in SPLITS if s != "test_seen")
    return SPLITS


def list_split(root: str | Path, split: str) -> list[UtteranceFiles]:
    """The files of a split, sorted by utterance id, without reading them (SA sentences excluded)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"{root}: corpus directory does not exist")
    part = _child(root, root, "train" if split == "train" else "test")
    files = [u for dr in _dirs(root, part) for spk in _dirs(root, dr)
             for u in _speaker_files(root, spk) if not u.utt_id.split("_")[-1].startswith("SA")]
    _no_duplicate_ids(files)
    wanted = None if split == "train" else _split_speakers(root, split)
    if wanted is not None:
        found = {u.speaker for u in files}
        missing = sorted(wanted - found)
        if missing:
            raise ValueError(f"{part}: {split} speakers not found: {', '.join(missing)}")
        files = [u for u in files if u.speaker in wanted]
    return sorted(files, key=lambda u: u.utt_id)


def _no_duplicate_ids(files: list[UtteranceFiles]) -> None:
    seen: dict[str, UtteranceFiles] = {}
    for u in files:
        other = seen.setdefault(u.utt_id, u)
        if other is not u:
            raise ValueError(f"{u.wav.parent}: utterance {u.utt_id} also exists in {other.wav.parent} "
                             f"(one speaker in two dialect regions?)")


def _read_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            data = f.read(_MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > _MAX_TEXT_BYTES:
        raise ValueError(f"{path}: larger than {_MAX_TEXT_BYTES} bytes; not a TIMIT label file")
    return data.decode("ascii", errors="replace").splitlines()


def _read_segments(path: Path, n_samples: int, phones: bool) -> list[tuple[int, int, str]]:
    segs: list[tuple[int, int, str]] = []
    for lineno, line in enumerate(_read_lines(path), 1):
        if line.strip():
            seg = _parse_segment(f"{path}:{lineno}", line, n_samples, phones)
            _check_order(f"{path}:{lineno}", segs[-1] if segs else None, seg, phones)
            segs.append(seg)
    if phones and not segs:
        raise ValueError(f"{path}: no phone segments")
    return segs


def _index(where: str, what: str, text: str) -> int:
    if not _INDEX.fullmatch(text):
        raise ValueError(f"{where}: segment {what} {token(text)} is not a sample index "
                         f"(expected 'start end label')")
    return int(text)


def _parse_segment(where: str, line: str, n_samples: int, phone: bool) -> tuple[int, int, str]:
    parts = line.split()
    if len(parts) != 3:
        raise ValueError(f"{where}: expected 'start end label', got {len(parts)} fields")
    start, end, label = _index(where, "start", parts[0]), _index(where, "end", parts[1]), parts[2]
    if end < start:
        raise ValueError(f"{where}: segment end {end} < start {start}")
    if end > n_samples:
        raise ValueError(f"{where}: segment end {end} is past the audio ({n_samples} samples)")
    if phone and label not in FOLD_39:
        raise ValueError(f"{where}: unknown phone {token(label)} (not one of the 61 TIMIT labels)")
    return start, end, label


def _check_order(where: str, prev: tuple[int, int, str] | None, seg: tuple[int, int, str],
                 phones: bool) -> None:
    """Phones: contiguous (start == previous end); words: sorted by start (gaps, overlaps allowed)."""
    if prev is None:
        return
    if seg[0] < prev[0]:
        raise ValueError(f"{where}: segment starts at {seg[0]}, before the previous one ({prev[0]}): "
                         f"segments must be sorted")
    if phones and seg[0] < prev[1]:
        raise ValueError(f"{where}: segment starts at {seg[0]}, inside the previous one (ends at "
                         f"{prev[1]}): phone segments must not overlap")
    if phones and seg[0] > prev[1]:
        raise ValueError(f"{where}: gap of {seg[0] - prev[1]} samples after the previous segment (ends at "
                         f"{prev[1]}): phone segments must be contiguous")


def _read_text(path: Path) -> str:
    parts = " ".join(_read_lines(path)).split(None, 2)
    if len(parts) < 2 or not (_INDEX.fullmatch(parts[0]) and _INDEX.fullmatch(parts[1])):
        raise ValueError(f"{path}:1: expected 'start end text' with sample indices")
    return parts[2].strip() if len(parts) == 3 else ""


def load_utterance(files: UtteranceFiles) -> Utterance:
    """Read and validate one utterance (audio, phones, words, text)."""
    if files.root is not None:
        for path in (files.wav, files.phn, files.wrd, files.txt):
            _confined(files.root, path)
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
