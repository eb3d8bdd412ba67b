import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rnnaccel.data import load_split, voices
from rnnaccel.data.synth import Variation, corpus_status, make_speakers, synthesize_corpus, verify_corpus


def _files(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_deterministic_for_a_seed(tmp_path):
    a = synthesize_corpus(tmp_path / "a", 6, seed=7, per_speaker=2, voices=("kal16", "rms", "ked_diphone"),
                          heldout=("ked_diphone",))
    synthesize_corpus(tmp_path / "b", 6, seed=7, per_speaker=2, voices=("kal16", "rms", "ked_diphone"),
                      heldout=("ked_diphone",), snr_db=None)
    files = _files(a.root)
    assert files and all((a.root / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_white_noise_changes_audio_not_labels(tmp_path):
    kw = dict(seed=1, per_speaker=1, voices=("kal16", "rms"), heldout=("rms",), variation=Variation.none())
    clean = synthesize_corpus(tmp_path / "c", 2, **kw)
    noisy = synthesize_corpus(tmp_path / "n", 2, snr_db=10.0, **kw)
    wav = next(clean.root.rglob("*.WAV")).relative_to(clean.root)
    assert (clean.root / wav).read_bytes() != (noisy.root / wav).read_bytes()
    phn = wav.with_suffix(".PHN")
    assert (clean.root / phn).read_text() == (noisy.root / phn).read_text()
    assert json.loads((noisy.root / "SYNTH.json").read_text())["snr_db"] == 10.0


def test_speakers_disjoint_between_train_and_test():
    spk = make_speakers(8, 4, seed=0, n_test_seen=3)
    train = {(s.voice, s.f0_hz, s.stretch) for s in spk if s.group == "train"}
    test = {(s.voice, s.f0_hz, s.stretch) for s in spk if s.split == "TEST"}
    assert len(train) == 8 and len(test) == 7 and not train & test
    assert len({s.speaker_id for s in spk}) == 15


def test_heldout_voices_are_disjoint_from_training_voices(tmp_path):
    r = synthesize_corpus(tmp_path / "c", 16, seed=2, per_speaker=2, test_fraction=0.25,
                          seen_test_fraction=0.25)
    m = json.loads((r.root / "SYNTH.json").read_text())
    voice_of = {s["speaker_id"]: s["voice"] for s in m["speakers"]}
    used = {split: {voice_of[u.speaker] for u in load_split(r.root, split)}
            for split in ("train", "dev", "test", "test_seen")}
    assert used["test"] == set(m["heldout_voices"]) == {"rms", "ked_diphone"}
    assert not used["train"] & used["test"] and not used["train"] & used["dev"]
    assert used["test_seen"] <= used["train"]
    people = {split: {voices.voice(v).person for v in vs} for split, vs in used.items()}
    assert not people["train"] & people["test"]
    spk = m["speakers"][0]
    assert {"voice", "f0_hz", "stretch", "channel", "group"} <= spk.keys()


def test_held_out_person_must_be_held_out_entirely():
    with pytest.raises(ValueError, match=r"held-out voice kal16 is kal, who also speaks training voice kal"):
        make_speakers(2, 1, 0, heldout=("kal16",))
    with pytest.raises(ValueError, match=r"unknown voice 'nope'"):
        make_speakers(2, 1, 0, heldout=("nope",))


def test_missing_voice_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(voices.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"apt-get install -y flite"):
        synthesize_corpus(tmp_path / "x", 4)
    monkeypatch.undo()
    monkeypatch.setattr(voices, "_FESTIVAL_DIRS", (str(tmp_path),))
    with pytest.raises(RuntimeError, match=r"festival voice ked_diphone is not installed.*festvox-kdlpc16k"):
        synthesize_corpus(tmp_path / "y", 4, voices=("kal16", "ked_diphone"), heldout=("ked_diphone",))
    assert not (tmp_path / "y").exists()


def test_validation_and_nonempty_output(tmp_path):
    with pytest.raises(ValueError, match="utterances must be >= 2"):
        synthesize_corpus(tmp_path / "x", 1)
    with pytest.raises(ValueError, match="audio_format must be 'sphere' or 'riff'"):
        synthesize_corpus(tmp_path / "x", 4, audio_format="mp3")
    with pytest.raises(ValueError, match="snr_db must be a finite"):
        synthesize_corpus(tmp_path / "x", 4, snr_db=float("nan"))
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "f").write_text("x")
    with pytest.raises(ValueError, match="output directory is not empty"):
        synthesize_corpus(tmp_path / "y", 4)


def test_overwrite_replaces_and_status_detects_damage(tmp_path):
    kw = dict(per_speaker=2, voices=("kal16", "rms"), heldout=("rms",), variation=Variation.none())
    root = tmp_path / "c"
    synthesize_corpus(root, 8, seed=1, **kw)
    (root / "TRAIN" / "stray.txt").write_text("old")
    with pytest.raises(ValueError, match="files were modified or damaged"):
        corpus_status(root, 8, 1)
    synthesize_corpus(root, 4, seed=2, overwrite=True, **kw)
    assert not (root / "TRAIN" / "stray.txt").exists() and len(list(root.rglob("*.PHN"))) == 4
    assert corpus_status(root, 4, 2) == "synthetic" and verify_corpus(root)["seed"] == 2
    with pytest.raises(ValueError, match=r"synthesized with utterances=4, seed=2.*--overwrite"):
        corpus_status(root, 2000, 0)
    assert corpus_status(tmp_path / "absent", 4, 2) == "absent"
    assert not list(tmp_path.glob(".c.*"))  # no temporary directories left


def test_a_failed_run_leaves_no_corpus(monkeypatch, tmp_path):
    def boom(*_a, **_k):
        raise RuntimeError("synthesizer crashed")

    monkeypatch.setattr(voices.FliteBackend, "render", boom)
    with pytest.raises(RuntimeError, match="crashed"):
        synthesize_corpus(tmp_path / "c", 4, voices=("kal16", "rms"), heldout=("rms",))
    assert not (tmp_path / "c").exists() and not list(tmp_path.iterdir())


def test_kill_9_during_synthesis_leaves_no_corpus_and_the_rerun_cleans_up(tmp_path):
    root = tmp_path / "c"
    code = ("import sys; from rnnaccel.data.synth import synthesize_corpus; "
            "synthesize_corpus(sys.argv[1], 200, voices=('kal16', 'rms'), heldout=('rms',), jobs=1)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)])
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".c.partial-*/TRAIN")) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # inside synthesis: the partial tree exists, the corpus is not complete
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(".c.partial-*")) and not root.exists()
    assert corpus_status(root, 200, 0) == "absent"
    r = synthesize_corpus(root, 4, voices=("kal16", "rms"), heldout=("rms",))
    assert r.removed_partial and not list(tmp_path.glob(".c.partial-*"))
    assert corpus_status(root, 4, 0) == "synthetic"
