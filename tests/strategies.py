"""Hypothesis strategies shared by all test modules (the profile in conftest.py fixes the seed)."""

from hypothesis import strategies as st

block_sizes = st.sampled_from([1, 2, 3, 4, 8, 16])
small_dims = st.integers(min_value=1, max_value=40)
batch_sizes = st.integers(min_value=1, max_value=4)
seq_lens = st.integers(min_value=1, max_value=6)
seeds = st.integers(min_value=0, max_value=2**31 - 1)
