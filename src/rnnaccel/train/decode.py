"""CTC decoding (greedy and prefix beam search) and phone error rate after 61 -> 39 folding."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from rnnaccel.data.phones import PHONES_61, fold_sequence

__all__ = ["BLANK", "beam_decode", "edit_distance", "frame_decode", "greedy_decode", "phone_error_rate"]

BLANK = len(PHONES_61)  # class 61: the CTC blank follows the 61 phones, so phone classes keep their index


def greedy_decode(logprobs: np.ndarray) -> list[int]:
    """Best path: argmax per frame, merge repeats, drop blanks (Graves et al. 2006)."""
    best = np.asarray(logprobs).argmax(axis=-1)
    return [int(c) for i, c in enumerate(best) if c != BLANK and (i == 0 or c != best[i - 1])]


def frame_decode(logprobs: np.ndarray) -> list[int]:
    """Framewise (cross-entropy) model: argmax over the 61 phones per frame, merge repeats."""
    best = np.asarray(logprobs)[:, :BLANK].argmax(axis=-1)
    return [int(c) for i, c in enumerate(best) if i == 0 or c != best[i - 1]]


def _logsumexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _extend(beams: dict, frame: np.ndarray, width: int) -> dict:
    nxt: dict[tuple[int, ...], list[float]] = {}
    top = np.argsort(frame)[::-1][: width + 1]
    for prefix, (pb, pnb) in beams.items():
        entry = nxt.setdefault(prefix, [-math.inf, -math.inf])
        entry[0] = _logsumexp(entry[0], _logsumexp(pb, pnb) + frame[BLANK])
        for c in top:
            c = int(c)
            if c == BLANK:
                continue
            new = (*prefix, c)
            e = nxt.setdefault(new, [-math.inf, -math.inf])
            if prefix and prefix[-1] == c:  # repeat: only via a blank, else it merges into the prefix
                e[1] = _logsumexp(e[1], pb + frame[c])
                entry[1] = _logsumexp(entry[1], pnb + frame[c])
            else:
                e[1] = _logsumexp(e[1], _logsumexp(pb, pnb) + frame[c])
    ranked = sorted(nxt.items(), key=lambda kv: -_logsumexp(*kv[1]))[:width]
    return dict(ranked)


def beam_decode(logprobs: np.ndarray, width: int = 8) -> list[int]:
    """CTC prefix beam search without a language model (Hannun et al. 2014), keeping ``width`` prefixes."""
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, -math.inf]}
    for frame in np.asarray(logprobs, dtype=np.float64):
        beams = _extend(beams, frame, width)
    return list(max(beams.items(), key=lambda kv: _logsumexp(*kv[1]))[0])


def edit_distance(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Levenshtein distance (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i]
        for j, h in enumerate(hyp, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h)))
        prev = cur
    return prev[-1]


def phone_error_rate(refs: Sequence[Sequence[int]], hyps: Sequence[Sequence[int]]) -> float:
    """PER = Σ edit distance / Σ reference length, both sides folded to 39 classes (q deleted)."""
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    errors = total = 0
    for ref, hyp in zip(refs, hyps, strict=True):
        r = fold_sequence(PHONES_61[c] for c in ref)
        errors += edit_distance(r, fold_sequence(PHONES_61[c] for c in hyp))
        total += len(r)
    if total == 0:
        raise ValueError("phone_error_rate needs at least one reference phone")
    return errors / total
