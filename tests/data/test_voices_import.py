"""`data import`: WAV + HTK .lab / Praat TextGrid into the TIMIT layout; every bad file named."""

import wave

import numpy as np
import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.data import load_split
from rnnaccel.data.importer import import_corpus


def _wav(path, n, rate=16000):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.sin(np.arange(n) / 7.0) * 8000).astype("<i2").tobytes())


def _lab(path, segs):  # seconds -> HTK 100 ns units
    path.write_text("".join(f"{round(s * 1e7)} {round(e * 1e7)} {p}\n" for s, e, p in segs))


def _textgrid(path, phones, words):
    def tier(name, items):
        body = "".join(f'        intervals [{i}]:\n            xmin = {s}\n            xmax = {e}\n'
                       f'            text = "{t}"\n' for i, (s, e, t) in enumerate(items, 1))
        return (f'    item [1]:\n        class = "IntervalTier"\n        name = "{name}"\n'
                f"        xmin = 0\n        xmax = {items[-1][1]}\n"
                f"        intervals: size = {len(items)}\n{body}")
    path.write_text('File type = "ooTextFile"\nObject class = "TextGrid"\n\nxmin = 0\nxmax = 1\n'
                    "tiers? <exists>\nsize = 2\nitem []:\n" + tier("words", words) + tier("phones", phones))


@pytest.fixture()
def source(tmp_path):
    src = tmp_path / "src"
    for spk in ("alice", "bob"):
        (src / spk).mkdir(parents=True)
        _wav(src / spk / "one.wav", 16000)
        _lab(src / spk / "one.lab", [(0, 0.2, "h#"), (0.2, 0.5, "s"), (0.5, 0.8, "iy"), (0.8, 1.0, "h#")])
    _wav(src / "bob" / "two.wav", 8000, rate=8000)  # 1 s at 8 kHz: resampled to 16 kHz
    _textgrid(src / "bob" / "two.TextGrid", [(0, 0.3, "h#"), (0.3, 0.7, "ae"), (0.7, 1.0, "h#")],
              [(0, 0.3, ""), (0.3, 0.7, "a"), (0.7, 1.0, "")])
    return src


def test_import_gives_a_readable_timit_tree(source, tmp_path):
    r = import_corpus(source, tmp_path / "out", ["bob"])
    assert r.utterances == 3 and r.test_speakers == ("BOB",) and r.train_speakers == ("ALICE",)
    (train,), test = load_split(r.root, "train"), load_split(r.root, "test")
    assert train.phones == [(0, 3200, "h#"), (3200, 8000, "s"), (8000, 12800, "iy"), (12800, 16000, "h#")]
    two = next(u for u in test if u.utt_id.endswith("TWO"))
    assert two.samples.size == 16000 and two.words == [(4800, 11200, "a")] and two.text == "a"
    assert len(load_split(r.root, "dev")) == 2


def test_each_bad_file_is_named(source, tmp_path):
    _wav(source / "alice" / "short.wav", 16000)
    _lab(source / "alice" / "short.lab", [(0, 0.5, "h#"), (0.5, 0.7, "s")])  # audio is 1 s
    _wav(source / "alice" / "odd.wav", 16000)
    _lab(source / "alice" / "odd.lab", [(0, 0.5, "h#"), (0.5, 1.0, "xx")])
    _wav(source / "alice" / "gap.wav", 16000)
    _lab(source / "alice" / "gap.lab", [(0, 0.4, "h#"), (0.5, 1.0, "s")])
    _wav(source / "alice" / "nolab.wav", 16000)
    with pytest.raises(ValueError) as info:
        import_corpus(source, tmp_path / "out", ["bob"])
    msg = str(info.value)
    assert msg.startswith("4 bad file(s)")
    assert "short.lab: labels cover 0.000-0.700 s but the audio is 1.000 s long" in msg
    assert "odd.lab: segment 2 has label 'xx', not one of the 61 TIMIT phones" in msg
    assert "gap.lab: segment 2 starts at 0.5000 s, previous ended at 0.4000 s" in msg
    assert "nolab.wav: no label file beside it" in msg
    assert not (tmp_path / "out").exists()
    r = import_corpus(source, tmp_path / "out", ["bob"], skip_bad=True)
    assert r.utterances == 3 and len(r.skipped) == 4


def test_cli_import_and_bad_speaker(source, tmp_path):
    cmd = ["data", "import", str(source), str(tmp_path / "o"), "--test-speakers"]
    res = CliRunner().invoke(main, [*cmd, "carol"])
    assert res.exit_code != 0 and "test speakers must be a non-empty proper subset" in res.output
    res = CliRunner().invoke(main, [*cmd, "bob"])
    assert res.exit_code == 0 and "wrote 3 utterances" in res.output


def test_imported_corpus_carries_a_content_hash_that_data_check_verifies(source, tmp_path):
    import json

    from rnnaccel.data.synth import corpus_digest

    root = import_corpus(source, tmp_path / "out", ["bob"]).root
    assert json.loads((root / "SYNTH.json").read_text())["content_sha256"] == corpus_digest(root)
    ok = CliRunner().invoke(main, ["data", "check", str(root)])
    assert ok.exit_code == 0, ok.output
    phn = next(root.rglob("*.PHN"))
    phn.write_text(phn.read_text().replace("h#", "pau", 1))  # still a valid file: only the hash tells
    bad = CliRunner().invoke(main, ["data", "check", str(root)])
    assert bad.exit_code == 1 and "corpus files were modified or damaged" in bad.output
