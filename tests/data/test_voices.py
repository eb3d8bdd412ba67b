"""Every registered voice renders, with phone end times covering the audio and TIMIT-mappable phones."""

import numpy as np
import pytest

from rnnaccel.data.voices import BACKENDS, VOICES, Request, require_voices, voice


def test_registry_is_explicit_and_complete():
    assert set(BACKENDS) == {"flite", "festival"}
    assert {v.engine for v in VOICES.values()} <= set(BACKENDS)
    assert set(VOICES) == {"kal", "kal16", "awb", "rms", "slt", "kal_diphone", "ked_diphone",
                           "cmu_us_slt_arctic_hts"}
    with pytest.raises(ValueError, match="unknown voice 'xyz'; known voices: kal"):
        require_voices(["xyz"])


@pytest.mark.parametrize("name", sorted(VOICES))
def test_each_voice_renders_16k_with_mappable_phones(name, tmp_path):
    v = voice(name)
    backend = BACKENDS[v.engine]
    assert backend.missing(v) is None, backend.missing(v)
    f0 = None if v.f0_range_hz is None else v.f0_range_hz[0]
    (r,) = backend.render(v, [Request("The young boy saw a cat.", 1.0, f0)], tmp_path)
    assert r.pcm.dtype == np.int16 and r.pcm.size > 8000
    assert all(p in backend.phone_map for p, _ in r.ends)
    ends = [t for _, t in r.ends]
    # the diphone voices cut the final pause short: the audio ends inside it (corpus clips it)
    assert ends == sorted(ends) and ends[-2] < r.pcm.size / 16000 < ends[-1] + 0.1
    assert r.ends[0][0] == "pau" and {"b", "oy", "s"} <= {p for p, _ in r.ends}
