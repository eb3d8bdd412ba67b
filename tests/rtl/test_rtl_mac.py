"""The frequency-domain MAC bank in Amaranth's simulator, bit-exact against the engine's
``_freq_mac`` + ``freq_acc`` rounding (rnnaccel.ref.pe.mac_block)."""

import numpy as np
import pytest
import torch
from rtl_cases import CONFIGS

from rnnaccel.nn import GRU
from rnnaccel.quant.fakequant import OverflowStats
from rnnaccel.ref.export import export_model
from rnnaccel.ref.pe import mac_block
from rnnaccel.rtl.mac import MAC_LATENCY, MACBank, weight_words
from rnnaccel.rtl.sim import pack, run_stream, unpack
from rnnaccel.rtl.vectors import decode_bins, encode_bins, random_codes, random_role

UNUSED = pytest.mark.filterwarnings("ignore:.*created but never used")


def _bins(cfg, n, q, k, rng, saturating):
    shape = (n, q, k // 2 + 1)
    re, im = random_codes(cfg.fft, shape, rng, saturating), random_codes(cfg.fft, shape, rng, saturating)
    im[..., [0, k // 2]] = 0  # every FFT-k output has real DC and Nyquist bins
    return re, im


def _run_bank(role, cfg, lanes, re, im, ready=None):
    """Stream (n, q, bins) through a bank: each vector once per pass; -> (n, p, bins) re, im."""
    dut = MACBank(role, cfg, lanes)
    n, q = re.shape[:2]
    order = [(v, j) for v in range(n) for _ in range(dut.passes) for j in range(q)]
    ins = encode_bins(dut.i.payload.shape(), [re[v, j] for v, j in order], [im[v, j] for v, j in order])
    run = run_stream(dut, ins, n * dut.passes, ready=ready)
    lane_layout = dut.o.payload.shape().elem_shape
    blocks = [b for raw in run.outputs for b in unpack(dut.o.payload.shape(), raw)]
    got_re, got_im = decode_bins(lane_layout, [pack(lane_layout, b) for b in blocks])
    nb = re.shape[-1]
    shape = (n, dut.passes * lanes, nb)
    return got_re.reshape(shape)[:, : role.p], got_im.reshape(shape)[:, : role.p], run, dut


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize(("k", "p", "q", "lanes"), [(4, 3, 2, 2), (8, 2, 3, 1), (16, 2, 2, 2)])
@pytest.mark.parametrize("saturating", [False, True], ids=["random", "saturating"])
def test_mac_bank_matches_ref(k, p, q, lanes, name, saturating):
    cfg, rng = CONFIGS[name], np.random.default_rng(k + 10 * p + saturating)
    role = random_role(k, p, q, cfg, rng, saturating)
    re, im = _bins(cfg, 2, q, k, rng, saturating)
    stats = OverflowStats()
    want_re, want_im = mac_block(role, re, im, cfg, stats)
    if saturating:
        assert stats["freq_acc"] > 0, "saturating vectors must overflow freq_acc"
    got_re, got_im, run, dut = _run_bank(role, cfg, lanes, re, im)
    for got, want, part in ((got_re, want_re, "re"), (got_im, want_im, "im")):
        bad = np.argwhere(got != want)
        assert not bad.size, f"{part} first mismatch (vector, block, bin) {tuple(bad[0])}"
    assert run.in_cycles == tuple(range(2 * dut.passes * q)), "one input block per clock"
    last_of_pass = [run.in_cycles[(t + 1) * q - 1] for t in range(len(run.out_cycles))]
    latencies = [o - i for i, o in zip(last_of_pass, run.out_cycles, strict=True)]
    assert latencies == [MAC_LATENCY] * len(last_of_pass)


def test_mac_bank_from_an_exported_model_under_backpressure():
    torch.manual_seed(3)
    cfg = CONFIGS["ap_fixed<16,8>"]
    role = export_model(GRU(16, 8, block_size=8), cfg).layers[0][0].ih  # 24 x 16: p = 3, q = 2
    assert (role.p, role.q, role.block_size) == (3, 2, 8)
    rng = np.random.default_rng(1)
    re, im = _bins(cfg, 2, role.q, 8, rng, False)
    want_re, want_im = mac_block(role, re, im, cfg)
    got_re, got_im, _, _ = _run_bank(role, cfg, 2, re, im, ready=[True, False, True])
    assert (got_re == want_re).all() and (got_im == want_im).all()


def test_weight_words_pack_the_bins_of_each_pair():
    cfg = CONFIGS["ap_fixed<12,4>"]
    role = random_role(4, 3, 2, cfg, np.random.default_rng(0))
    words = weight_words(role, 2, 12)
    assert [len(w) for w in words] == [4, 4]  # 2 passes x q = 2 pairs per lane
    w = words[1][0]  # lane 1, pass 0: output block 1, input block 0
    codes = [((w >> (12 * n)) & 0xFFF) - (((w >> (12 * n)) & 0x800) << 1) for n in range(4)]
    assert codes == [role.w_re[1, 0, 0], role.w_re[1, 0, 1], role.w_im[1, 0, 1], role.w_re[1, 0, 2]]
    assert words[1][2] == 0 and words[1][3] == 0  # block 3 of lane 1 does not exist (p = 3)


@UNUSED
def test_bad_roles_are_named():
    cfg = CONFIGS["ap_fixed<16,8>"]
    role = random_role(8, 2, 2, cfg, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"lanes=3 must be an int in 1\.\.p=2"):
        MACBank(role, cfg, 3)
    role.w_im[0, 1, 0] = 5
    with pytest.raises(ValueError, match="DC and Nyquist bins of every weight block must be real"):
        MACBank(role, cfg)
    with pytest.raises(TypeError, match="IntCirculant"):
        MACBank("role", cfg)
