"""TIMIT phone inventory, the 61 -> 39 folding for scoring, and the flite (CMU) -> TIMIT mapping.

The folding is Lee & Hon (1989) as distributed with Kaldi (``egs/timit/s5/conf/phones.60-48-39.map``):
closures, ``pau``, ``epi`` and ``h#`` fold into ``sil``; ``q`` (glottal stop) has no 39-class label and is
**deleted** from both reference and hypothesis before scoring (``fold_39`` returns ``None`` for it).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CLOSURE_FRACTION",
    "CMU_TO_TIMIT",
    "FOLD_39",
    "PHONES_39",
    "PHONES_61",
    "SYNTH_ABSENT",
    "fold_39",
    "fold_sequence",
    "phone_index",
]

# The 61 TIMIT labels in the order of the TIMIT phonecode documentation (classes 0..60 of the recognizer).
PHONES_61: tuple[str, ...] = (
    "b", "d", "g", "p", "t", "k", "dx", "q",
    "jh", "ch",
    "s", "sh", "z", "zh", "f", "th", "v", "dh",
    "m", "n", "ng", "em", "en", "eng", "nx",
    "l", "r", "w", "y", "hh", "hv", "el",
    "iy", "ih", "eh", "ey", "ae", "aa", "aw", "ay", "ah", "ao", "oy", "ow", "uh", "uw", "ux",
    "er", "ax", "ix", "axr", "ax-h",
    "pau", "epi", "h#",
    "bcl", "dcl", "gcl", "pcl", "tcl", "kcl",
)  # fmt: skip

# 61 -> 39 (Kaldi phones.60-48-39.map, third column). q maps to None: deleted before scoring.
FOLD_39: dict[str, str | None] = {
    **{p: p for p in PHONES_61},
    "ao": "aa", "ax": "ah", "ax-h": "ah", "axr": "er", "hv": "hh", "ix": "ih", "el": "l", "em": "m",
    "en": "n", "nx": "n", "eng": "ng", "zh": "sh", "ux": "uw",
    "pau": "sil", "epi": "sil", "h#": "sil",
    "bcl": "sil", "dcl": "sil", "gcl": "sil", "pcl": "sil", "tcl": "sil", "kcl": "sil",
    "q": None,
}  # fmt: skip

PHONES_39: tuple[str, ...] = tuple(sorted({v for v in FOLD_39.values() if v is not None}))

# flite's US English (CMU) phones onto TIMIT labels. Stops and affricates become closure + release,
# as TIMIT transcribes them; pau is h# at the utterance edges and pau inside (see synth.py).
CMU_TO_TIMIT: dict[str, tuple[str, ...]] = {
    **{p: (p,) for p in (
        "aa ae ah ao aw ax ay dh eh er ey f hh ih iy l m n ng ow oy r s sh th uh uw v w y z zh"
    ).split()},
    "b": ("bcl", "b"), "d": ("dcl", "d"), "g": ("gcl", "g"),
    "p": ("pcl", "p"), "t": ("tcl", "t"), "k": ("kcl", "k"),
    "ch": ("tcl", "ch"), "jh": ("dcl", "jh"),
    "pau": ("pau",),
}  # fmt: skip

# Share of a flite stop/affricate segment given to its closure (assumed; TIMIT closures are typically
# a bit longer than their releases). The release gets the rest.
CLOSURE_FRACTION = 0.6

# TIMIT labels that the flite-based synthetic corpus never produces.
SYNTH_ABSENT: tuple[str, ...] = tuple(
    p for p in PHONES_61 if p != "h#" and all(p not in v for v in CMU_TO_TIMIT.values())
)


def phone_index(label: str) -> int:
    """Class index (0..60) of a TIMIT label; ValueError for an unknown label."""
    try:
        return PHONES_61.index(label)
    except ValueError:
        raise ValueError(f"unknown TIMIT phone {label!r}; expected one of the 61 TIMIT labels") from None


def fold_39(label: str) -> str | None:
    """Fold one 61-set label to its 39-class label (Lee & Hon 1989); None for ``q`` (deleted)."""
    if label not in FOLD_39:
        raise ValueError(f"unknown TIMIT phone {label!r}; expected one of the 61 TIMIT labels")
    return FOLD_39[label]


def fold_sequence(labels: Iterable[str]) -> list[str]:
    """Fold a label sequence to 39 classes, deleting ``q``; repeats are kept (as in Kaldi's scoring)."""
    return [f for f in (fold_39(label) for label in labels) if f is not None]
