"""The feature cache is reused only for identical data and settings, and a damaged one is rebuilt."""

import os
import shutil
import warnings

import numpy as np
import pytest

from rnnaccel.data.features import CacheWarning, FeatureSettings, load_features, split_digest
from rnnaccel.data.timit import list_split


def _same(a, b) -> bool:
    return a.utt_ids == b.utt_ids and all(np.array_equal(x, y) for x, y in zip(a.feats, b.feats, strict=True))


@pytest.fixture
def corpus(mini_sphere, tmp_path):
    root = tmp_path / "corpus"
    shutil.copytree(mini_sphere, root)
    return root


def _only_cache(cache):
    (path,) = cache.glob("test-mfcc-*.safetensors")
    return path


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "header"])
def test_damaged_cache_is_rebuilt_with_a_warning(corpus, tmp_path, damage):
    cache, s = tmp_path / "cache", FeatureSettings()
    first = load_features(corpus, "test", s, cache)
    path = _only_cache(cache)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "overwrite":
        data[-200:-100] = b"\xff" * 100  # NaN-like bytes inside the last tensors
    else:
        data[10:40] = b"{" * 30
    path.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match=rf"{path.name}: damaged feature cache .*rebuilding"):
        again = load_features(corpus, "test", s, cache)
    assert _same(first, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _same(first, load_features(corpus, "test", s, cache))  # the rebuilt file is good


def test_key_covers_content_not_only_size_and_mtime(corpus, tmp_path):
    cache, s = tmp_path / "cache", FeatureSettings()
    first = load_features(corpus, "test", s, cache)
    digest = split_digest(corpus, "test")
    wav = list_split(corpus, "test")[0].wav
    stat = wav.stat()
    data = bytearray(wav.read_bytes())
    data[2000:2010] = bytes(10)  # same size; mtime restored below
    wav.write_bytes(bytes(data))
    os.utime(wav, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert split_digest(corpus, "test") != digest
    again = load_features(corpus, "test", s, cache)
    assert len(list(cache.glob("test-mfcc-*.safetensors"))) == 2
    assert not np.array_equal(first.feats[0], again.feats[0])


def test_cache_dir_that_is_a_file_is_an_error_naming_it(corpus, tmp_path):
    blocker = tmp_path / "cachefile"
    blocker.write_text("x")
    with pytest.raises(ValueError, match=r"cache_dir '.*cachefile': cannot create the feature cache"):
        load_features(corpus, "test", FeatureSettings(), blocker)
