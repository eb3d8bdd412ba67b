import json

import pytest

from rnnaccel.data import synth
from rnnaccel.data.synth import make_speakers, synthesize_corpus


def test_deterministic_for_a_seed(tmp_path):
    a = synthesize_corpus(tmp_path / "a", 4, seed=7, per_speaker=2)
    synthesize_corpus(tmp_path / "b", 4, seed=7, per_speaker=2, snr_db=None)
    files = sorted(p.relative_to(a.root) for p in a.root.rglob("*") if p.is_file())
    assert files and all((a.root / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files)


def test_noise_changes_audio_not_labels(tmp_path):
    clean = synthesize_corpus(tmp_path / "c", 2, seed=1, per_speaker=1)
    noisy = synthesize_corpus(tmp_path / "n", 2, seed=1, per_speaker=1, snr_db=10.0)
    wav = next(clean.root.rglob("*.WAV")).relative_to(clean.root)
    assert (clean.root / wav).read_bytes() != (noisy.root / wav).read_bytes()
    phn = wav.with_suffix(".PHN")
    assert (clean.root / phn).read_text() == (noisy.root / phn).read_text()
    assert json.loads((noisy.root / "SYNTH.json").read_text())["snr_db"] == 10.0


def test_speakers_disjoint_between_train_and_test():
    spk = make_speakers(8, 4, seed=0)
    train = {(s.voice, s.f0_hz, s.stretch) for s in spk if s.split == "TRAIN"}
    test = {(s.voice, s.f0_hz, s.stretch) for s in spk if s.split == "TEST"}
    assert len(train) == 8 and len(test) == 4 and not train & test
    assert len({s.speaker_id for s in spk}) == 12


def test_missing_flite_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(synth.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match=r"apt-get install -y flite"):
        synthesize_corpus(tmp_path / "x", 4)


def test_validation_and_nonempty_output(tmp_path):
    with pytest.raises(ValueError, match="utterances must be >= 2"):
        synthesize_corpus(tmp_path / "x", 1)
    with pytest.raises(ValueError, match="audio_format must be 'sphere' or 'riff'"):
        synthesize_corpus(tmp_path / "x", 4, audio_format="mp3")
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "f").write_text("x")
    with pytest.raises(ValueError, match="output directory is not empty"):
        synthesize_corpus(tmp_path / "y", 4)
