import shutil
from pathlib import Path

import numpy as np
import pytest

from rnnaccel.data.audio import read_audio, write_sphere
from rnnaccel.data.phones import FOLD_39, PHONES_39, PHONES_61, SYNTH_ABSENT, fold_39, fold_sequence
from rnnaccel.data.timit import CORE_TEST_SPEAKERS, DEV_SPEAKERS, list_split, load_split


def test_folding_table_61_to_39():
    assert len(PHONES_61) == len(set(PHONES_61)) == 61
    assert set(FOLD_39) == set(PHONES_61)
    assert len(PHONES_39) == 39 and len({v for v in FOLD_39.values() if v}) == 39
    assert fold_39("q") is None
    folded = [fold_39(p) for p in ("ao", "ax-h", "axr", "hv", "ix", "el", "en", "nx", "eng", "zh", "ux")]
    assert folded == ["aa", "ah", "er", "hh", "ih", "l", "n", "n", "ng", "sh", "uw"]
    assert {fold_39(p) for p in ("bcl", "dcl", "gcl", "pcl", "tcl", "kcl", "pau", "epi", "h#")} == {"sil"}
    seq = fold_sequence(["h#", "q", "pcl", "tcl", "t", "ix", "h#"])
    assert seq == ["sil", "sil", "sil", "t", "ih", "sil"]
    with pytest.raises(ValueError, match="unknown TIMIT phone 'xx'"):
        fold_39("xx")


def test_standard_speaker_lists():
    assert len(DEV_SPEAKERS) == 50 and len(CORE_TEST_SPEAKERS) == 24
    assert not DEV_SPEAKERS & CORE_TEST_SPEAKERS


def test_synth_absent_labels():
    assert set(SYNTH_ABSENT) == {"dx", "q", "em", "en", "eng", "nx", "hv", "el", "ux", "ix", "axr", "ax-h",
                                 "epi"}


def _check_utterance(u):
    assert u.samples.dtype == np.float32 and u.sample_rate == 16000
    assert u.phones[0][0] == 0 and u.phones[-1][1] == u.samples.size
    assert all(a[1] == b[0] for a, b in zip(u.phones, u.phones[1:], strict=False))
    assert u.phones[0][2] == "h#" and u.text.endswith(".") and u.words


def test_reader_on_synthetic_sphere_tree(mini_sphere):
    assert (mini_sphere / "TRAIN").is_dir() and next((mini_sphere / "TRAIN").glob("DR*/*/SX*.WAV"))
    splits = {s: load_split(mini_sphere, s) for s in ("train", "dev", "core_test", "test")}
    assert len(splits["train"]) + len(splits["test"]) == 12
    train_spk, test_spk = ({u.speaker for u in splits[s]} for s in ("train", "test"))
    assert train_spk and test_spk and not train_spk & test_spk
    assert {u.speaker for u in splits["dev"]} <= test_spk
    assert {u.speaker for u in splits["core_test"]} <= test_spk
    for u in splits["train"]:
        _check_utterance(u)


def test_riff_lowercase_tree_reads_the_same(mini_sphere, mini_riff):
    assert (mini_riff / "train").is_dir() and next((mini_riff / "train").glob("dr*/*/sx*.wav"))
    upper, lower = load_split(mini_sphere, "test"), load_split(mini_riff, "test")
    assert [u.utt_id for u in upper] == [u.utt_id for u in lower]
    for a, b in zip(upper, lower, strict=True):
        assert a.phones == b.phones and np.array_equal(a.samples, b.samples)


def test_sphere_roundtrip_and_big_endian(tmp_path):
    pcm = (np.arange(-500, 500, dtype=np.int16) * 30).astype(np.int16)
    write_sphere(tmp_path / "x.wav", pcm, 16000)
    x, rate = read_audio(tmp_path / "x.wav")
    assert rate == 16000 and np.array_equal(np.round(x * 32768).astype(np.int16), pcm)
    data = (tmp_path / "x.wav").read_bytes()
    data = data.replace(b"sample_byte_format -s2 01", b"sample_byte_format -s2 10")
    (tmp_path / "y.wav").write_bytes(data[:1024] + pcm.astype(">i2").tobytes())
    assert np.array_equal(read_audio(tmp_path / "y.wav")[0], x)


def _copy(tree: Path, tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "c"
    shutil.copytree(tree, root)
    files = list_split(root, "train")[0]
    return root, files.phn


def _rewrite_line(path: Path, lineno: int, new: str) -> None:
    lines = path.read_text().splitlines()
    lines[lineno - 1] = new
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(("line", "message"), [
    ("100 50 ae", r"\.PHN:3: segment end 50 < start 100"),
    ("0 99999999 ae", r"\.PHN:3: segment end 99999999 is past the audio"),
    ("0 100 xyz", r"\.PHN:3: unknown phone 'xyz'"),
    ("0 ae", r"\.PHN:3: expected 'start end label'"),
])
def test_bad_phn_lines_name_file_and_line(mini_sphere, tmp_path, line, message):
    root, phn = _copy(mini_sphere, tmp_path)
    _rewrite_line(phn, 3, line)
    with pytest.raises(ValueError, match=message):
        load_split(root, "train")
    skipped = load_split(root, "train", skip_bad=True)
    assert len(skipped.skipped) == 1 and str(phn) in skipped.skipped[0]
    assert len(skipped) == len(list_split(root, "train")) - 1


def test_missing_and_corrupt_files(mini_sphere, tmp_path):
    root, phn = _copy(mini_sphere, tmp_path)
    wav = phn.with_suffix(".WAV")
    phn.unlink()
    with pytest.raises(ValueError, match=rf"{phn.name}: cannot read"):
        load_split(root, "train")
    assert len(load_split(root, "train", skip_bad=True).skipped) == 1
    wav.write_bytes(b"garbage!" * 10)
    with pytest.raises(ValueError, match=rf"{wav.name}: not a NIST SPHERE or RIFF WAV"):
        read_audio(wav)


def test_truncated_sphere_header(mini_sphere, tmp_path):
    root, phn = _copy(mini_sphere, tmp_path)
    wav = phn.with_suffix(".WAV")
    wav.write_bytes(wav.read_bytes()[:300])
    with pytest.raises(ValueError, match=rf"{wav.name}: truncated SPHERE header"):
        load_split(root, "train")


def test_truncated_audio_and_riff(mini_riff, tmp_path):
    root = tmp_path / "r"
    shutil.copytree(mini_riff, root)
    wav = list_split(root, "train")[0].wav
    wav.write_bytes(wav.read_bytes()[:20])
    with pytest.raises(ValueError, match=rf"{wav.name}: corrupt RIFF WAV"):
        load_split(root, "train")


def test_bad_split_and_layout(tmp_path):
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        load_split(tmp_path, "valid")
    with pytest.raises(ValueError, match="no TRAIN directory"):
        load_split(tmp_path, "train")


def test_real_timit_dev_requires_the_standard_speakers(mini_sphere, tmp_path):
    root, _ = _copy(mini_sphere, tmp_path)
    (root / "SYNTH.json").unlink()  # without the manifest the standard TIMIT speaker lists apply
    with pytest.raises(ValueError, match="dev speakers not found: FADG0"):
        load_split(root, "dev")
