"""The reader's contract on bad files: a ValueError naming the file (and line), never another exception,
never more of the file than the offending token. Trees are built by hand (no flite) so each case is small."""

import struct
from pathlib import Path

import numpy as np
import pytest

from rnnaccel.data.audio import read_audio, write_sphere
from rnnaccel.data.timit import list_split, load_split

RATE = 16000
N = 3200  # 0.2 s


def speech_like(n: int = N) -> np.ndarray:
    """A smooth voiced-like signal (two low harmonics): what the byte-order check calls audio."""
    t = np.arange(n) / RATE
    return (6000 * np.sin(2 * np.pi * 180 * t) + 2500 * np.sin(2 * np.pi * 540 * t)).astype(np.int16)


def riff_bytes(pcm: np.ndarray, *, tag: int = 1, channels: int = 1, bits: int = 16, rate: int = RATE,
               fmt_size: int = 16, data: bytes | None = None) -> bytes:
    body = pcm.astype("<i2").tobytes() if data is None else data
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * 2, channels * bits // 8, bits)
    fmt = fmt.ljust(fmt_size, b"\0")
    chunks = b"fmt " + struct.pack("<I", fmt_size) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


PHN = "0 1000 h#\n1000 2200 s\n2200 3200 h#\n"


def make_tree(root: Path, phn: str = PHN, wav: bytes | None = None) -> Path:
    """root/TRAIN/DR1/MABC0/SX1.{WAV,PHN,WRD,TXT}; returns the speaker directory."""
    spk = root / "TRAIN" / "DR1" / "MABC0"
    spk.mkdir(parents=True)
    if wav is None:
        write_sphere(spk / "SX1.WAV", speech_like(), RATE)
    else:
        (spk / "SX1.WAV").write_bytes(wav)
    (spk / "SX1.PHN").write_text(phn)
    (spk / "SX1.WRD").write_text("1000 2200 yes\n")
    (spk / "SX1.TXT").write_text("0 3200 Yes.\n")
    return spk


def sphere_with(replace: dict[bytes, bytes], tmp: Path) -> bytes:
    """A SPHERE file of ``speech_like()`` with header substrings replaced (header grown when needed)."""
    write_sphere(tmp / "x.wav", speech_like(), RATE)
    data = (tmp / "x.wav").read_bytes()
    head, body = data[:1024].rstrip(b" "), data[1024:]
    for old, new in replace.items():
        assert old in head
        head = head.replace(old, new)
    if len(head) > 1024 and b"   1024" in head:
        return head.replace(b"   1024", b"  65536", 1).ljust(65536, b" ") + body
    return head.ljust(1024, b" ") + body


def test_hand_built_tree_reads(tmp_path):
    make_tree(tmp_path)
    (u,) = load_split(tmp_path, "train")
    assert u.phones == [(0, 1000, "h#"), (1000, 2200, "s"), (2200, 3200, "h#")]
    assert u.sample_rate == RATE and u.samples.size == N


@pytest.mark.parametrize(("old", "new", "message"), [
    (b"sample_coding -s3 pcm", b"sample_coding -s4 ulaw", r"sample_coding 'ulaw': only uncompressed"),
    (b"sample_coding -s3 pcm", b"sample_coding -s26 pcm,embedded-shorten-v2.00", "shorten-compressed"),
    (b"sample_count -i 3200", b"sample_count -i -5", r"sample_count: expected an integer in 1\.\."),
    (b"sample_count -i 3200", b"sample_count -i 0", r"sample_count: expected an integer in 1\.\."),
    (b"sample_rate -i 16000", b"sample_rate -i 0", r"sample_rate: expected an integer in 1\.\."),
    (b"sample_rate -i 16000", b"sample_rate -s3 abc", r"sample_rate: expected an integer .* got 'abc'"),
    (b"sample_rate -i 16000", b"sample_rate -i " + b"9" * 5000, r"sample_rate: .*'9+\.\.\.$"),
    (b"sample_byte_format -s2 01", b"sample_byte_format -s1 1", r"sample_byte_format '1': expected 01"),
    (b"sample_byte_format -s2 01", b"sample_byte_format -s2 10", "look byte-swapped"),
    (b"sample_n_bytes -i 2", b"sample_n_bytes -i 1", r"sample_n_bytes: expected an integer in 2\.\.2"),
    (b"channel_count -i 1", b"channel_count -i 2", r"channel_count: expected an integer in 1\.\.1"),
    (b"channel_count -i 1", b"sample_rate -i 8000", r"line \d+: field 'sample_rate' given twice"),
    (b"database_id -s5 TIMIT", b"database_id -s5 TIM\xefT", r"line 3: non-ASCII bytes"),
    (b"database_id -s5 TIMIT", b"database_id TIMIT", r"line 3: expected 'name -type value'"),
    (b"   1024", b"   abcd", "line 2: expected the header size"),
    (b"   1024", b"   99999", r"truncated SPHERE header \(7424 bytes, header says 99999\)"),
    (b"   1024", b"   0", r"SPHERE header size 0 out of range"),
    (b"end_head", b"end_hexd", r"line 11: expected 'name -type value' .*got 'end_hexd'"),
    (b"end_head", b"", r"truncated SPHERE header \(no end_head"),
], ids=lambda v: repr(v)[:28])  # fmt: skip
def test_bad_sphere_headers(tmp_path, old, new, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(sphere_with({old: new}, tmp_path))
    with pytest.raises(ValueError, match=rf"^{path}: .*{message}") as info:
        read_audio(path)
    assert len(str(info.value)) < 300  # never the header or a 5,000-digit number


def test_big_endian_sphere_with_big_endian_data_reads(tmp_path):
    pcm = speech_like()
    head = sphere_with({b"sample_byte_format -s2 01": b"sample_byte_format -s2 10"}, tmp_path)[:1024]
    (tmp_path / "be.wav").write_bytes(head + pcm.astype(">i2").tobytes())
    x, _ = read_audio(tmp_path / "be.wav")
    assert np.array_equal(np.round(x * 32768).astype(np.int16), pcm)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"fmt_size": 16, "data": b""}, "data chunk of 0 bytes"),
    ({"data": b"\x01\x02\x03"}, "data chunk of 3 bytes"),
    ({"tag": 3}, r"format tag 0x0003 is not integer PCM"),
    ({"tag": 7}, r"format tag 0x0007"),
    ({"channels": 2}, "expected 16-bit mono"),
    ({"bits": 8}, "expected 16-bit mono"),
    ({"rate": 0}, "sample rate 0"),
])  # fmt: skip
def test_bad_riff(tmp_path, kwargs, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(riff_bytes(speech_like(), **kwargs))
    with pytest.raises(ValueError, match=rf"^{path}: .*{message}"):
        read_audio(path)


def test_riff_chunk_longer_than_the_file_and_big_endian_data(tmp_path):
    path = tmp_path / "bad.wav"
    good = riff_bytes(speech_like())
    path.write_bytes(good[:16] + struct.pack("<I", 10**6) + good[20:])  # fmt chunk size past the end
    with pytest.raises(ValueError, match=rf"^{path}: corrupt RIFF WAV: chunk b'fmt ' says 1000000 bytes"):
        read_audio(path)
    path.write_bytes(good[:-100])
    with pytest.raises(ValueError, match=rf"^{path}: truncated audio: chunk b'data'"):
        read_audio(path)
    path.write_bytes(riff_bytes(speech_like(), data=speech_like().astype(">i2").tobytes()))
    with pytest.raises(ValueError, match="look byte-swapped"):
        read_audio(path)
    path.write_bytes(b"RIFX" + good[4:])
    with pytest.raises(ValueError, match=r"b'RIFX' files are not read"):
        read_audio(path)


@pytest.mark.parametrize(("phn", "message"), [
    ("0 1000 h#\n900 2200 s\n2200 3200 h#\n", r"PHN:2: segment starts at 900, inside the previous one"),
    ("0 1000 h#\n1100 2200 s\n2200 3200 h#\n", r"PHN:2: gap of 100 samples"),
    ("1000 2200 s\n0 1000 h#\n2200 3200 h#\n", r"PHN:2: segment starts at 0, before the previous one"),
    ("0 1000 h#\n1000 " + "7" * 5000 + " s\n", r"PHN:2: segment end '7+\.\.\. is not a sample index"),
    ("0 1000 h#\n1000 2200 s x\n", r"PHN:2: expected 'start end label', got 4 fields"),
    ("0 1000 h#\n1000 -5 s\n", r"PHN:2: segment end '-5' is not a sample index"),
    ("0 1000 h#\n1000 2200 \u00e9\u00e9\n", r"PHN:2: unknown phone"),
    ("\n\n", r"PHN: no phone segments"),
], ids=lambda v: repr(v)[:28])  # fmt: skip
def test_bad_phone_segments(tmp_path, phn, message):
    make_tree(tmp_path, phn)
    with pytest.raises(ValueError, match=message) as info:
        load_split(tmp_path, "train")
    assert len(str(info.value)) < 300
    assert load_split(tmp_path, "train", skip_bad=True).skipped


def test_words_may_have_gaps_but_must_be_sorted(tmp_path):
    spk = make_tree(tmp_path)
    (spk / "SX1.WRD").write_text("0 900 a\n1000 2200 b\n2000 3000 c\n")  # a gap, then an overlap
    assert [w[2] for w in load_split(tmp_path, "train")[0].words] == ["a", "b", "c"]
    (spk / "SX1.WRD").write_text("1000 2200 b\n0 900 a\n")
    with pytest.raises(ValueError, match=r"WRD:2: segment starts at 0, before the previous one"):
        load_split(tmp_path, "train")


def test_case_duplicates_are_an_error(tmp_path):
    spk = make_tree(tmp_path)
    (spk / "SX1.phn").write_text(PHN)
    with pytest.raises(ValueError, match=r"'SX1.PHN' and 'SX1.phn' differ only in letter case"):
        list_split(tmp_path, "train")
    (spk / "SX1.phn").unlink()
    (tmp_path / "train").mkdir()
    with pytest.raises(ValueError, match=r"'TRAIN' and 'train' differ only in letter case"):
        list_split(tmp_path, "train")


def test_symlinks_out_of_the_root_are_refused(tmp_path):
    root = tmp_path / "corpus"
    spk = make_tree(root)
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-FIRST-LINE\n")
    (spk / "SX1.PHN").unlink()
    (spk / "SX1.PHN").symlink_to(secret)
    with pytest.raises(ValueError, match=r"SX1.PHN: symlink leads outside the corpus root") as info:
        load_split(root, "train")
    assert "SECRET" not in str(info.value)
    skipped = load_split(root, "train", skip_bad=True)
    assert len(skipped) == 0 and len(skipped.skipped) == 1
    (spk / "SX1.PHN").unlink()
    (spk / "SX1.PHN").write_text(PHN)
    outside = tmp_path / "elsewhere"
    make_tree(outside)
    (root / "TRAIN" / "DR2").symlink_to(outside / "TRAIN" / "DR1")
    with pytest.raises(ValueError, match=r"DR2: symlink leads outside the corpus root"):
        list_split(root, "train")


def test_symlinks_inside_the_root_are_followed(tmp_path):
    spk = make_tree(tmp_path)
    (tmp_path / "store").mkdir()
    (spk / "SX1.PHN").rename(tmp_path / "store" / "x.phn")
    (spk / "SX1.PHN").symlink_to(tmp_path / "store" / "x.phn")
    assert len(load_split(tmp_path, "train")) == 1


def test_bad_manifest_is_an_error_naming_it(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "TEST" / "DR1" / "FXYZ0").mkdir(parents=True)
    (tmp_path / "SYNTH.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"SYNTH.json: bad manifest"):
        list_split(tmp_path, "dev")


def test_test_seen_is_a_split_only_of_corpora_that_list_it(tmp_path):
    from rnnaccel.data.timit import SPLITS, corpus_splits

    make_tree(tmp_path)  # no SYNTH.json: as real TIMIT
    assert corpus_splits(tmp_path) == ("train", "dev", "core_test", "test")
    (tmp_path / "SYNTH.json").write_text('{"dev_speakers": [], "core_test_speakers": [], '
                                         '"test_seen_speakers": []}')
    assert corpus_splits(tmp_path) == SPLITS
