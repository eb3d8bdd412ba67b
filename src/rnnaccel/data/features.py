"""Acoustic features with torch: MFCC (13 + Δ + ΔΔ = 39) and log-mel filterbanks (40 + Δ + ΔΔ = 120).

The MFCC follows the E-RNN training setup (authors' code, papers.md): 25 ms Hamming window, 10 ms hop,
pre-emphasis 0.97, 512-point FFT, 26 HTK-mel triangular filters, log, orthonormal DCT-II keeping 13
cepstra, cepstral lifter 22 and c0 replaced by the log frame energy (python_speech_features'
convention; the window, lifter and energy choices are assumed). Deltas use the HTK regression
d_t = Σ_n n (c_{t+n} − c_{t−n}) / (2 Σ_n n²), n = 1..2, with edge frames repeated.
Frame t covers samples [t·hop, t·hop + win) and is labelled with the phone at its centre.
``cmvn = "utterance"`` then normalizes every dimension to zero mean and unit variance over the
utterance's own frames (per-utterance cepstral mean/variance normalization, a standard remedy for
speaker and channel mismatch: a voice's or channel's constant spectral tilt lands in the cepstral means).
Features of a split are cached on disk (safetensors) under a key hashing the settings and the
*contents* of the split's audio and phone files (``split_digest``); the cache file's metadata stores
that key and a SHA-256 of its own tensors, so a truncated or overwritten cache is detected, reported
with a ``CacheWarning`` and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from rnnaccel.data.phones import phone_index
from rnnaccel.data.timit import Utterance, list_split, load_utterance
from rnnaccel.io import atomic_output

__all__ = [
    "CacheWarning",
    "FeatureSettings",
    "FeatureStats",
    "SplitFeatures",
    "compute_features",
    "deltas",
    "frame_labels",
    "load_features",
    "mel_filterbank",
    "split_digest",
    "utterance_cmvn",
    "warp_features",
    "warp_matrix",
]


class CacheWarning(UserWarning):
    """A feature cache was damaged or unreadable and is being rebuilt."""


@dataclass(frozen=True)
class FeatureSettings:
    """Feature extraction settings; ``kind`` is 'mfcc' (13 cepstra) or 'fbank' (40 log-mel)."""

    kind: str = "mfcc"
    sample_rate_hz: int = 16000
    win_ms: float = 25.0
    hop_ms: float = 10.0
    preemphasis: float = 0.97
    n_fft: int = 512
    n_mels: int = 26
    n_ceps: int = 13
    lifter: int = 22
    delta_order: int = 2
    cmvn: str = "none"  # "none" | "utterance" (per-utterance mean/variance normalization)

    def __post_init__(self) -> None:
        if self.cmvn not in ("none", "utterance"):
            raise ValueError(f"cmvn must be 'none' or 'utterance', got {self.cmvn!r}")
        if self.kind not in ("mfcc", "fbank"):
            raise ValueError(f"feature kind must be 'mfcc' or 'fbank', got {self.kind!r}")
        if self.win_samples > self.n_fft or self.hop_samples < 1:
            raise ValueError(f"window {self.win_samples} samples must fit n_fft {self.n_fft}, hop >= 1")
        if self.kind == "mfcc" and not 1 <= self.n_ceps <= self.n_mels:
            raise ValueError(f"n_ceps must be in 1..n_mels={self.n_mels}, got {self.n_ceps}")
        if self.delta_order not in (0, 1, 2):
            raise ValueError(f"delta_order must be 0, 1 or 2, got {self.delta_order}")

    @property
    def win_samples(self) -> int:
        return round(self.sample_rate_hz * self.win_ms / 1000)

    @property
    def hop_samples(self) -> int:
        return round(self.sample_rate_hz * self.hop_ms / 1000)

    @property
    def dim(self) -> int:
        base = self.n_ceps if self.kind == "mfcc" else self.n_mels
        return base * (1 + self.delta_order)


def mel_filterbank(n_mels: int, n_fft: int, sample_rate_hz: int) -> torch.Tensor:
    """(n_mels, n_fft//2+1) triangular filters equally spaced on the HTK mel scale 2595·log10(1+f/700)."""
    top = 2595.0 * math.log10(1.0 + sample_rate_hz / 2 / 700.0)
    mel_pts = torch.linspace(0.0, top, n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10 ** (mel_pts / 2595.0) - 1.0)
    bins = torch.linspace(0.0, sample_rate_hz / 2, n_fft // 2 + 1, dtype=torch.float64)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    rise, fall = (bins - lo) / (mid - lo), (hi - bins) / (hi - mid)
    return torch.clamp(torch.minimum(rise, fall), min=0.0).to(torch.float32)


def deltas(feats: torch.Tensor, width: int = 2) -> torch.Tensor:
    """HTK regression deltas over time (dim 0) with repeated edge frames."""
    padded = torch.cat([feats[:1].expand(width, -1), feats, feats[-1:].expand(width, -1)])
    t = feats.shape[0]
    num = sum(n * (padded[width + n : width + n + t] - padded[width - n : width - n + t])
              for n in range(1, width + 1))
    return num / (2 * sum(n * n for n in range(1, width + 1)))


def _frames(samples: torch.Tensor, s: FeatureSettings) -> torch.Tensor:
    x = torch.cat([samples[:1], samples[1:] - s.preemphasis * samples[:-1]])
    if x.numel() < s.win_samples:
        x = torch.nn.functional.pad(x, (0, s.win_samples - x.numel()))
    return x.unfold(0, s.win_samples, s.hop_samples) * torch.hamming_window(s.win_samples, periodic=False)


def _dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    k, m = torch.arange(n_out, dtype=torch.float64)[:, None], torch.arange(n_in, dtype=torch.float64)
    d = torch.cos(math.pi * k * (m + 0.5) / n_in) * math.sqrt(2.0 / n_in)
    d[0] /= math.sqrt(2.0)
    return d.to(torch.float32)


def compute_features(samples: np.ndarray | torch.Tensor, settings: FeatureSettings) -> torch.Tensor:
    """(T, settings.dim) float32 features of one float waveform (normalized per utterance only with
    ``settings.cmvn == "utterance"``)."""
    x = torch.as_tensor(np.asarray(samples), dtype=torch.float32)
    frames = _frames(x, settings)
    power = torch.fft.rfft(frames, n=settings.n_fft).abs() ** 2 / settings.n_fft
    logmel = torch.log(torch.clamp(power @ mel_filterbank(settings.n_mels, settings.n_fft,
                                                           settings.sample_rate_hz).T, min=1e-10))
    base = logmel if settings.kind == "fbank" else _cepstra(logmel, power, settings)
    parts = [base]
    for _ in range(settings.delta_order):
        parts.append(deltas(parts[-1]))
    feats = torch.cat(parts, dim=1)
    return utterance_cmvn(feats) if settings.cmvn == "utterance" else feats


def utterance_cmvn(feats: torch.Tensor) -> torch.Tensor:
    """Each dimension of (T, D) ``feats`` shifted to zero mean and scaled to unit variance over the
    T frames (float64 statistics; a constant dimension is only centred)."""
    x = feats.to(torch.float64)
    std = x.std(dim=0, unbiased=False).clamp(min=1e-5)
    return ((x - x.mean(dim=0)) / std).to(feats.dtype)


def _mel_warp(n_mels: int, sample_rate_hz: int, alpha: float) -> torch.Tensor:
    """(n_mels, n_mels) linear interpolation moving the log-mel spectrum's frequencies by ``alpha``:
    output filter m takes the input at frequency f_m / alpha (f_m its centre; clamped to the first and
    last filter), so a formant at F moves to alpha·F. Rows sum to 1."""
    top = 2595.0 * math.log10(1.0 + sample_rate_hz / 2 / 700.0)
    step = top / (n_mels + 1)  # filter centres are equally spaced on the mel scale
    centres_mel = step * torch.arange(1, n_mels + 1, dtype=torch.float64)
    src_hz = 700.0 * (10 ** (centres_mel / 2595.0) - 1.0) / alpha
    pos = (2595.0 * torch.log10(1.0 + src_hz / 700.0) / step - 1.0).clamp(0.0, n_mels - 1.0)
    lo = pos.floor().long().clamp(max=n_mels - 2)
    frac = pos - lo
    w = torch.zeros(n_mels, n_mels, dtype=torch.float64)
    rows = torch.arange(n_mels)
    w[rows, lo] = 1.0 - frac
    w[rows, lo + 1] += frac
    return w


def warp_matrix(settings: FeatureSettings, alpha: float) -> torch.Tensor:
    """(base, base) float64 matrix M with ``warped = frame @ M.T`` for one base block of ``settings``
    (the 13 liftered cepstra with c0 = log energy, or the n_mels log-mel): vocal-tract-length
    perturbation (VTLP, Jaitly & Hinton 2013) in the feature domain, formants moved by ``alpha``.
    For MFCC the cepstra c1.. are un-liftered, mapped back to the (smoothed) log-mel spectrum with the
    orthonormal DCT's transpose, warped, and transformed again; c0 (energy) is kept: a constant log-mel
    offset stays constant under the warp, so c0 and c1.. do not mix. ``alpha = 1`` is the identity."""
    if not 0.5 <= alpha <= 2.0:
        raise ValueError(f"warp factor must be in [0.5, 2], got {alpha}")
    base = settings.n_mels if settings.kind == "fbank" else settings.n_ceps
    if alpha == 1.0:
        return torch.eye(base, dtype=torch.float64)
    w = _mel_warp(settings.n_mels, settings.sample_rate_hz, alpha)
    if settings.kind == "fbank":
        return w
    d = _dct_matrix(settings.n_mels, settings.n_ceps).to(torch.float64)[1:]
    n = torch.arange(1, settings.n_ceps, dtype=torch.float64)
    lift = 1.0 + settings.lifter / 2.0 * torch.sin(math.pi * n / settings.lifter) if settings.lifter > 0 \
        else torch.ones_like(n)
    m = torch.eye(settings.n_ceps, dtype=torch.float64)
    m[1:, 1:] = lift[:, None] * (d @ w @ d.T) / lift[None, :]
    return m


def warp_features(feats: torch.Tensor, settings: FeatureSettings, alpha: float) -> torch.Tensor:
    """Un-normalized (T, dim) features of ``settings`` with every block (base, Δ, ΔΔ) warped by
    :func:`warp_matrix` (exact for the deltas: the warp is linear per frame, deltas linear in time)."""
    m = warp_matrix(settings, alpha).to(feats.dtype)
    base = m.shape[0]
    return torch.cat([feats[:, i : i + base] @ m.T for i in range(0, feats.shape[1], base)], dim=1)


def _cepstra(logmel: torch.Tensor, power: torch.Tensor, s: FeatureSettings) -> torch.Tensor:
    ceps = logmel @ _dct_matrix(s.n_mels, s.n_ceps).T
    n = torch.arange(s.n_ceps, dtype=torch.float32)
    ceps = ceps * (1.0 + s.lifter / 2.0 * torch.sin(math.pi * n / s.lifter)) if s.lifter > 0 else ceps
    ceps[:, 0] = torch.log(torch.clamp(power.sum(dim=1), min=1e-10))  # c0 -> log frame energy
    return ceps


def frame_labels(utt: Utterance, n_frames: int, settings: FeatureSettings) -> np.ndarray:
    """Phone class (0..60) of each frame: the segment containing the frame's centre sample."""
    centres = np.arange(n_frames) * settings.hop_samples + settings.win_samples // 2
    starts = np.array([s for s, _, _ in utt.phones])
    classes = np.array([phone_index(p) for _, _, p in utt.phones])
    return classes[np.clip(np.searchsorted(starts, centres, side="right") - 1, 0, len(starts) - 1)]


@dataclass(frozen=True)
class FeatureStats:
    """Per-dimension mean and standard deviation (computed on the training split) for normalization."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def of(cls, feats: list[np.ndarray]) -> FeatureStats:
        allf = np.concatenate(feats).astype(np.float64)
        return cls(allf.mean(0).astype(np.float32), np.maximum(allf.std(0), 1e-5).astype(np.float32))

    def apply(self, feats: np.ndarray) -> np.ndarray:
        return ((feats - self.mean) / self.std).astype(np.float32)


@dataclass(frozen=True)
class SplitFeatures:
    """Un-normalized features of a split: per utterance (T, D) features, (T,) frame classes and the
    phone class sequence (for CTC)."""

    utt_ids: list[str]
    feats: list[np.ndarray]
    frames: list[np.ndarray]
    phones: list[np.ndarray]


def split_digest(root: str | Path, split: str) -> str:
    """SHA-256 of a split's utterance ids and the bytes of their audio and phone files."""
    digest = hashlib.sha256()
    for u in list_split(root, split):
        digest.update(u.utt_id.encode() + b"\0")
        for path in (u.wav, u.phn):
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
            digest.update(len(data).to_bytes(8, "little") + data)
    return digest.hexdigest()


def _cache_key(root: Path, split: str, settings: FeatureSettings) -> str:
    blob = json.dumps({"split": split, "settings": asdict(settings), "data": split_digest(root, split)},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _tensor_digest(tensors: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{arr.dtype.str}:{arr.shape};".encode() + arr.tobytes())
    return digest.hexdigest()


def _extract(root: Path, split: str, settings: FeatureSettings) -> SplitFeatures:
    out = SplitFeatures([], [], [], [])
    for files in list_split(root, split):
        utt = load_utterance(files)
        if utt.sample_rate != settings.sample_rate_hz:
            raise ValueError(f"{files.wav}: sample rate {utt.sample_rate} Hz, features expect "
                             f"{settings.sample_rate_hz} Hz")
        feats = compute_features(utt.samples, settings).numpy()
        out.utt_ids.append(utt.utt_id)
        out.feats.append(feats)
        out.frames.append(frame_labels(utt, feats.shape[0], settings).astype(np.int64))
        out.phones.append(np.array([phone_index(p) for _, _, p in utt.phones], dtype=np.int64))
    return out


def _tensors(data: SplitFeatures) -> dict[str, np.ndarray]:
    return {f"{u}/{name}": arr for u, f, fr, ph in zip(data.utt_ids, data.feats, data.frames, data.phones,
                                                       strict=True)
            for name, arr in (("feats", f), ("frames", fr), ("phones", ph))}


def _save(path: Path, data: SplitFeatures, key: str) -> None:
    from safetensors.numpy import save_file

    tensors = _tensors(data)
    meta = {"utt_ids": json.dumps(data.utt_ids), "key": key, "sha256": _tensor_digest(tensors)}
    with atomic_output(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _load(path: Path, key: str) -> SplitFeatures:
    """The cached features; ValueError saying what is wrong when the file is damaged or foreign."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            ids = json.loads(meta["utt_ids"])
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ValueError(f"unreadable ({type(exc).__name__})") from None
    if meta.get("key") != key:
        raise ValueError("made from other data or settings")
    if meta.get("sha256") != _tensor_digest(tensors):
        raise ValueError("content does not match its SHA-256")
    try:
        parts = [[tensors[f"{u}/{n}"] for u in ids] for n in ("feats", "frames", "phones")]
    except (KeyError, TypeError):
        raise ValueError("utterance list does not match its tensors") from None
    return SplitFeatures(ids, *parts)


def _cache_path(cache_dir: Path, name: str) -> Path:
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cache_dir {str(cache_dir)!r}: cannot create the feature cache directory "
                         f"({exc.strerror}); expected a writable directory") from None
    return cache_dir / name


def load_features(root: str | Path, split: str, settings: FeatureSettings,
                  cache_dir: str | Path | None = None) -> SplitFeatures:
    """Features of a split, read from / written to ``cache_dir`` (None: no cache).

    A cache file is used only when its key (settings + content of the split's files) and its tensors'
    SHA-256 match; otherwise a ``CacheWarning`` says why and the features are recomputed."""
    root = Path(root)
    if cache_dir is None:
        return _extract(root, split, settings)
    key = _cache_key(root, split, settings)
    path = _cache_path(Path(cache_dir), f"{split}-{settings.kind}-{key}.safetensors")
    if path.is_file():
        try:
            return _load(path, key)
        except ValueError as exc:
            warnings.warn(f"{path}: damaged feature cache ({exc}); rebuilding it", CacheWarning, stacklevel=2)
    data = _extract(root, split, settings)
    try:
        _save(path, data, key)
    except OSError as exc:
        raise ValueError(f"{path}: cannot write the feature cache ({exc.strerror})") from None
    return data
