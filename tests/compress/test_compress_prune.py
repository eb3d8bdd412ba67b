"""ESE load-balance-aware pruning: equal non-zeros per PE, 90% sparsity, masks enforced while training,
relative-index storage round trip and hand-counted storage/cost figures."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rnnaccel.compress import (
    balanced_mask,
    decode_relative,
    encode_relative,
    ese_storage_bits,
    iter_roles,
    model_cost,
    pe_nonzeros,
    prune_model,
    to_block_circulant,
)
from rnnaccel.nn import GRU, LSTM, circulant_mults


def test_balanced_mask_equal_nnz_per_pe_at_90_percent():
    w = torch.randn(64, 40)
    w[::8] *= 10  # PE 0's rows are much larger: plain magnitude pruning would give it most of the work
    mask = balanced_mask(w, 0.9, n_pe=8)
    assert mask.sum() == 256 == round(0.1 * w.numel())
    assert pe_nonzeros(w * mask, 8) == [32] * 8
    per_pe_rows = w[1::8].abs()  # within a PE the largest magnitudes are kept
    kept = per_pe_rows[mask[1::8]]
    assert kept.min() >= per_pe_rows[~mask[1::8]].max()


@given(rows=st.integers(4, 30), cols=st.integers(1, 20), n_pe=st.integers(1, 4),
       sparsity=st.sampled_from([0.0, 0.5, 0.9]))
def test_balanced_mask_property(rows, cols, n_pe, sparsity):
    w = torch.randn(rows, cols)
    counts = pe_nonzeros(w * balanced_mask(w, sparsity, n_pe), n_pe)
    assert len(set(counts)) == 1
    assert counts[0] == math.floor((1 - sparsity) * (rows // n_pe) * cols + 1e-9)


@pytest.mark.parametrize(("args", "match"), [
    ((1.0, 4), "sparsity must be a number in \\[0, 1\\)"),
    ((0.9, 0), "n_pe must be an int in \\[1, rows=8\\]"),
    ((0.9, 9), "n_pe must be an int"),
])
def test_balanced_mask_errors(args, match):
    with pytest.raises(ValueError, match=match):
        balanced_mask(torch.randn(8, 8), *args)


def test_masks_stay_enforced_during_fine_tuning():
    model = LSTM(10, 16, bidirectional=True)
    masks = prune_model(model, 0.9, n_pe=4)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.randn(5, 3, 10)
    for _ in range(5):
        loss = model(x)[0].pow(2).mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    for role in iter_roles(model):
        w = role.module.weight
        assert torch.all(w[~masks[role.key]] == 0)
        assert pe_nonzeros(w, 4) == [int(0.1 * w.numel() / 4)] * 4
        assert (w[masks[role.key]] != 0).all()  # kept weights still train


def test_relative_index_encoding_round_trip_with_padding():
    w = torch.zeros(3, 40)
    w[0, [0, 1, 17, 39]] = torch.tensor([1.0, 2.0, 3.0, 4.0])  # gap 15 fits, gap 21 needs one pad
    w[2, 35] = 5.0  # gap 35: two padding entries (16 + 16 zeros skipped) then the value
    enc = encode_relative(w, index_bits=4)
    assert torch.equal(decode_relative(enc), w)
    assert enc.rel_index.tolist() == [0, 0, 15, 15, 5, 15, 15, 3]
    assert enc.row_ptr.tolist() == [0, 5, 5, 8]
    # 8 stored entries x (12 + 4) bits + 3 row pointers x 16 bits
    assert ese_storage_bits(w, 12, 4, 16) == 8 * 16 + 3 * 16


def test_encoding_random_round_trip():
    w = torch.randn(20, 70) * (torch.rand(20, 70) < 0.1)
    assert torch.equal(decode_relative(encode_relative(w, 3)), w)


def test_model_cost_dense_circulant_pruned():
    gru = GRU(39, 64, bidirectional=True)
    dense = model_cost(gru, 16)
    n = 2 * (192 * 39 + 192 * 64)
    assert dense.params == n == dense.mults_per_frame
    assert dense.storage_bytes == n * 2
    circ = model_cost(to_block_circulant(GRU(39, 64), 8), 16)
    assert circ.params == 24 * 5 * 8 + 24 * 8 * 8  # p*q*k per role
    assert circ.mults_per_frame == circulant_mults(192, 39, 8) + circulant_mults(192, 64, 8)
    prune_model(gru, 0.9, 8)
    sparse = model_cost(gru, 12, sparse=True)
    nnz = sum(int((r.module.weight != 0).sum()) for r in iter_roles(gru))
    assert sparse.params == nnz == sparse.mults_per_frame
    bits = sum(ese_storage_bits(r.module.weight, 12) for r in iter_roles(gru))
    assert sparse.storage_bytes == -(-bits // 8)


def test_model_cost_rejects_bad_bits():
    with pytest.raises(ValueError, match="weight_bits must be a positive int, got 0"):
        model_cost(GRU(4, 4), 0)
