"""The compiled engine (rnnaccel.ref.fast) against the numpy engine, and per-utterance lengths: the
reverse direction starts at each utterance's own last frame, so a result never depends on batching."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import OverflowStats, QFormat, QuantConfig, quantize
from rnnaccel.ref import export_model, fast, run_int_model
from rnnaccel.ref.fast import fast_path_reason, run_fast, tile_width

pytest.importorskip("numba")

ROLE_K = st.sampled_from([None, 1, 2, 4, 8, 16])


def _config(bits, frac, rounding, overflow):
    seg, lo, hi = {3: (16, -2.0, 2.0), 4: (16, -4.0, 4.0)}.get(bits - frac, (20, -5.0, 5.0))
    cfg = QuantConfig.uniform(bits=bits, frac=frac, rounding=rounding, overflow=overflow,
                              pwl_segments=seg, pwl_range=(lo, hi))
    return cfg.with_formats(twiddle=QFormat(bits=16, frac=14))


configs = st.integers(8, 18).flatmap(
    lambda b: st.builds(_config, st.just(b), st.integers(max(2, b - 8), b - 3),
                        st.sampled_from(["trn", "rnd", "rnd_conv"]), st.sampled_from(["sat", "wrap"]))
)


def _model(kind, n_in, hidden, k_in, k_rec, proj, bi, scale, seed):
    torch.manual_seed(seed)
    sizes = {"input": k_in, "recurrent": k_rec}
    kw = {"batch_first": True, "bidirectional": bi, "block_size": sizes}
    if kind == "gru":
        m = GRU(n_in, hidden, 1 + seed % 2, **kw)
    else:
        p = proj if proj < hidden else 0
        sizes["projection"] = k_in if p else None
        m = LSTM(n_in, hidden, 1 + seed % 2, proj_size=p, peephole=seed % 3 != 0, **kw)
    with torch.no_grad():
        for w in m.parameters():
            w.mul_(scale)
    return m


def _same(a, b):
    assert np.array_equal(a.output, b.output)
    assert np.array_equal(a.h_n, b.h_n)
    assert (a.c_n is None and b.c_n is None) or np.array_equal(a.c_n, b.c_n)
    assert a.overflows == b.overflows


@settings(max_examples=30)
@given(kind=st.sampled_from(["lstm", "gru"]), n_in=st.integers(1, 20), hidden=st.integers(1, 12),
       k_in=ROLE_K, k_rec=ROLE_K, proj=st.integers(1, 9), bi=st.booleans(), cfg=configs,
       batch=st.integers(1, 70), steps=st.integers(1, 6), scale=st.sampled_from([1.0, 8.0]),
       ragged=st.booleans(), seed=st.integers(0, 2**16))
def test_fast_engine_equals_numpy_engine(kind, n_in, hidden, k_in, k_rec, proj, bi, cfg, batch, steps,
                                         scale, ragged, seed):
    """Random shapes, block sizes, formats (all rounding and overflow modes) and saturating weights
    (scale 8): same codes, states and overflow counts (several tiles: test_several_tiles_equal_one)."""
    im = export_model(_model(kind, n_in, hidden, k_in, k_rec, proj, bi, scale, seed), cfg)
    assert fast_path_reason(im) is None
    rng = np.random.default_rng(seed)
    amp = 2 ** (cfg.input.bits - 1)
    x = rng.integers(-amp, amp, (batch, steps, n_in))
    lengths = rng.integers(1, steps + 1, batch) if ragged else None
    _same(run_fast(im, x, lengths), run_int_model(im, x, lengths=lengths))


def test_saturating_case_counts_overflows():
    """A narrow 8-bit datapath with large weights overflows at many points; both engines agree."""
    cfg = _config(8, 4, "rnd", "sat")
    im = export_model(_model("lstm", 10, 8, 4, 4, 4, True, 6.0, 2), cfg)
    x = np.random.default_rng(0).integers(-128, 128, (5, 7, 10))
    fast = run_fast(im, x)
    _same(fast, run_int_model(im, x))
    assert sum(fast.overflows.values()) > 100


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_several_tiles_equal_one(kind, monkeypatch):
    """A batch split into several tiles (MAX_TILE 8 here: 3 tiles of 8, the last partly padding),
    ragged lengths (a tile runs out before the others) and saturating weights: same as numpy."""
    im = export_model(_model(kind, 10, 8, 4, 4, 4, True, 6.0, 3), _config(10, 5, "rnd", "sat"))
    monkeypatch.setattr(fast, "MAX_TILE", 8)
    rng = np.random.default_rng(3)
    x, lengths = rng.integers(-512, 512, (21, 6, 10)), rng.integers(1, 7, 21)
    assert tile_width(21) == 8
    _same(run_fast(im, x, lengths), run_int_model(im, x, lengths=lengths))


def test_tile_width_splits_the_batch_evenly():
    assert [tile_width(b, 256) for b in (1, 9, 192, 256, 257, 384, 1000)] == [8, 16, 192, 256, 136, 192, 256]


def _bench_shape(kind):
    torch.manual_seed(0)
    kw = {"batch_first": True, "bidirectional": True, "block_size": 8}
    if kind == "gru":
        return GRU(13, 16, 2, **kw)
    return LSTM(13, 16, 2, proj_size=8, peephole=True, **kw)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("engine", ["numpy", "fast"])
def test_lengths_batch_one_equals_batch_n(kind, engine):
    """Each utterance alone (its own length, no padding) = its row of a padded batch, exactly: outputs
    on its frames, zeros beyond, final states at its own last frame; overflow counts add up."""
    run = (lambda m, x, n: run_fast(m, x, n)) if engine == "fast" else (
        lambda m, x, n: run_int_model(m, x, lengths=n))
    im = export_model(_bench_shape(kind), QuantConfig.c_lstm())
    rng = np.random.default_rng(1)
    lengths = np.array([7, 3, 9, 1, 9, 4])
    x = rng.integers(-700, 700, (len(lengths), 9, 13))
    batch = run(im, x, lengths)
    total: dict[str, int] = {}
    for b, n in enumerate(lengths):
        alone = run(im, x[b : b + 1, :n], None)
        assert np.array_equal(batch.output[b, :n], alone.output[0])
        assert not batch.output[b, n:].any()
        assert np.array_equal(batch.h_n[:, b], alone.h_n[:, 0])
        total = {k: total.get(k, 0) + v for k, v in alone.overflows.items()}
    export = im.export_overflows
    assert batch.overflows == {k: v - (len(lengths) - 1) * export.get(k, 0) for k, v in total.items()}


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_lengths_match_fake_quant_torch_per_utterance(kind):
    """The padded batch with lengths = the fake-quant torch model on each utterance alone."""
    model = _bench_shape(kind)
    cfg = QuantConfig.c_lstm()
    im = export_model(model, cfg)
    lengths = np.array([5, 2, 6])
    x = np.random.default_rng(2).integers(-700, 700, (3, 6, 13))
    res = run_fast(im, x, lengths)
    for b, n in enumerate(lengths):
        with torch.no_grad():
            xb = torch.from_numpy(x[b : b + 1, :n] * cfg.input.lsb)
            y, _ = quantize(model, cfg)(xb, stats=OverflowStats())
        assert np.array_equal(y.numpy()[0] * 2.0**res.output_format.frac, res.output[b, :n])


def test_bad_lengths_are_named():
    im = export_model(_bench_shape("gru"), QuantConfig.c_lstm())
    x = np.zeros((2, 4, 13), np.int64)
    for run in (lambda n: run_fast(im, x, n), lambda n: run_int_model(im, x, lengths=n)):
        with pytest.raises(ValueError, match=r"lengths must lie in 1..4 \(the padded time axis\), got \[5"):
            run(np.array([5, 1]))
        with pytest.raises(ValueError, match="lengths must be 2 integers"):
            run(np.array([1, 2, 3]))


def test_without_numba_the_numpy_engine_runs(monkeypatch):
    from rnnaccel.ref import fast

    im = export_model(_bench_shape("lstm"), QuantConfig.c_lstm())
    monkeypatch.setattr(fast, "_kernels", lambda: None)
    assert "numba is not installed" in fast_path_reason(im)
    x = np.random.default_rng(4).integers(-700, 700, (2, 5, 13))
    _same(run_fast(im, x, np.array([5, 3])), run_int_model(im, x, lengths=np.array([5, 3])))
