"""BlockCirculantLinear: FFT path vs expanded dense matrix, projection exactness, gradcheck, errors."""

import pytest
import torch
from hypothesis import given
from strategies import block_sizes, small_dims

from rnnaccel.compress import project_block_circulant
from rnnaccel.nn import BlockCirculantLinear, dense_weight, expand_block_circulant


@given(in_f=small_dims, out_f=small_dims, k=block_sizes)
def test_fft_forward_equals_dense(in_f: int, out_f: int, k: int) -> None:
    layer = BlockCirculantLinear(in_f, out_f, k).double()
    x = torch.randn(3, in_f, dtype=torch.float64)
    expected = x @ layer.to_dense().T + layer.bias
    torch.testing.assert_close(layer(x), expected, rtol=1e-10, atol=1e-12)
    layer.eval()
    with torch.inference_mode():
        torch.testing.assert_close(layer(x), expected, rtol=1e-10, atol=1e-12)


def test_first_column_convention() -> None:
    layer = BlockCirculantLinear(3, 3, 3, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[[1.0, 2.0, 3.0]]]))
    expected = torch.tensor([[1.0, 3.0, 2.0], [2.0, 1.0, 3.0], [3.0, 2.0, 1.0]])
    torch.testing.assert_close(layer.to_dense(), expected)
    assert layer.freq_weight().shape == (1, 1, 2)
    torch.testing.assert_close(layer.freq_weight(), torch.fft.rfft(layer.weight.detach()))


def test_shapes_and_attributes() -> None:
    layer = BlockCirculantLinear(153, 1024, 16)
    assert (layer.p, layer.q, layer.weight.shape) == (64, 10, (64, 10, 16))
    assert dense_weight(layer).shape == (1024, 153)
    assert dense_weight(torch.nn.Linear(4, 5)).shape == (5, 4)


_SMALL = small_dims.filter(lambda v: v <= 13)


def _basis_inner_products(residual: torch.Tensor, k: int) -> torch.Tensor:
    """<residual, cropped basis matrix E_{i,j,d}> for every block (i, j) and diagonal d."""
    m, n = residual.shape
    p, q = -(-m // k), -(-n // k)
    out = torch.empty(p, q, k, dtype=residual.dtype)
    for i in range(p):
        for j in range(q):
            for d in range(k):
                basis = torch.zeros(p, q, k, dtype=residual.dtype)
                basis[i, j, d] = 1.0
                out[i, j, d] = (residual * expand_block_circulant(basis, m, n)).sum()
    return out


@given(in_f=_SMALL, out_f=_SMALL, k=block_sizes.filter(lambda v: v <= 4))
def test_projection_is_exact(in_f: int, out_f: int, k: int) -> None:
    w = torch.randn(out_f, in_f, dtype=torch.float64)
    proj = project_block_circulant(w, k)
    torch.testing.assert_close(project_block_circulant(proj, k), proj, rtol=0, atol=1e-12)
    inner = _basis_inner_products(w - proj, k)
    torch.testing.assert_close(inner, torch.zeros_like(inner), rtol=0, atol=1e-10)
    torch.testing.assert_close(BlockCirculantLinear.from_dense(w, k).to_dense(), proj)


def test_edge_block_mean_ignores_padding() -> None:
    w = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # one 4x4 block, 2x3 inside
    proj = project_block_circulant(w, 4)
    # diagonal 0 holds (0,0)=1 and (1,1)=5 inside -> 3; diagonal 1: (1,0)=4 -> 4;
    # diagonal 3 = -1: (0,1)=2, (1,2)=6 -> 4; diagonal 2 = -2: (0,2)=3 -> 3
    torch.testing.assert_close(proj, torch.tensor([[3.0, 4.0, 3.0], [4.0, 3.0, 4.0]]))


def test_from_dense_keeps_bias() -> None:
    w, b = torch.randn(6, 5), torch.randn(6)
    layer = BlockCirculantLinear.from_dense(w, 2, bias=b)
    torch.testing.assert_close(layer.bias.detach(), b)
    with pytest.raises(ValueError, match=r"bias has shape \(5,\), expected \(6,\)"):
        BlockCirculantLinear.from_dense(w, 2, bias=torch.randn(5))


def test_gradcheck_float64() -> None:
    layer = BlockCirculantLinear(7, 5, 4).double()
    x = torch.randn(2, 7, dtype=torch.float64, requires_grad=True)
    params = (x, layer.weight, layer.bias)
    fn = lambda x_, w_, b_: torch.func.functional_call(layer, {"weight": w_, "bias": b_}, (x_,))  # noqa: E731
    assert torch.autograd.gradcheck(fn, params)


def test_fast_cache_invalidated_by_inplace_update() -> None:
    layer = BlockCirculantLinear(8, 8, 4).eval()
    x = torch.randn(2, 8)
    with torch.no_grad():
        layer(x)
        layer.weight.mul_(2.0)
        torch.testing.assert_close(layer(x), x @ layer.to_dense().T + layer.bias)


@pytest.mark.parametrize("k, exc, msg", [(0, ValueError, "block_size must be >= 1, got 0"),
                                          (-3, ValueError, "got -3"),
                                          (2.0, TypeError, "block_size must be an int >= 1, got 2.0")])
def test_bad_block_size(k: object, exc: type, msg: str) -> None:
    with pytest.raises(exc, match=msg):
        BlockCirculantLinear(4, 4, k)
    with pytest.raises(exc, match=msg):
        project_block_circulant(torch.randn(4, 4), k)


def test_bad_input_width() -> None:
    with pytest.raises(ValueError, match="input has width 5, expected in_features=4"):
        BlockCirculantLinear(4, 4, 2)(torch.randn(3, 5))
    with pytest.raises(ValueError, match=r"weight must be a 2-D \(out, in\) matrix, got shape \(4,\)"):
        project_block_circulant(torch.randn(4), 2)
    with pytest.raises(TypeError, match="expected torch.nn.Linear or BlockCirculantLinear, got ReLU"):
        dense_weight(torch.nn.ReLU())
