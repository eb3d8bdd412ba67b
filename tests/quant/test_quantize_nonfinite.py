"""quantize_float on non-finite and huge inputs: saturation goes to the right end, NaN is an error."""

import dataclasses

import numpy as np
import pytest

from rnnaccel.quant.qformat import Overflow, QFormat, quantize_float


@pytest.mark.parametrize(
    "fmt", [QFormat(bits=16, frac=8), QFormat(bits=8, frac=0), QFormat(bits=12, frac=11, signed=False)]
)
def test_infinities_and_huge_values_saturate_to_their_own_end(fmt):
    codes, n = quantize_float(np.array([np.inf, 1e300, -np.inf, -1e300, 0.0]), fmt)
    assert codes.tolist() == [fmt.code_max, fmt.code_max, fmt.code_min, fmt.code_min, 0]
    assert n == 4


def test_nan_and_wrapped_infinity_are_errors():
    fmt = QFormat(bits=16, frac=8)
    with pytest.raises(ValueError, match="cannot quantize NaN"):
        quantize_float(np.array([1.0, np.nan]), fmt)
    with pytest.raises(ValueError, match="too large"), np.errstate(invalid="ignore"):
        quantize_float(np.array([np.inf]), dataclasses.replace(fmt, overflow=Overflow.WRAP))
