"""Checkpoints both ways between ``rnnaccel.nn.LSTM``/``GRU`` and ``torch.nn.LSTM``/``GRU``.

torch names the parameters of layer ``l`` ``weight_ih_l{l}``, ``weight_hh_l{l}``, ``bias_ih_l{l}``,
``bias_hh_l{l}`` and, for a projected LSTM, ``weight_hr_l{l}`` (suffix ``_reverse`` for direction 1);
rnnaccel names them ``layers.{l}.{d}.{ih|hh|proj}.{weight|bias}`` (docs/nn.md, structure contract). A
state dict in torch's names loads into a module whose roles are dense (``load_state_dict`` translates
the names); ``to_torch`` builds the equivalent torch module (a block-circulant role is expanded to its
dense matrix, which represents it exactly).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor, nn

__all__ = ["TORCH_ROLE_NAMES", "torch_key_pairs", "translate_torch_keys", "to_torch"]

# (rnnaccel role, its parameter, torch's name stem)
TORCH_ROLE_NAMES = (("ih", "weight", "weight_ih"), ("ih", "bias", "bias_ih"), ("hh", "weight", "weight_hh"),
                    ("hh", "bias", "bias_hh"), ("proj", "weight", "weight_hr"))


def torch_key_pairs(rnn: nn.Module) -> Iterator[tuple[str, str, nn.Module]]:
    """``(torch key, rnnaccel key, role module)`` for every parameter the torch module would have."""
    for layer, directions in enumerate(rnn.layers):
        for d, direction in enumerate(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            for role, param, stem in TORCH_ROLE_NAMES:
                module = getattr(direction, role, None)
                if module is not None and getattr(module, param, None) is not None:
                    yield stem + sfx, f"layers.{layer}.{d}.{role}.{param}", module


def translate_torch_keys(rnn: nn.Module, state_dict: dict, prefix: str, *_: object) -> None:
    """``load_state_dict`` pre-hook: rename torch's keys under ``prefix`` to rnnaccel's, in place.

    A torch key aimed at a block-circulant role is an error naming the key: a dense matrix loads into a
    circulant role only by projection, which ``LSTM.from_torch(module, block_size=...)`` does explicitly.
    """
    if not any(key.startswith(prefix + "weight_ih_l") for key in state_dict):
        return
    from rnnaccel.nn.circulant import BlockCirculantLinear

    for torch_key, our_key, module in torch_key_pairs(rnn):
        if prefix + torch_key not in state_dict:
            continue
        if isinstance(module, BlockCirculantLinear) and our_key.endswith("weight"):
            raise ValueError(f"state dict key {prefix + torch_key!r} is a dense matrix but role "
                             f"{our_key.rsplit('.', 1)[0]!r} is block-circulant (block_size="
                             f"{module.block_size}); load it with from_torch(module, block_size=...)")
        state_dict[prefix + our_key] = state_dict.pop(prefix + torch_key)


def _dense(module: nn.Module) -> Tensor:
    from rnnaccel.nn.circulant import dense_weight

    return dense_weight(module).detach()


def to_torch(rnn: nn.Module) -> nn.LSTM | nn.GRU:
    """The equivalent ``torch.nn.LSTM``/``GRU`` (same outputs; circulant roles expanded to dense).

    Peepholes have no torch counterpart: a peephole LSTM is a ValueError.
    """
    from rnnaccel.nn.rnn import GRU, LSTM

    if isinstance(rnn, LSTM) and rnn.peephole:
        raise ValueError("torch.nn.LSTM has no peepholes: an LSTM with peephole=True cannot be exported")
    if not isinstance(rnn, LSTM | GRU):
        raise TypeError(f"expected an rnnaccel.nn.LSTM or GRU, got {type(rnn).__name__}")
    ref = next(rnn.parameters())
    kwargs = dict(input_size=rnn.input_size, hidden_size=rnn.hidden_size, num_layers=rnn.num_layers,
                  bias=rnn.bias, batch_first=rnn.batch_first, dropout=rnn.dropout,
                  bidirectional=rnn.bidirectional, device=ref.device, dtype=ref.dtype)
    out = nn.LSTM(**kwargs, proj_size=rnn.proj_size) if isinstance(rnn, LSTM) else nn.GRU(**kwargs)
    with torch.no_grad():
        for torch_key, our_key, module in torch_key_pairs(rnn):
            value = _dense(module) if our_key.endswith("weight") else module.bias.detach()
            getattr(out, torch_key).copy_(value)
    return out.train(rnn.training)
