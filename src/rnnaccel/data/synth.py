"""Offline synthetic speech corpus in the exact TIMIT layout, made with Debian's flite and festival.

Each utterance is a grammar sentence (``grammar.py``) spoken by one of the US-English voices of
``voices.py``; the engine reports every phone's end time, and those times become the ``.PHN`` sample
boundaries (CMU/radio phones mapped to TIMIT labels by the back-end's phone map; stops split into
closure + release at ``CLOSURE_FRACTION``). Word boundaries (``.WRD``) come from aligning each word's
``t2p`` pronunciation to the spoken phones.

A *speaker* is a voice with a mean F0, a speaking-rate stretch and an acoustic channel (formant warp,
reverberation, band limit; ``augment.py``); each utterance may get noise at a random SNR. Three groups:

* ``train`` (TRAIN): speakers of the training voices;
* ``test`` (TEST): speakers of the **held-out voices** — no TRAIN speaker uses them, nor any voice of the
  same recorded person (leave-voices-out); ``dev`` and ``core_test`` are drawn from them;
* ``test_seen`` (TEST): unseen settings of the training voices (the issue-3 style test).

``SYNTH.json`` at the root records every speaker's voice and settings, the split lists (read by
``timit.load_split``), each utterance's noise and the corpus's content hash. The corpus is written under
a temporary sibling directory and renamed into place when complete, so a killed run leaves no corpus;
``overwrite`` replaces an existing corpus as a whole. Everything is deterministic for a seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import tempfile
import wave
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rnnaccel.data import augment
from rnnaccel.data.audio import write_sphere
from rnnaccel.data.grammar import sentence
from rnnaccel.data.phones import CLOSURE_FRACTION
from rnnaccel.data.timit import MANIFEST_NAME
from rnnaccel.data.voices import BACKENDS, RATE_HZ, VOICES, Rendered, Request, require_voices, voice
from rnnaccel.data.wordalign import lexicon as _lex
from rnnaccel.data.wordalign import word_segments
from rnnaccel.io import atomic_output, process_alive, write_text_atomic

__all__ = [
    "HELDOUT_VOICES",
    "Speaker",
    "SynthReport",
    "Variation",
    "corpus_digest",
    "corpus_status",
    "make_speakers",
    "require_flite",
    "synthesize_corpus",
    "verify_corpus",
]

# Held out by default: two male US voices whose recorded person speaks no other voice (rms: flite
# clustergen; ked: festival diphone), so TEST differs from TRAIN in voice, person and engine mix.
HELDOUT_VOICES: tuple[str, ...] = ("rms", "ked_diphone")
_STRETCH = (0.85, 1.25)  # duration stretch range per speaker (speaking rate)
_BATCH = 20  # requests per synthesizer call (festival starts once per batch)
GENERATOR = "rnnaccel.data.synth/2"


@dataclass(frozen=True)
class Variation:
    """Acoustic variation ranges (all draws deterministic for the corpus seed); ``none()`` is clean."""

    warp: tuple[float, float] = (0.9, 1.1)  # formant warp α per speaker (VTLN-like)
    reverb_p: float = 0.3  # share of speakers in a reverberant room
    rt60_s: tuple[float, float] = (0.2, 0.6)
    band_p: float = 0.25  # share of speakers behind a band-limited channel
    band_low_hz: tuple[float, float] = (80.0, 300.0)
    band_high_hz: tuple[float, float] = (3400.0, 7000.0)
    noise_p: float = 0.6  # share of utterances with additive noise
    snr_db: tuple[float, float] = (10.0, 30.0)
    noise_kinds: tuple[str, ...] = augment.NOISE_KINDS

    @classmethod
    def none(cls) -> Variation:
        return cls((1.0, 1.0), 0.0, (0.2, 0.6), 0.0, (80.0, 300.0), (3400.0, 7000.0), 0.0)


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker: a voice, mean F0 (None: the voice ignores it), rate stretch and channel."""

    speaker_id: str
    voice: str
    f0_hz: float | None
    stretch: float
    split: str  # "TRAIN" or "TEST"
    dialect: int  # 1..8, only to fill the DR1..DR8 layout
    group: str = "train"  # "train" | "test" (held-out voice) | "test_seen" (training voice)
    channel: augment.Channel = field(default_factory=augment.Channel)


@dataclass(frozen=True)
class SynthReport:
    """What ``synthesize_corpus`` wrote (``removed_partial``: leftovers of killed runs it deleted)."""

    root: Path
    utterances: int
    train_speakers: int
    test_speakers: int
    dev_speakers: tuple[str, ...]
    core_test_speakers: tuple[str, ...]
    seconds_of_audio: float
    test_seen_speakers: tuple[str, ...] = ()
    heldout_voices: tuple[str, ...] = ()
    removed_partial: tuple[str, ...] = ()


def require_flite() -> str:
    """Path of the flite binary; RuntimeError telling how to install it when missing."""
    require_voices(["kal16"])
    return str(shutil.which("flite"))


def _check_voices(voices: tuple[str, ...], heldout: tuple[str, ...]) -> tuple[list[str], list[str]]:
    for name in (*voices, *heldout):
        voice(name)
    train = [v for v in voices if v not in heldout]
    if not train or not heldout:
        raise ValueError(f"need at least one training and one held-out voice, got voices {list(voices)} "
                         f"and held-out {list(heldout)}")
    people = {voice(v).person: v for v in train}
    for h in heldout:
        if voice(h).person in people:
            raise ValueError(f"held-out voice {h} is {voice(h).person}, who also speaks training voice "
                             f"{people[voice(h).person]}: hold out every voice of a person")
    return train, list(heldout)


_CODES = {"kal": "KAL", "kal16": "K16", "awb": "AWB", "rms": "RMS", "slt": "SLT", "kal_diphone": "KDP",
          "ked_diphone": "KED", "cmu_us_slt_arctic_hts": "SHT"}


def _channel(rng: random.Random, var: Variation) -> augment.Channel:
    alpha = rng.uniform(*var.warp)
    p, q = augment.warp_ratio(alpha)
    rt60 = round(rng.uniform(*var.rt60_s), 3) if rng.random() < var.reverb_p else None
    band = ((round(rng.uniform(*var.band_low_hz)), round(rng.uniform(*var.band_high_hz)))
            if rng.random() < var.band_p else None)
    return augment.Channel(round(p / q, 6), rt60, band)


def _speaker(j: int, name: str, group: str, seed: int, var: Variation) -> Speaker:
    rng = random.Random(f"{seed}:speaker:{j}")
    v = voice(name)
    f0 = round(rng.uniform(*v.f0_range_hz), 1) if v.f0_range_hz else None
    stretch = round(rng.uniform(*_STRETCH), 3)
    split = "TRAIN" if group == "train" else "TEST"
    return Speaker(f"{v.sex}{_CODES.get(name, name[:3].upper())}{j:03d}", name, f0, stretch, split, j % 8 + 1,
                   group, _channel(rng, var))


def make_speakers(n_train: int, n_test: int, seed: int, *, n_test_seen: int = 0,
                  voices: tuple[str, ...] = tuple(VOICES), heldout: tuple[str, ...] = HELDOUT_VOICES,
                  variation: Variation | None = None) -> list[Speaker]:
    """``n_train`` TRAIN speakers of the training voices, ``n_test`` TEST speakers of the held-out
    voices and ``n_test_seen`` TEST speakers of the training voices (voices round-robin, settings
    random). Raises ValueError when a held-out voice's person also speaks a training voice."""
    if n_train < 1 or n_test < 1 or n_test_seen < 0:
        raise ValueError(f"need at least one TRAIN and one TEST speaker, got {n_train} and {n_test}")
    train_v, held_v = _check_voices(voices, heldout)
    var = variation or Variation()
    groups = [("train", train_v, n_train), ("test", held_v, n_test), ("test_seen", train_v, n_test_seen)]
    out, j = [], 0
    for group, names, count in groups:
        for k in range(count):
            out.append(_speaker(j, names[k % len(names)], group, seed, var))
            j += 1
    return out


def _timit_segments(ends: list[tuple[str, int]], n: int, phone_map: dict) -> list[tuple[int, int, str, int]]:
    """(engine phone, end sample) -> TIMIT (start, end, label, index of the engine phone), clipped to n.

    The diphone voices cut the final pause short, so the last segments are clipped to the audio.
    """
    segs: list[tuple[int, int, str, int]] = []
    start = 0
    for k, (phone, end_s) in enumerate(ends):
        if phone not in phone_map:
            raise ValueError(f"the synthesizer produced phone {phone!r}, which has no TIMIT mapping")
        end = n if k == len(ends) - 1 else min(end_s, n)
        if end <= start:
            continue
        labels = phone_map[phone]
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


_Snr = float | None


@dataclass(frozen=True)
class _Options:
    seed: int
    snr_db: float | None
    audio_format: str
    lowercase: bool
    variation: Variation

    def name(self, s: str) -> str:
        return s.lower() if self.lowercase else s.upper()


@dataclass(frozen=True)
class _Job:
    index: int
    speaker: Speaker
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Clean:
    """One rendered, warped utterance before channel and noise: audio, (engine phone, end sample)."""

    job: _Job
    pcm: np.ndarray
    ends: list[tuple[str, int]]


def _write_text(path: Path, lines: list[str]) -> None:
    write_text_atomic(path, "".join(f"{line}\n" for line in lines))


def _write_riff(path: Path, pcm: np.ndarray, rate: int) -> None:
    with atomic_output(path, suffix=".wav") as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())


def _speaker_dir(root: Path, spk: Speaker, opts: _Options) -> Path:
    return root / opts.name(spk.split) / opts.name(f"DR{spk.dialect}") / opts.name(spk.speaker_id)


def _text(words: tuple[str, ...]) -> str:
    return " ".join(words).replace(" ,", ",").capitalize() + "."


def _request(spk: Speaker, words: tuple[str, ...]) -> Request:
    # Rendered ×α slower and F0/α lower, the warp (×α frequencies, /α durations) restores rate and F0.
    a = spk.channel.warp
    f0 = None if spk.f0_hz is None else round(spk.f0_hz / a, 2)
    return Request(_text(words), round(spk.stretch * a, 6), f0)


def _render_batch(batch: list[_Job], root: Path) -> list[_Clean]:
    v = voice(batch[0].speaker.voice)
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        rendered = BACKENDS[v.engine].render(v, [_request(j.speaker, j.words) for j in batch], Path(tmp))
    return [_warped(j, r) for j, r in zip(batch, rendered, strict=True)]


def _warped(job: _Job, r: Rendered) -> _Clean:
    ends = [min(round(t * RATE_HZ), r.pcm.size) for _, t in r.ends]
    pcm, ends = augment.warp(r.pcm, ends, job.speaker.channel.warp)
    return _Clean(job, pcm, [(p, e) for (p, _), e in zip(r.ends, ends, strict=True)])


def _noise_plan(job: _Job, opts: _Options) -> tuple[str | None, float | None]:
    if opts.snr_db is not None:
        return "white", opts.snr_db
    rng = random.Random(f"{opts.seed}:noise:{job.index}")
    var = opts.variation
    if rng.random() >= var.noise_p:
        return None, None
    return rng.choice(var.noise_kinds), round(rng.uniform(*var.snr_db), 2)


def _effects(c: _Clean, pool: list[np.ndarray], opts: _Options) -> tuple[np.ndarray, str | None, _Snr]:
    """Reverberation, then additive noise, then the band limit (a channel after the microphone)."""
    ch, rng = c.job.speaker.channel, np.random.default_rng([opts.seed, c.job.index])
    pcm = c.pcm
    if ch.rt60_s is not None:
        rir_rng = np.random.default_rng([opts.seed, 1_000_003, int(c.job.speaker.speaker_id[-3:])])
        pcm = augment.reverberate(pcm, augment.synthetic_rir(ch.rt60_s, rir_rng))
    kind, snr = _noise_plan(c.job, opts)
    if kind is not None and not (kind == "babble" and not pool):
        noise = (augment.babble(pool, pcm.size, rng) if kind == "babble"
                 else augment.coloured_noise(pcm.size, kind, rng))
        pcm = augment.add_noise(pcm, noise, snr)
    elif kind == "babble":
        kind, snr = None, None  # a one-speaker split has no other utterances to babble with
    if ch.band_hz is not None:
        pcm = augment.band_limit(pcm, ch.band_hz)
    return pcm, kind, snr


def _write_utterance(c: _Clean, pcm: np.ndarray, root: Path, lexicon: dict, opts: _Options) -> float:
    """Write one utterance's .WAV/.PHN/.WRD/.TXT; returns its duration in seconds."""
    job = c.job
    stem = _speaker_dir(root, job.speaker, opts) / opts.name(f"SX{job.index}")
    segs = _timit_segments(c.ends, pcm.size, BACKENDS[voice(job.speaker.voice).engine].phone_map)
    wav = stem.with_name(stem.name + opts.name(".wav"))
    if opts.audio_format == "sphere":
        write_sphere(wav, pcm, RATE_HZ)
    else:
        _write_riff(wav, pcm, RATE_HZ)
    _write_text(stem.with_name(stem.name + opts.name(".phn")), [f"{s} {e} {p}" for s, e, p, _ in segs])
    wrd = word_segments([w for w in job.words if w != ","], lexicon, c.ends, segs)
    _write_text(stem.with_name(stem.name + opts.name(".wrd")), [f"{s} {e} {w}" for s, e, w in wrd])
    _write_text(stem.with_name(stem.name + opts.name(".txt")), [f"0 {pcm.size} {_text(job.words)}"])
    return pcm.size / RATE_HZ


def _group_counts(n_spk: int, test_fraction: float, seen_fraction: float) -> tuple[int, int, int]:
    n_test = max(1, round(test_fraction * n_spk))
    n_seen = round(seen_fraction * n_spk) if n_spk - n_test - round(seen_fraction * n_spk) >= 1 else 0
    return n_spk - n_test - n_seen, n_test, n_seen


def _plan(utterances: int, per_speaker: int, test_fraction: float, seen_fraction: float, seed: int,
          voices: tuple[str, ...], heldout: tuple[str, ...], variation: Variation) -> list[_Job]:
    n_spk = max(2, -(-utterances // per_speaker))
    n_train, n_test, n_seen = _group_counts(n_spk, test_fraction, seen_fraction)
    speakers = make_speakers(n_train, n_test, seed, n_test_seen=n_seen, voices=voices, heldout=heldout,
                             variation=variation)
    # Utterance i goes to speaker i mod n_spk: every speaker gets about per_speaker sentences.
    return [_Job(i, speakers[i % n_spk], tuple(sentence(random.Random(f"{seed}:utt:{i}"))))
            for i in range(utterances)]


def _validate(utterances: int, per_speaker: int, test_fraction: float, seen_fraction: float,
              audio_format: str) -> None:
    if utterances < 2:
        raise ValueError(f"utterances must be >= 2 (one TRAIN and one TEST), got {utterances}")
    if per_speaker < 1:
        raise ValueError(f"per_speaker must be >= 1, got {per_speaker}")
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    if not 0.0 <= seen_fraction < 1.0 - test_fraction:
        raise ValueError(f"seen_test_fraction must be in [0, 1 - test_fraction), got {seen_fraction}")
    if audio_format not in ("sphere", "riff"):
        raise ValueError(f"audio_format must be 'sphere' or 'riff', got {audio_format!r}")


def corpus_digest(root: str | Path) -> str:
    """SHA-256 over every file of the corpus (relative path and bytes) except ``SYNTH.json``."""
    root, h = Path(root), hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST_NAME):
        h.update(f"{path.relative_to(root).as_posix()}\0".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def verify_corpus(root: str | Path) -> dict:
    """The manifest of a complete synthetic corpus; ValueError when it is missing, from an older
    generator, or the files no longer match its content hash."""
    path = Path(root) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a complete synthetic corpus ({exc})") from None
    if not isinstance(data, dict) or data.get("generator") != GENERATOR or "content_sha256" not in data:
        found = data.get("generator") if isinstance(data, dict) else None
        raise ValueError(f"{path}: made by another version of rnnaccel (generator {found!r}, expected "
                         f"{GENERATOR!r}); rebuild it with `rnnaccel data synth {root} --overwrite`")
    if corpus_digest(root) != data["content_sha256"]:
        raise ValueError(f"{root}: corpus files were modified or damaged (content hash differs from "
                         f"{MANIFEST_NAME}); rebuild it with `rnnaccel data synth {root} --overwrite`")
    return data


def corpus_status(root: str | Path, utterances: int, seed: int) -> str:
    """'absent' (missing or empty: synthesize it), 'synthetic' (complete, intact, made with these
    settings) or 'foreign' (a TIMIT-layout tree not made here: used as it is). ValueError when a
    synthetic corpus is damaged, from an older generator or made with other settings."""
    root = Path(root)
    if not root.is_dir() or not any(root.iterdir()):
        return "absent"
    manifest = root / MANIFEST_NAME
    if not manifest.is_file() or '"rnnaccel.data.synth' not in manifest.read_text(errors="replace"):
        return "foreign"
    data = verify_corpus(root)
    made = (data.get("utterances"), data.get("seed"))
    if made != (utterances, seed):
        raise ValueError(f"{root}: corpus was synthesized with utterances={made[0]}, seed={made[1]}, the "
                         f"config asks for utterances={utterances}, seed={seed}; rebuild it with `rnnaccel "
                         f"data synth {root} -n {utterances} --seed {seed} --overwrite` or change the config")
    return "synthetic"


def _split_lists(speakers: list[Speaker]) -> dict[str, list[str]]:
    held = [s.speaker_id for s in speakers if s.group == "test"]
    # With a single held-out speaker (tiny corpora) dev and core_test are both that speaker.
    n_dev = max(1, round(0.3 * len(held)))
    n_core = max(1, min(len(held) - n_dev, round(0.15 * len(held))))
    return {"dev_speakers": held[:n_dev], "core_test_speakers": held[n_dev : n_dev + n_core] or held[:1],
            "test_speakers": held,
            "test_seen_speakers": [s.speaker_id for s in speakers if s.group == "test_seen"]}


def _manifest(root: Path, jobs: list[_Job], opts: _Options, noise: dict[str, dict]) -> dict[str, list[str]]:
    speakers = sorted({j.speaker for j in jobs}, key=lambda s: s.speaker_id[-3:])  # draw order
    lists = _split_lists(speakers)
    held = sorted({s.voice for s in speakers if s.group == "test"})
    data = {"generator": GENERATOR, "seed": opts.seed, "utterances": len(jobs), "snr_db": opts.snr_db,
            "heldout_voices": held, "train_voices": sorted({s.voice for s in speakers if s.group == "train"}),
            **lists, "variation": asdict(opts.variation), "speakers": [asdict(s) for s in speakers],
            "noise": noise, "content_sha256": corpus_digest(root)}
    _write_text(root / MANIFEST_NAME, [json.dumps(data, indent=1)])
    return {**lists, "heldout_voices": held}


def _stale_partials(root: Path) -> list[Path]:
    """Temporary directories of earlier runs for ``root`` whose process is gone."""
    out = []
    for p in root.parent.glob(f".{root.name}.partial-*"):
        pid = p.name.rpartition("-")[2]
        if not pid.isdigit() or not process_alive(int(pid)):
            out.append(p)
    return out


def _install(tmp: Path, root: Path) -> None:
    """Swap the finished corpus into place (an existing one is replaced as a whole)."""
    old = root.parent / f".{root.name}.old-{os.getpid()}"
    if root.exists():
        os.replace(root, old)
    os.replace(tmp, root)
    shutil.rmtree(old, ignore_errors=True)


def _run_pool(fn: Callable, items: list, jobs: int, bar: object | None, weight: Callable) -> list:
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        out = []
        for item, result in zip(items, pool.map(fn, items), strict=True):
            out.append(result)
            if bar is not None:
                bar.update(weight(item))
    return out


def _batches(plan: list[_Job]) -> list[list[_Job]]:
    by_voice: dict[str, list[_Job]] = {}
    for j in plan:
        by_voice.setdefault(j.speaker.voice, []).append(j)
    return [js[b : b + _BATCH] for js in by_voice.values() for b in range(0, len(js), _BATCH)]


def _synthesize(plan: list[_Job], tmp: Path, opts: _Options, jobs: int, progress: bool) -> tuple[float, dict]:
    lexicon = _lex({w for j in plan for w in j.words if w != ","})
    bar = _bar(progress, 2 * len(plan))
    rendered = _run_pool(lambda b: _render_batch(b, tmp), _batches(plan), jobs, bar, len)
    clean = sorted((c for cs in rendered for c in cs), key=lambda c: c.job.index)

    def finish(c: _Clean) -> tuple[float, str | None, _Snr]:
        # Babble from other speakers of the same split (TRAIN never hears a held-out voice).
        spk = c.job.speaker
        others = [o.pcm for o in clean if o.job.speaker.split == spk.split and o.job.speaker != spk]
        pcm, kind, snr = _effects(c, others, opts)
        return _write_utterance(c, pcm, tmp, lexicon, opts), kind, snr

    done = _run_pool(finish, clean, jobs, bar, lambda _c: 1)
    if bar is not None:
        bar.close()
    noise = {f"{c.job.speaker.speaker_id}_SX{c.job.index}": {"noise": k, "snr_db": s}
             for c, (_, k, s) in zip(clean, done, strict=True) if k is not None}
    return sum(d[0] for d in done), noise


def _bar(progress: bool, total: int) -> object | None:
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="synth", unit="step", dynamic_ncols=True, disable=None)  # TTY only


def _prepare(root: Path, overwrite: bool) -> tuple[Path, list[str]]:
    if root.exists() and not root.is_dir():
        raise ValueError(f"{root}: output path exists and is not a directory")
    if root.exists() and any(root.iterdir()) and not overwrite:
        raise ValueError(f"{root}: output directory is not empty (pass overwrite=True / --overwrite)")
    root.parent.mkdir(parents=True, exist_ok=True)
    removed = []
    for stale in _stale_partials(root):
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(str(stale))
    tmp = root.parent / f".{root.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    return tmp, removed


def synthesize_corpus(out: str | Path, utterances: int = 2000, *, seed: int = 0, snr_db: float | None = None,
                      per_speaker: int = 10, test_fraction: float = 0.2, seen_test_fraction: float = 0.1,
                      voices: tuple[str, ...] = tuple(VOICES), heldout: tuple[str, ...] = HELDOUT_VOICES,
                      variation: Variation | None = None, audio_format: str = "sphere",
                      lowercase: bool = False, jobs: int = 2, overwrite: bool = False,
                      progress: bool = False) -> SynthReport:
    """Write a TIMIT-layout corpus of ``utterances`` synthesized sentences under ``out``.

    ``per_speaker`` sentences per speaker (TIMIT has 10); ``test_fraction`` of the speakers speak the
    ``heldout`` voices (TEST; 30% / 15% of them are dev / core_test), ``seen_test_fraction`` are TEST
    speakers of the training voices (split ``test_seen``), the rest TRAIN. ``variation`` (default
    ``Variation()``; ``Variation.none()`` for clean speech) draws channels and noise; ``snr_db`` instead
    gives every utterance white noise at that SNR. ``audio_format`` 'sphere' (as LDC) or 'riff';
    ``lowercase`` names; ``progress`` shows a tqdm bar (stderr).
    """
    _validate(utterances, per_speaker, test_fraction, seen_test_fraction, audio_format)
    if snr_db is not None and not np.isfinite(snr_db):
        raise ValueError(f"snr_db must be a finite number of dB, got {snr_db}")
    root = Path(out)
    var = variation or Variation()
    plan = _plan(utterances, per_speaker, test_fraction, seen_test_fraction, seed, voices, heldout, var)
    require_voices(sorted({j.speaker.voice for j in plan}))
    tmp, removed = _prepare(root, overwrite)
    opts = _Options(seed, snr_db, audio_format, lowercase, var)
    try:
        for spk in {j.speaker for j in plan}:
            _speaker_dir(tmp, spk, opts).mkdir(parents=True, exist_ok=True)
        seconds, noise = _synthesize(plan, tmp, opts, jobs, progress)
        lists = _manifest(tmp, plan, opts, noise)
        _install(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n_train = len({j.speaker for j in plan if j.speaker.split == "TRAIN"})
    return SynthReport(root, len(plan), n_train, len({j.speaker for j in plan}) - n_train,
                       tuple(lists["dev_speakers"]), tuple(lists["core_test_speakers"]), round(seconds, 2),
                       tuple(lists["test_seen_speakers"]), tuple(lists["heldout_voices"]), tuple(removed))
