"""Speech data: TIMIT reader, flite-based synthetic TIMIT-layout corpus, MFCC/filterbank features."""

from rnnaccel.data.phones import PHONES_39, PHONES_61, SYNTH_ABSENT, fold_39, fold_sequence, phone_index
from rnnaccel.data.timit import SPLITS, Split, Utterance, list_split, load_split

__all__ = [
    "PHONES_39",
    "PHONES_61",
    "SPLITS",
    "SYNTH_ABSENT",
    "Split",
    "Utterance",
    "fold_39",
    "fold_sequence",
    "list_split",
    "load_split",
    "phone_index",
]
