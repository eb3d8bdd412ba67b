"""A small sentence grammar for the synthetic corpus: varied, pronounceable English text.

The vocabulary is hand-picked to cover every flite (CMU) phone, the rare ones (zh, oy, uh, th, ng, aw)
included, so that every TIMIT label the synthesizer can produce appears in training. Sentences are
random walks through a handful of templates; no language model is used, so the words only need to be
pronounceable, not meaningful.
"""

from __future__ import annotations

import random

__all__ = ["VOCABULARY", "sentence"]

_WORDS: dict[str, tuple[str, ...]] = {
    "det": ("the", "a", "every", "some", "this", "that", "each", "one", "no", "her", "his", "our", "their"),
    "adj": (
        "big small young old dark bright quiet noisy happy lazy usual casual thin thick rough smooth "
        "yellow purple orange golden wooden frozen loyal royal joyful foolish cheap fresh sharp soft "
        "strange vivid eager heavy loud proud good full sour brown round shy"
    ).split(),
    "noun": (
        "boy girl dog cat horse child teacher doctor farmer sailor soldier judge mother father brother "
        "king queen pilot nurse chef tiger monkey mouse goose bird fish snake oyster cowboy "
        "treasure measure vision garage leisure television book wood sugar cushion foot hook "
        "house town cloud mountain river garden kitchen window table chair bottle basket ladder coin "
        "toy voice boat ship train wagon engine hammer thunder theater path month thought song ring "
        "wing king story letter picture question answer jungle village castle bridge ocean"
    ).split(),
    "verb": (
        "saw found watched painted carried pushed pulled joined enjoyed avoided destroyed measured "
        "treasured chose caught brought bought fetched washed washed wished touched judged changed "
        "loved moved hugged followed thanked helped asked showed threw took shook pushed built"
    ).split(),
    "iverb": (
        "slept sang laughed jumped waited vanished smiled shouted worked played sighed nodded "
        "coughed frowned bowed whispered"
    ).split(),
    "prep": ("near", "under", "behind", "beside", "over", "through", "beyond", "without", "inside", "along"),
    "adv": (
        "quickly slowly gladly nearly usually always never often loudly softly easily today "
        "yesterday outside downtown somewhere"
    ).split(),
    "conj": ("and", "but", "so", "while", "because", "although"),
    "num": ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "thirty"),
}

_TEMPLATES: tuple[tuple[str, ...], ...] = (
    ("np", "verb", "np"),
    ("np", "verb", "np", "prep", "np"),
    ("np", "iverb", "adv"),
    ("np", "iverb", "prep", "np"),
    ("adv", "np", "verb", "np"),
    ("np", "verb", "num", "plural", "prep", "np"),
    ("np", "verb", "np", "conj", "np", "iverb"),
    ("np", "adv", "verb", "np"),
)

VOCABULARY: tuple[str, ...] = tuple(sorted({w for ws in _WORDS.values() for w in ws}))


def _noun_phrase(rng: random.Random) -> list[str]:
    words = [rng.choice(_WORDS["det"])]
    if rng.random() < 0.5:
        words.append(rng.choice(_WORDS["adj"]))
    return [*words, rng.choice(_WORDS["noun"])]


def _expand(symbol: str, rng: random.Random) -> list[str]:
    if symbol == "np":
        return _noun_phrase(rng)
    if symbol == "plural":
        noun = rng.choice(_WORDS["noun"])
        return [noun + ("es" if noun.endswith(("s", "sh", "ch", "x")) else "s")]
    if symbol == "conj":  # a comma makes flite pause: the corpus then has sentence-internal pau
        return [",", rng.choice(_WORDS["conj"])]
    return [rng.choice(_WORDS[symbol])]


def sentence(rng: random.Random) -> list[str]:
    """A random sentence as a list of lowercase words; a "," token marks a pause."""
    return [w for sym in rng.choice(_TEMPLATES) for w in _expand(sym, rng)]
