"""A tiny synthetic corpus shared by the training tests."""

import pytest

from rnnaccel.data.synth import synthesize_corpus


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_timit")
    synthesize_corpus(root, 10, seed=5, per_speaker=2, test_fraction=0.2)
    return root
