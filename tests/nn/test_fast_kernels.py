"""The compiled kernels' building blocks against numpy: DFT, MACs (per output and per dot product), IDFT.

float64, rtol 1e-12: the kernels sum in another order than numpy's FFT/matmul. Shapes cover the four-row
passes with and without a remainder, odd and even k.
"""

import numpy as np
import pytest

pytest.importorskip("numba")

from rnnaccel.nn.fast import compiled_kernels as K  # noqa: E402
from rnnaccel.nn.fast.compiled import dft_tables  # noqa: E402

TOL = {"rtol": 1e-12, "atol": 1e-12}


def _spectrum(rng: np.random.Generator, nbins: int, n: int, k: int) -> np.ndarray:
    z = rng.standard_normal((nbins, n)) + 1j * rng.standard_normal((nbins, n))
    z[0].imag = 0
    if k % 2 == 0:
        z[-1].imag = 0
    return z


@pytest.mark.parametrize("k, n", [(16, 10), (8, 7), (3, 5), (4, 1)])
def test_dft_equals_rfft(k: int, n: int) -> None:
    rng = np.random.default_rng(k)
    xt = rng.standard_normal((k, n))  # t-major blocks: block j is xt[:, j]
    dft = dft_tables(k, np.float64)
    zr, zi = np.zeros((k // 2 + 1, n + 2)), np.zeros((k // 2 + 1, n + 2))
    K._dft(xt, dft[0], dft[1], zr, zi, 2)
    ref = np.fft.rfft(xt, axis=0)
    np.testing.assert_allclose(zr[:, 2:] + 1j * zi[:, 2:], ref, **TOL)


@pytest.mark.parametrize("k, q, p", [(16, 42, 64), (8, 7, 33), (3, 9, 5), (4, 3, 2)])
def test_macs_equal_complex_matmul(k: int, q: int, p: int) -> None:
    rng = np.random.default_rng(q)
    nbins = k // 2 + 1
    w = _spectrum(rng, nbins, q * p, k).reshape(nbins, q, p)
    z = _spectrum(rng, nbins, q, k)
    ref = np.einsum("fjp,fj->fp", w, z)
    ar, ai = np.zeros((nbins, p)), np.zeros((nbins, p))
    wr, wi = np.ascontiguousarray(w.real), np.ascontiguousarray(w.imag)
    K._mac(wr, wi, z.real.copy(), z.imag.copy(), ar, ai, k)
    np.testing.assert_allclose(ar + 1j * ai, ref, **TOL)
    wt = w.transpose(0, 2, 1)
    br, bi = np.zeros((nbins, p)), np.zeros((nbins, p))
    K._mac_dot(np.ascontiguousarray(wt.real), np.ascontiguousarray(wt.imag), z.real.copy(), z.imag.copy(),
               br, bi, k, 0.0)
    np.testing.assert_allclose(br + 1j * bi, ref, **TOL)


@pytest.mark.parametrize("k, gates, m", [(16, 4, 5), (8, 3, 2), (3, 4, 3), (2, 1, 4)])
def test_gate_idft_equals_irfft_plus_bias(k: int, gates: int, m: int) -> None:
    rng = np.random.default_rng(k + m)
    nbins = k // 2 + 1
    spec = _spectrum(rng, nbins, gates * m, k)
    bias = rng.standard_normal((gates, k, m))
    dft = dft_tables(k, np.float64)
    out, rows = np.zeros((gates, k, m)), np.zeros((k, gates * m))
    K._idft_gates(spec.real.copy(), spec.imag.copy(), dft[2].T, dft[3].T, bias, rows, out)
    ref = np.fft.irfft(spec, n=k, axis=0).reshape(k, gates, m).transpose(1, 0, 2) + bias
    np.testing.assert_allclose(out, ref, **TOL)
    single = np.zeros((k, gates * m))
    K._idft(spec.real.copy(), spec.imag.copy(), dft[2].T, dft[3].T, single)
    np.testing.assert_allclose(single, np.fft.irfft(spec, n=k, axis=0), **TOL)
