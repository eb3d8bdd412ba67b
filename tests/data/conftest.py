"""Miniature TIMIT trees made by the synthesizer (SPHERE upper case and RIFF lower case, same seed)."""

import shutil

import pytest

from rnnaccel.data.synth import synthesize_corpus


@pytest.fixture(scope="session")
def mini_sphere(tmp_path_factory):
    if shutil.which("flite") is None:
        pytest.fail("flite is required: apt-get install -y flite")
    root = tmp_path_factory.mktemp("timit_upper")
    synthesize_corpus(root, 12, seed=3, per_speaker=3)
    return root


@pytest.fixture(scope="session")
def mini_riff(tmp_path_factory):
    root = tmp_path_factory.mktemp("timit_lower")
    synthesize_corpus(root, 12, seed=3, per_speaker=3, audio_format="riff", lowercase=True)
    return root
