"""Shared cases of the RTL tests: the two formats of the issue and a third with other modes."""

from __future__ import annotations

from rnnaccel.quant.config import QuantConfig

CONFIGS = {
    "ap_fixed<16,8>": QuantConfig.c_lstm(),
    "ap_fixed<12,4>": QuantConfig.twelve_bit(),
}
# Round-half-even with wrap-around and truncation with saturation: the other rounding/overflow paths.
MODES = {
    "rnd_conv+wrap": QuantConfig.uniform(bits=12, frac=6, rounding="rnd_conv", overflow="wrap"),
    "trn+sat": QuantConfig.uniform(bits=10, frac=5, rounding="trn"),
}
