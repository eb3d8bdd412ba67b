"""Synthesizer back-ends and the US-English voices Debian packages, for the synthetic corpus.

A back-end is a small class registered explicitly in ``BACKENDS`` (no discovery): it says whether a
voice is installed (``missing``) and renders a batch of requests to 16 kHz int16 audio plus every phone's
end time (``render``). Two engines are registered:

* ``flite`` (package ``flite``): ``flite -voice V -psdur`` prints ``phone:end`` in seconds; rate via
  ``duration_stretch``, pitch via ``int_f0_target_mean``. Voices kal (8 kHz diphone), kal16 (16 kHz
  diphone), awb, rms, slt (clustergen). ``awb_time`` is left out: a limited-domain voice that can only
  say clock times (it renders arbitrary text as a few stray phones).
* ``festival`` (``festival`` + ``festlex-cmu`` + the voice's ``festvox-*`` package): one ``festival -b``
  process per batch; ``(utt.save.segs utt F)`` writes each segment's end time (the radio phone set: the
  CMU phones plus ax axr dx el em en hv nx, all TIMIT labels). Rate via ``Duration_Stretch``; pitch of
  the diphone voices via ``int_lr_params`` ``target_f0_mean``; the HTS voice (32 kHz) ignores F0 targets.

Audio at another rate is resampled to 16 kHz with ``scipy.signal.resample_poly``; phone times are in
seconds, so they are unaffected.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from rnnaccel.data.phones import CMU_TO_TIMIT

__all__ = [
    "BACKENDS",
    "RATE_HZ",
    "VOICES",
    "Backend",
    "FestivalBackend",
    "FliteBackend",
    "Rendered",
    "Request",
    "Voice",
    "require_voices",
    "voice",
]

RATE_HZ = 16000  # every corpus utterance is 16 kHz, as TIMIT


@dataclass(frozen=True)
class Voice:
    """One synthesizer voice. ``person`` is the recorded human behind it (kal16 and kal_diphone are both
    Kal), used to keep held-out voices really unseen; ``f0_range_hz`` None: the voice ignores F0 targets."""

    name: str
    engine: str
    person: str
    sex: str
    f0_range_hz: tuple[float, float] | None
    package: str


@dataclass(frozen=True)
class Request:
    """What to say and how: ``stretch`` scales phone durations, ``f0_hz`` the mean pitch (or None)."""

    text: str
    stretch: float
    f0_hz: float | None


@dataclass(frozen=True)
class Rendered:
    """16 kHz int16 audio and the engine's (phone, end time in seconds) list."""

    pcm: np.ndarray
    ends: list[tuple[str, float]]


_MALE, _FEMALE = (85.0, 140.0), (150.0, 230.0)
VOICES: Mapping[str, Voice] = MappingProxyType({v.name: v for v in (
    Voice("kal", "flite", "kal", "M", _MALE, "flite"),
    Voice("kal16", "flite", "kal", "M", _MALE, "flite"),
    Voice("awb", "flite", "awb", "M", _MALE, "flite"),
    Voice("rms", "flite", "rms", "M", None, "flite"),  # rms ignores int_f0_target_mean (measured)
    Voice("slt", "flite", "slt", "F", _FEMALE, "flite"),
    Voice("kal_diphone", "festival", "kal", "M", _MALE, "festvox-kallpc16k"),
    Voice("ked_diphone", "festival", "ked", "M", _MALE, "festvox-kdlpc16k"),
    Voice("cmu_us_slt_arctic_hts", "festival", "slt", "F", None, "festvox-us-slt-hts"),
)})


def voice(name: str) -> Voice:
    """The voice called ``name``; ValueError listing the known voices otherwise."""
    if name not in VOICES:
        raise ValueError(f"unknown voice {name!r}; known voices: {', '.join(VOICES)}")
    return VOICES[name]


def _run(cmd: list[str], package: str, timeout_s: float) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=timeout_s)
    except FileNotFoundError:
        raise RuntimeError(f"{cmd[0]} is not installed; install it with "
                           f"`apt-get install -y {package}`") from None
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{cmd[0]} failed ({exc.returncode}): {exc.stderr.strip()[-500:]}") from None
    return done.stdout


def _read_wav(path: Path) -> np.ndarray:
    """A mono 16-bit RIFF file as int16 at 16 kHz (resampled when the engine wrote another rate)."""
    with wave.open(str(path), "rb") as w:
        pcm, rate = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()
    return _to_16k(pcm, rate)


def _to_16k(pcm: np.ndarray, rate: int) -> np.ndarray:
    if rate == RATE_HZ:
        return pcm.astype(np.int16)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(RATE_HZ, rate)
    y = resample_poly(pcm.astype(np.float64), RATE_HZ // g, rate // g)
    return np.clip(np.round(y), -32768, 32767).astype(np.int16)


class Backend:
    """A synthesizer engine: ``name``, the phone map onto TIMIT labels, ``missing`` and ``render``."""

    name = ""
    binary = ""
    phone_map: Mapping[str, tuple[str, ...]] = CMU_TO_TIMIT

    def missing(self, v: Voice) -> str | None:
        """None when ``v`` can be used, else a message naming the Debian package to install."""
        if shutil.which(self.binary) is None:
            return f"{self.binary} is not installed; install it with `apt-get install -y {self.binary}`"
        return None

    def render(self, v: Voice, requests: Sequence[Request], workdir: Path) -> list[Rendered]:
        """Synthesize ``requests`` with voice ``v`` (temporary files under ``workdir``)."""
        raise NotImplementedError


class FliteBackend(Backend):
    """Debian's flite; one process per utterance (about 25 per second)."""

    name = "flite"
    binary = "flite"

    def missing(self, v: Voice) -> str | None:
        if shutil.which("flite") is None or shutil.which("t2p") is None:
            return "flite is not installed; install it with `apt-get install -y flite` (Debian/Ubuntu)"
        return None

    def render(self, v: Voice, requests: Sequence[Request], workdir: Path) -> list[Rendered]:
        return [self._one(v, r, workdir / f"u{i}.wav") for i, r in enumerate(requests)]

    @staticmethod
    def _one(v: Voice, r: Request, wav: Path) -> Rendered:
        cmd = ["flite", "-voice", v.name, "-psdur", "--setf", f"duration_stretch={r.stretch}"]
        if r.f0_hz is not None:
            cmd += ["--setf", f"int_f0_target_mean={r.f0_hz}"]
        out = _run([*cmd, "-t", r.text, "-o", str(wav)], "flite", 60)
        ends = [(tok.rpartition(":")[0], float(tok.rpartition(":")[2])) for tok in out.split()]
        return Rendered(_read_wav(wav), ends)


# Festival's radio phone set = the CMU phones plus these, each already a TIMIT label.
_RADIO_EXTRA = {p: (p,) for p in ("ax", "axr", "dx", "el", "em", "en", "hv", "nx")}
_FESTIVAL_DIRS = ("/usr/share/festival/voices/english", "/usr/share/festival/voices/us")


class FestivalBackend(Backend):
    """Festival 2.5 with the Debian voices; one ``festival -b`` process renders a whole batch."""

    name = "festival"
    binary = "festival"
    phone_map = MappingProxyType({**CMU_TO_TIMIT, **_RADIO_EXTRA})

    def missing(self, v: Voice) -> str | None:
        if shutil.which("festival") is None:
            return "festival is not installed; install it with `apt-get install -y festival festlex-cmu`"
        if not any((Path(d) / v.name).is_dir() for d in _FESTIVAL_DIRS):
            return (f"festival voice {v.name} is not installed; install it with "
                    f"`apt-get install -y {v.package}`")
        return None

    def render(self, v: Voice, requests: Sequence[Request], workdir: Path) -> list[Rendered]:
        script = workdir / "batch.scm"
        script.write_text("\n".join(self._script(v, requests, workdir)) + "\n")
        _run(["festival", "-b", str(script)], v.package, 60 + 5 * len(requests))
        return [Rendered(_read_wav(workdir / f"u{i}.wav"), self._segs(workdir / f"u{i}.lab"))
                for i in range(len(requests))]

    @staticmethod
    def _script(v: Voice, requests: Sequence[Request], workdir: Path) -> list[str]:
        lines = [f"(voice_{v.name})"]
        for i, r in enumerate(requests):
            if r.f0_hz is not None:  # the diphone voices' linear-regression intonation model
                lines.append(f"(set! int_lr_params '((target_f0_mean {r.f0_hz}) (target_f0_std 14) "
                             "(model_f0_mean 170) (model_f0_std 34)))")
            text = r.text.replace("\\", " ").replace('"', " ")
            lines += [f"(Parameter.set 'Duration_Stretch {r.stretch})", f'(set! utt (SynthText "{text}"))',
                      f'(utt.save.segs utt "{workdir / f"u{i}.lab"}")',
                      f'(utt.save.wave utt "{workdir / f"u{i}.wav"}" \'riff)']
        return lines

    @staticmethod
    def _segs(path: Path) -> list[tuple[str, float]]:
        """``utt.save.segs`` lines after the ``#`` header: 'end_s 100 phone'."""
        lines = path.read_text().splitlines()
        body = lines[lines.index("#") + 1 :] if "#" in lines else lines
        return [(parts[2], float(parts[0])) for parts in (line.split() for line in body) if len(parts) == 3]


BACKENDS: Mapping[str, Backend] = MappingProxyType({b.name: b for b in (FliteBackend(), FestivalBackend())})


def require_voices(names: Sequence[str]) -> None:
    """RuntimeError naming every unusable voice and the package that provides it."""
    problems = sorted({m for n in names if (m := BACKENDS[voice(n).engine].missing(voice(n))) is not None})
    if problems:
        raise RuntimeError("; ".join(problems))
