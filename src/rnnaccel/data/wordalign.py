"""Word boundaries for the synthetic corpus: align each word's dictionary pronunciation (flite's
``t2p``) to the phones the synthesizer actually spoke (Levenshtein), then span each word's phones."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["align_words", "lexicon", "word_segments"]


def align_words(words: list[list[str]], spoken: list[str]) -> list[int]:
    """Word index of each spoken phone: Levenshtein alignment of the concatenated dictionary
    pronunciations to the engine's output (post-lexical rules, e.g. 'the' -> dh iy, change a few)."""
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


def word_segments(words: list[str], lexicon: dict[str, list[str]], ends: list[tuple[str, int]],
                   segs: list[tuple[int, int, str, int]]) -> list[tuple[int, int, str]]:
    speech = [k for k, (p, _) in enumerate(ends) if p != "pau"]
    owner = align_words([lexicon[w] for w in words], [ends[k][0] for k in speech])
    owner_of = dict(zip(speech, owner, strict=True))
    spans: dict[int, list[int]] = {}
    for start, end, _, k in segs:
        if k in owner_of:
            span = spans.setdefault(owner_of[k], [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)
    return [(s, e, words[w]) for w, (s, e) in sorted(spans.items())]


def lexicon(words: set[str]) -> dict[str, list[str]]:
    def pron(word: str) -> list[str]:
        out = subprocess.run(["t2p", word], capture_output=True, text=True, check=True, timeout=60).stdout
        return [p.rstrip("012") for p in out.split() if p != "pau"]

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(sorted(words), pool.map(pron, sorted(words)), strict=True))
