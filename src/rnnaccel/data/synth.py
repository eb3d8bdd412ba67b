"""Offline synthetic speech corpus in the exact TIMIT layout, made with Debian's ``flite``.

Each utterance is a grammar sentence (``grammar.py``) spoken by ``flite -psdur``, which prints every
phone's end time; those times become the ``.PHN`` sample boundaries (CMU phones mapped to TIMIT labels
by ``phones.CMU_TO_TIMIT``; stops split into closure + release at ``CLOSURE_FRACTION``). Word
boundaries (``.WRD``) come from aligning each word's ``t2p`` pronunciation to the spoken phones.
A *speaker* is a (voice, mean F0, duration stretch) setting; TRAIN and TEST speakers are drawn
separately, so the test set measures unseen speakers. ``SYNTH.json`` at the root names the dev and
core-test speakers (read by ``timit.load_split``). Everything is deterministic for a seed.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
import wave
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rnnaccel.data.audio import write_sphere
from rnnaccel.data.grammar import sentence
from rnnaccel.data.phones import CLOSURE_FRACTION, CMU_TO_TIMIT
from rnnaccel.data.timit import MANIFEST_NAME

__all__ = ["VOICES", "Speaker", "SynthReport", "make_speakers", "require_flite", "synthesize_corpus"]

# flite's 16 kHz voices: name -> (TIMIT-style sex letter, mean-F0 range in Hz drawn per speaker).
VOICES: dict[str, tuple[str, tuple[float, float]]] = {
    "kal16": ("M", (85.0, 140.0)),
    "awb": ("M", (85.0, 140.0)),
    "rms": ("M", (85.0, 140.0)),  # rms ignores int_f0_target_mean (measured); it varies by rate only
    "slt": ("F", (150.0, 230.0)),
}
_STRETCH = (0.85, 1.25)  # flite duration_stretch range per speaker (speaking rate)
_INSTALL = "flite is not installed; install it with `apt-get install -y flite` (Debian/Ubuntu)"


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: a flite voice with a mean F0 and a speaking-rate stretch."""

    speaker_id: str
    voice: str
    f0_hz: float
    stretch: float
    split: str  # "TRAIN" or "TEST"
    dialect: int  # 1..8, only to fill the DR1..DR8 layout


@dataclass(frozen=True)
class SynthReport:
    """What ``synthesize_corpus`` wrote."""

    root: Path
    utterances: int
    train_speakers: int
    test_speakers: int
    dev_speakers: tuple[str, ...]
    core_test_speakers: tuple[str, ...]
    seconds_of_audio: float


def require_flite() -> str:
    """Path of the flite binary; RuntimeError telling how to install it when missing."""
    path = shutil.which("flite")
    if path is None or shutil.which("t2p") is None:
        raise RuntimeError(_INSTALL)
    return path


def make_speakers(n_train: int, n_test: int, seed: int) -> list[Speaker]:
    """Draw ``n_train`` TRAIN and ``n_test`` TEST speakers (voices round-robin, F0/rate random)."""
    if n_train < 1 or n_test < 1:
        raise ValueError(f"need at least one TRAIN and one TEST speaker, got {n_train} and {n_test}")
    voices = sorted(VOICES)
    out = []
    for j in range(n_train + n_test):
        rng = random.Random(f"{seed}:speaker:{j}")
        voice = voices[j % len(voices)]
        sex, (lo, hi) = VOICES[voice]
        f0, stretch = round(rng.uniform(lo, hi), 1), round(rng.uniform(*_STRETCH), 3)
        split = "TRAIN" if j < n_train else "TEST"
        out.append(Speaker(f"{sex}{voice[:3].upper()}{j:03d}", voice, f0, stretch, split, j % 8 + 1))
    return out


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60)
    except FileNotFoundError:
        raise RuntimeError(_INSTALL) from None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{cmd[0]} failed ({exc.returncode}): {exc.stderr.strip()}") from None
    return done.stdout


def _flite(speaker: Speaker, text: str, wav: Path) -> tuple[np.ndarray, int, list[tuple[str, float]]]:
    cmd = ["flite", "-voice", speaker.voice, "-psdur", "--setf", f"duration_stretch={speaker.stretch}",
           "--setf", f"int_f0_target_mean={speaker.f0_hz}", "-t", text, "-o", str(wav)]
    out = _run(cmd)
    with wave.open(str(wav), "rb") as w:
        pcm, rate = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()
    ends = [(tok.rpartition(":")[0], float(tok.rpartition(":")[2])) for tok in out.split()]
    return pcm, rate, ends


def _timit_segments(ends: list[tuple[str, float]], rate: int, n: int) -> list[tuple[int, int, str, int]]:
    """flite (phone, end s) -> TIMIT (start, end, label, index of the flite phone), clipped to n samples.

    The diphone voice (kal16) cuts the final pause short, so the last segments are clipped to the audio.
    """
    segs: list[tuple[int, int, str, int]] = []
    start = 0
    for k, (phone, end_s) in enumerate(ends):
        if phone not in CMU_TO_TIMIT:
            raise ValueError(f"flite produced phone {phone!r}, which has no TIMIT mapping")
        end = n if k == len(ends) - 1 else min(round(end_s * rate), n)
        if end <= start:
            continue
        labels = CMU_TO_TIMIT[phone]
        if len(labels) == 2 and end - start >= 2:
            mid = start + max(1, round(CLOSURE_FRACTION * (end - start)))
            segs += [(start, mid, labels[0], k), (mid, end, labels[1], k)]
        else:
            segs.append((start, end, labels[-1], k))
        start = end
    return _edge_silence(segs)


def _edge_silence(segs: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str, int]]:
    # TIMIT marks the leading and trailing silence h#, pauses inside the sentence pau.
    for i in (0, -1):
        if segs[i][2] == "pau":
            segs[i] = (*segs[i][:2], "h#", segs[i][3])
    return segs


def _align_words(words: list[list[str]], spoken: list[str]) -> list[int]:
    """Word index of each spoken phone: Levenshtein alignment of the concatenated dictionary
    pronunciations to flite's output (post-lexical rules, e.g. 'the' -> dh iy, change a few)."""
    ref = [(p, w) for w, phones in enumerate(words) for p in phones]
    n, m = len(ref), len(spoken)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0], cost[0, :] = np.arange(n + 1), np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = cost[i - 1, j - 1] + (ref[i - 1][0] != spoken[j - 1])
            cost[i, j] = min(sub, cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    owner = [0] * m
    i, j = n, m
    while j > 0:
        if i > 0 and cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1][0] != spoken[j - 1]):
            owner[j - 1], i, j = ref[i - 1][1], i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            owner[j - 1], j = ref[min(i, n) - 1][1] if i > 0 else 0, j - 1
    return owner


def _word_segments(words: list[str], lexicon: dict[str, list[str]], ends: list[tuple[str, float]],
                   segs: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str]]:
    speech = [k for k, (p, _) in enumerate(ends) if p != "pau"]
    owner = _align_words([lexicon[w] for w in words], [ends[k][0] for k in speech])
    owner_of = dict(zip(speech, owner, strict=True))
    spans: dict[int, list[int]] = {}
    for start, end, _, k in segs:
        if k in owner_of:
            span = spans.setdefault(owner_of[k], [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    return [(s, e, words[w]) for w, (s, e) in sorted(spans.items())]


def _lexicon(words: set[str]) -> dict[str, list[str]]:
    def pron(word: str) -> list[str]:
        return [p.rstrip("012") for p in _run(["t2p", word]).split() if p != "pau"]

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(sorted(words), pool.map(pron, sorted(words)), strict=True))


def _add_noise(pcm: np.ndarray, snr_db: float | None, rng: np.random.Generator) -> np.ndarray:
    """Additive white Gaussian noise at ``snr_db`` relative to the utterance's mean power."""
    if snr_db is None:
        return pcm
    x = pcm.astype(np.float64)
    noise = rng.standard_normal(x.size) * np.sqrt(np.mean(x**2) / 10 ** (snr_db / 10))
    return np.clip(np.round(x + noise), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class _Options:
    seed: int
    snr_db: float | None
    audio_format: str
    lowercase: bool

    def name(self, s: str) -> str:
        return s.lower() if self.lowercase else s.upper()


@dataclass(frozen=True)
class _Job:
    index: int
    speaker: Speaker
    words: tuple[str, ...]


def _write_text(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(f"{line}\n" for line in lines))
    os.replace(tmp, path)


def _write_riff(path: Path, pcm: np.ndarray, rate: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    os.replace(tmp, path)


def _speaker_dir(root: Path, spk: Speaker, opts: _Options) -> Path:
    return root / opts.name(spk.split) / opts.name(f"DR{spk.dialect}") / opts.name(spk.speaker_id)


def _text(words: tuple[str, ...]) -> str:
    return " ".join(words).replace(" ,", ",").capitalize() + "."


def _synthesize_one(job: _Job, root: Path, lexicon: dict[str, list[str]], opts: _Options) -> float:
    """Synthesize and write one utterance's .WAV/.PHN/.WRD/.TXT; returns its duration in seconds."""
    folder = _speaker_dir(root, job.speaker, opts)
    stem = folder / opts.name(f"SX{job.index}")
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        pcm, rate, ends = _flite(job.speaker, _text(job.words), Path(tmp) / "x.wav")
    pcm = _add_noise(pcm, opts.snr_db, np.random.default_rng([opts.seed, job.index]))
    segs = _timit_segments(ends, rate, pcm.size)
    wav = stem.with_name(stem.name + opts.name(".wav"))
    if opts.audio_format == "sphere":
        write_sphere(wav, pcm, rate)
    else:
        _write_riff(wav, pcm, rate)
    _write_text(stem.with_name(stem.name + opts.name(".phn")), [f"{s} {e} {p}" for s, e, p, _ in segs])
    wrd = _word_segments([w for w in job.words if w != ","], lexicon, ends, segs)
    _write_text(stem.with_name(stem.name + opts.name(".wrd")), [f"{s} {e} {w}" for s, e, w in wrd])
    _write_text(stem.with_name(stem.name + opts.name(".txt")), [f"0 {pcm.size} {_text(job.words)}"])
    return pcm.size / rate


def _plan(utterances: int, per_speaker: int, test_fraction: float, seed: int) -> list[_Job]:
    n_spk = max(2, -(-utterances // per_speaker))
    n_test = min(n_spk - 1, max(2 if n_spk >= 4 else 1, round(test_fraction * n_spk)))
    speakers = make_speakers(n_spk - n_test, n_test, seed)
    # Utterance i goes to speaker i mod n_spk: every speaker gets about per_speaker sentences.
    return [_Job(i, speakers[i % n_spk], tuple(sentence(random.Random(f"{seed}:utt:{i}"))))
            for i in range(utterances)]


def _validate(utterances: int, per_speaker: int, test_fraction: float, audio_format: str) -> None:
    if utterances < 2:
        raise ValueError(f"utterances must be >= 2 (one TRAIN and one TEST), got {utterances}")
    if per_speaker < 1:
        raise ValueError(f"per_speaker must be >= 1, got {per_speaker}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if audio_format not in ("sphere", "riff"):
        raise ValueError(f"audio_format must be 'sphere' or 'riff', got {audio_format!r}")


def _manifest(root: Path, jobs: list[_Job], seed: int, snr_db: float | None) -> SynthReport:
    speakers = sorted({j.speaker for j in jobs}, key=lambda s: s.speaker_id)
    # Order TEST speakers by draw index (not by ID, which groups voices) so dev/core mix the voices.
    test = [s.speaker_id for s in sorted(speakers, key=lambda s: s.speaker_id[-3:]) if s.split == "TEST"]
    # With a single TEST speaker (tiny corpora) dev and core_test are both that speaker.
    n_dev = max(1, round(0.3 * len(test)))
    n_core = max(1, min(len(test) - n_dev, round(0.15 * len(test))))
    dev, core = test[:n_dev], (test[n_dev : n_dev + n_core] or test[:1])
    data = {"generator": "rnnaccel.data.synth", "seed": seed, "utterances": len(jobs), "snr_db": snr_db,
            "dev_speakers": dev, "core_test_speakers": core, "speakers": [asdict(s) for s in speakers]}
    _write_text(root / MANIFEST_NAME, [json.dumps(data, indent=1)])
    n_train = len(speakers) - len(test)
    return SynthReport(root, len(jobs), n_train, len(test), tuple(dev), tuple(core), 0.0)


def synthesize_corpus(out: str | Path, utterances: int = 2000, *, seed: int = 0, snr_db: float | None = None,
                      per_speaker: int = 10, test_fraction: float = 0.2, audio_format: str = "sphere",
                      lowercase: bool = False, jobs: int = 2, overwrite: bool = False,
                      progress: bool = False) -> SynthReport:
    """Write a TIMIT-layout corpus of ``utterances`` flite sentences under ``out``.

    ``per_speaker`` sentences per speaker (TIMIT has 10); a ``test_fraction`` of the speakers go to
    TEST (unseen voice settings); 30% / 15% of TEST speakers are named dev / core_test in the manifest.
    ``snr_db`` adds white noise; ``audio_format`` 'sphere' (as LDC) or 'riff'; ``lowercase`` names;
    ``progress`` shows a tqdm bar (stderr).
    """
    _validate(utterances, per_speaker, test_fraction, audio_format)
    require_flite()
    root = Path(out)
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{root}: output directory is not empty (pass overwrite=True / --overwrite)")
    plan = _plan(utterances, per_speaker, test_fraction, seed)
    opts = _Options(seed, snr_db, audio_format, lowercase)
    for spk in {j.speaker for j in plan}:
        _speaker_dir(root, spk, opts).mkdir(parents=True, exist_ok=True)
    lexicon = _lexicon({w for j in plan for w in j.words if w != ","})
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        done = pool.map(lambda j: _synthesize_one(j, root, lexicon, opts), plan)
        if progress:
            from tqdm import tqdm

            done = tqdm(done, total=len(plan), desc="synth", unit="utt", dynamic_ncols=True)
        seconds = sum(done)
    report = _manifest(root, plan, seed, snr_db)
    return SynthReport(**{**asdict(report), "root": root, "seconds_of_audio": round(seconds, 2)})
