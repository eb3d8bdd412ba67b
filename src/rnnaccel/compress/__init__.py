"""Compression towards E-RNN's Phase I: block-circulant projection, ADMM, direct circulant training,
ESE load-balance-aware pruning, cost metrics and model selection (docs/compress.md)."""

from rnnaccel.compress.admm import ADMMSchedule, ADMMState, IterationLog
from rnnaccel.compress.cost import ModelCost, model_cost
from rnnaccel.compress.projection import project_block_circulant
from rnnaccel.compress.prune import (
    EncodedMatrix,
    balanced_mask,
    decode_relative,
    encode_relative,
    ese_storage_bits,
    pe_nonzeros,
    prune_model,
)
from rnnaccel.compress.roles import Role, find_rnn, iter_roles, to_block_circulant

__all__ = [
    "ADMMSchedule",
    "ADMMState",
    "EncodedMatrix",
    "IterationLog",
    "ModelCost",
    "Role",
    "balanced_mask",
    "decode_relative",
    "encode_relative",
    "ese_storage_bits",
    "find_rnn",
    "iter_roles",
    "model_cost",
    "pe_nonzeros",
    "project_block_circulant",
    "prune_model",
    "to_block_circulant",
]
