"""Length-aware fused QAT (rnnaccel.quant.fused with ``lengths``): one batched call over utterances of
unequal length gives each utterance exactly what it gets alone (forward bit for bit, zeros beyond its
length, final states at its last frame, reverse direction from its last frame; gradients to float64
rounding), and equals the reference loop, which runs such a batch one sequence at a time."""

import numpy as np
import pytest
import torch
from torch import nn

from rnnaccel.nn.rnn import GRU, LSTM
from rnnaccel.quant import QuantConfig, QuantRecognizer, quant_preset, quantize
from rnnaccel.quant.fused import fused_reason, step_frames

C16, NARROW = QuantConfig.c_lstm(), QuantConfig.uniform(bits=8, frac=4)
LENGTHS = [6, 2, 5, 1, 6]


def _model(cell, peephole=False, k=4, hidden=16, n_in=13, batch_first=False):
    torch.manual_seed(0)
    kw = {"peephole": peephole} if cell == "lstm" else {}
    m = (LSTM if cell == "lstm" else GRU)(n_in, hidden, 2, bidirectional=True, block_size=k,
                                          batch_first=batch_first, **kw).double()
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(3.0)
    return m


def _padded(cfg, lengths, n_in=13):
    """Time-major (T, B, n_in) on the input grid, zeros past each length (as pad_sequence)."""
    gen = torch.Generator().manual_seed(2)
    utts = [torch.round(torch.randn(n, n_in, dtype=torch.float64, generator=gen) * 2 / cfg.input.lsb)
            * cfg.input.lsb for n in lengths]
    return nn.utils.rnn.pad_sequence(utts), utts


def _coeffs(lengths, width, finals_shape):
    gen = torch.Generator().manual_seed(1)
    ys = [torch.randn(n, width, dtype=torch.float64, generator=gen) for n in lengths]
    fs = torch.randn(finals_shape, dtype=torch.float64, generator=gen)
    return ys, fs


def _finals(f):
    return f if isinstance(f, tuple) else (f,)


def _batched(model, cfg, x, lengths, fused=True):
    """Outputs, finals and gradients of one call over the padded batch (loss on the real frames)."""
    model.zero_grad()
    y, finals = quantize(model, cfg, fused=fused)(x, lengths=torch.tensor(lengths))
    finals = _finals(finals)
    ys, fs = _coeffs(lengths, y.shape[-1], finals[0].shape)
    loss = sum((y[:n, b] * ys[b]).sum() for b, n in enumerate(lengths))
    loss = loss + sum((f * fs).sum() for f in finals)
    loss.backward()
    return y.detach(), [f.detach() for f in finals], {n: p.grad.clone() for n, p in model.named_parameters()}


def _alone(model, cfg, utts, lengths):
    """The same loss summed over utterances run one at a time; outputs zero-padded, finals joined."""
    model.zero_grad()
    total = max(lengths)
    outs, finals = [], []
    ys = fs = None
    for b, u in enumerate(utts):
        y, f = quantize(model, cfg)(u[:, None])
        f = _finals(f)
        if ys is None:
            ys, fs = _coeffs(lengths, y.shape[-1], (f[0].shape[0], len(utts), f[0].shape[2]))
        loss = (y[:, 0] * ys[b]).sum() + sum((part * fs[:, b : b + 1]).sum() for part in f)
        loss.backward()
        outs.append(nn.functional.pad(y.detach(), (0, 0, 0, 0, 0, total - len(u))))
        finals.append([part.detach() for part in f])
    joined = [torch.cat(parts, dim=1) for parts in zip(*finals, strict=True)]
    return torch.cat(outs, dim=1), joined, {n: p.grad.clone() for n, p in model.named_parameters()}


def _assert_same(a, b):
    (y0, f0, g0), (y1, f1, g1) = a, b
    assert torch.equal(y0, y1)
    assert all(torch.equal(p, q) for p, q in zip(f0, f1, strict=True))
    for name, g in g0.items():
        assert torch.allclose(g1[name], g, rtol=1e-10, atol=1e-12 * float(g.abs().max())), name


@pytest.mark.parametrize("cfg", [C16, NARROW], ids=["16bit", "8bit-sat"])
@pytest.mark.parametrize("cell,peephole", [("lstm", False), ("lstm", True), ("gru", False)])
def test_batched_unequal_lengths_equal_each_utterance_alone(cfg, cell, peephole):
    model = _model(cell, peephole)
    assert all(fused_reason(d, cfg) is None for layer in model.layers for d in layer)
    x, utts = _padded(cfg, LENGTHS)
    batched = _batched(model, cfg, x, LENGTHS)
    assert not batched[0][LENGTHS[1] :, 1].any() and batched[0][: LENGTHS[1], 1].any()
    _assert_same(_alone(model, cfg, utts, LENGTHS), batched)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_batched_fused_equals_reference_one_by_one(cell):
    """fused=False with unequal lengths runs the reference loop per sequence: the same values."""
    model = _model(cell, peephole=cell == "lstm", k=8, hidden=20)
    x, _ = _padded(NARROW, LENGTHS)
    _assert_same(_batched(model, NARROW, x, LENGTHS, fused=False), _batched(model, NARROW, x, LENGTHS))


def test_padding_values_do_not_matter():
    """What lies past a sequence's length (here large values, not zeros) changes nothing."""
    model = _model("lstm")
    x, _ = _padded(C16, LENGTHS)
    noisy = x.clone()
    for b, n in enumerate(LENGTHS):
        noisy[n:, b] = 7.5
    with torch.no_grad():
        a, fa = quantize(model, C16)(x, lengths=torch.tensor(LENGTHS))
        b, fb = quantize(model, C16)(noisy, lengths=torch.tensor(LENGTHS))
    assert torch.equal(a, b) and all(torch.equal(p, q) for p, q in zip(fa, fb, strict=True))


def test_batch_first_and_full_lengths():
    """batch_first models take (B, T, in); lengths all equal to T is the plain batched call."""
    model = _model("gru", batch_first=True)
    x, _ = _padded(C16, LENGTHS)
    xb = x.transpose(0, 1).contiguous()
    with torch.no_grad():
        y, _ = quantize(model, C16)(xb, lengths=torch.tensor(LENGTHS))
        y_ref, _ = quantize(model, C16, fused=False)(xb, lengths=torch.tensor(LENGTHS))
        full, _ = quantize(model, C16)(xb, lengths=torch.full((5,), 6))
        plain, _ = quantize(model, C16)(xb)
    assert y.shape == (5, 6, 32) and torch.equal(y, y_ref) and torch.equal(full, plain)


def test_step_frames():
    lengths = torch.tensor([3, 1, 2])
    assert step_frames(3, 3, lengths, False).tolist() == [[0, 0, 0], [1, -1, 1], [2, -1, -1]]
    assert step_frames(3, 3, lengths, True).tolist() == [[2, 0, 1], [1, -1, 0], [0, -1, -1]]
    assert np.array_equal(step_frames(2, 2, None, True), [[1, 1], [0, 0]])


def test_bad_lengths_are_rejected():
    model = _model("lstm")
    x, _ = _padded(C16, LENGTHS)
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 6\]"):
        quantize(model, C16)(x, lengths=torch.tensor([7, 2, 5, 1, 6]))
    with pytest.raises(ValueError, match=r"lengths has shape \(2,\), expected \(5,\)"):
        quantize(model, C16)(x, lengths=torch.tensor([6, 2]))


def test_recognizer_batched_equals_alone_with_gradients():
    """QuantRecognizer (batch-first, what QAT trains): log-probs of a padded batch with lengths equal
    each utterance's own, and a CTC-like loss on the real frames has the same gradients."""
    from rnnaccel.shape import RnnShape
    from rnnaccel.train import build_model

    torch.manual_seed(0)
    model = build_model(RnnShape("lstm", 6, 8, num_layers=2, bidirectional=True, block_sizes=4)).double()
    wrapped = QuantRecognizer(model.eval(), quant_preset("16bit"))
    assert all(wrapped.rnn.path_reason(d) is None for layer in wrapped.rnn.model.layers for d in layer)
    utts = [torch.randn(n, 6, dtype=torch.float64) for n in (7, 3, 5)]
    batch = nn.utils.rnn.pad_sequence(utts, batch_first=True)
    logp = wrapped(batch, lengths=torch.tensor([7, 3, 5]))
    logp[0, :7, 1].sum().add(logp[1, :3, 2].sum()).add(logp[2, :5, 3].sum()).backward()
    g_batched = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    for i, (u, col) in enumerate(zip(utts, (1, 2, 3), strict=True)):
        alone = wrapped(u[None])
        assert torch.equal(logp[i, : len(u)], alone[0].detach())
        alone[0, :, col].sum().backward()
    for name, p in model.named_parameters():
        tol = 1e-12 * float(p.grad.abs().max())
        assert torch.allclose(g_batched[name], p.grad, rtol=1e-10, atol=tol), name
