"""`rnnaccel rtl pe`: the processing element's Verilog (Amaranth) and its Yosys resources.

Writes ``DIR/pe.v`` (hierarchy kept) and ``DIR/synth.json`` (one ``synth_xilinx`` report per
family). The weights are a seeded random block-circulant role of the requested shape (the MAC
bank's memories are initialized from it): resources do not depend on the weight values, except
that Yosys turns ROM bit columns that happen to be constant into logic.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["rtl"]


@click.group()
def rtl() -> None:
    """Synthesizable RTL (Amaranth -> Verilog) of the E-RNN processing element, synthesized with Yosys."""


def _parse(block_size: int, fmt_text: str, lanes: int, out_blocks: int, in_blocks: int):
    """Validated (config, k) for the CLI's values; ClickException naming the bad one."""
    from rnnaccel.quant.config import QuantConfig
    from rnnaccel.quant.qformat import parse_format
    from rnnaccel.rtl.fixed import check_block_size

    try:
        k, fmt = check_block_size(block_size), parse_format(fmt_text)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    if not fmt.signed:
        raise click.ClickException(f"format {fmt_text!r} is unsigned; the datapath needs a signed ap_fixed")
    if not 1 <= lanes <= out_blocks or in_blocks < 1:
        raise click.ClickException(f"need 1 <= --lanes ({lanes}) <= --out-blocks ({out_blocks}) and "
                                   f"--in-blocks >= 1 (got {in_blocks})")
    return QuantConfig.uniform(bits=fmt.bits, frac=fmt.frac, rounding=fmt.rounding, overflow=fmt.overflow), k


def build_pe_verilog(k: int, config, lanes: int, out_blocks: int, in_blocks: int, seed: int):
    """(PE component, Verilog text) for a seeded random role of ``out_blocks`` x ``in_blocks`` blocks."""
    import numpy as np

    from rnnaccel.rtl.pe import PE
    from rnnaccel.rtl.synth import to_verilog
    from rnnaccel.rtl.vectors import random_role

    role = random_role(k, out_blocks, in_blocks, config, np.random.default_rng(seed))
    pe = PE(role, config, config.input, lanes)
    return pe, to_verilog(pe, "pe")


@rtl.command("pe")
@click.option("--block-size", "-k", "block_size", type=int, default=8, show_default=True,
              help="Circulant block size k (a power of two, 2..32).")
@click.option("--format", "fmt_text", default="ap_fixed<16,8>", show_default=True,
              help="Datapath format of every quantization point, 'ap_fixed<W,I>'.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for pe.v and synth.json.")
@click.option("--lanes", type=int, default=1, show_default=True, help="Output blocks in parallel (P).")
@click.option("--out-blocks", type=int, default=2, show_default=True, help="Output blocks p of the role.")
@click.option("--in-blocks", type=int, default=4, show_default=True, help="Input blocks q of the role.")
@click.option("--family", "families", multiple=True, type=click.Choice(["xcu", "xc7"]),
              default=("xcu", "xc7"), show_default=True, help="Xilinx families to synthesize for.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the random weights.")
def pe(block_size: int, fmt_text: str, out_dir: Path, lanes: int, out_blocks: int, in_blocks: int,
       families: tuple[str, ...], seed: int) -> None:
    """Write the Verilog of the PE (FFT-k -> MAC bank -> IFFT-k) into --out, synthesize it with Yosys
    and write --out/synth.json (resources per family)."""
    from rnnaccel.rtl.synth import ToolNotFound, require_tool, synth_xilinx, write_atomic

    config, k = _parse(block_size, fmt_text, lanes, out_blocks, in_blocks)
    try:
        require_tool("yosys")
    except ToolNotFound as e:
        raise click.ClickException(str(e)) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    comp, text = build_pe_verilog(k, config, lanes, out_blocks, in_blocks, seed)
    write_atomic(out_dir / "pe.v", text)
    reports = {fam: synth_xilinx(out_dir / "pe.v", "pe", fam) for fam in families}
    doc = {
        "component": "PE", "block_size": k, "format": str(config.fft), "lanes": lanes,
        "out_blocks": out_blocks, "in_blocks": in_blocks, "seed": seed, "latency_cycles": comp.latency,
        "note": "DSP and BRAM (RAMB18 equivalents) compare with Vivado; LUT/FF are Yosys's mapping "
                "and differ from Vivado's",
        "families": {fam: r.to_dict() for fam, r in reports.items()},
    }
    write_atomic(out_dir / "synth.json", json.dumps(doc, indent=2))
    click.echo(f"wrote {out_dir / 'pe.v'} (latency {comp.latency} cycles) and {out_dir / 'synth.json'}")
    for fam, r in reports.items():
        click.echo(f"{fam}: DSP {r.dsp}  BRAM18 {r.bram18}  LUT {r.lut}  FF {r.ff}  (yosys {r.version}; "
                   "LUT/FF differ from Vivado)")


def _build_design(shape: str | None, model: Path | None, out_dir: Path, opts: dict) -> dict:
    """One of --shape (random weights) / --model (a trained run or export directory)."""
    from rnnaccel.rtl.build import build_shape, write_design, write_streams_design
    from rnnaccel.rtl.model_build import build_model_design

    if (shape is None) == (model is None):
        raise click.UsageError("give exactly one of --shape SHAPE and --model RUN_DIR")
    if model is not None:
        return build_model_design(model, out_dir, lanes=opts["parallel"], fmt=opts["fmt"],
                                  layer=opts["layer"], direction=opts["direction"],
                                  utterance=opts["utterance"], frames=opts["frames"], streams=opts["streams"])
    frames = 8 if opts["frames"] is None else opts["frames"]
    kind, d, cfg, x = build_shape(shape, opts["block_size"], opts["seed"], frames=frames,
                                  streams=opts["streams"])
    meta = {"seed": opts["seed"], "shape": shape}
    if opts["streams"] > 1:
        return write_streams_design(out_dir, kind, d, cfg, x, opts["parallel"], meta)
    return write_design(out_dir, kind, d, cfg, x, opts["parallel"], meta)


_FORMAT = click.option("--format", "fmt", type=click.Choice(["16bit", "12bit"]), default="16bit",
                       show_default=True, help="A run directory's fixed-point preset (the flow's 'quant').")
_UTTERANCE = click.option("--utterance", type=int, default=0, show_default=True,
                          help="Index of the test utterance whose features feed the testbench.")


@rtl.command("build")
@click.option("--shape", default=None,
              help="'lstm:IN:HIDDEN[:PROJ]' (peepholes, projection) or 'gru:IN:HIDDEN', random weights.")
@click.option("--model", "model", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A trained run directory (checkpoint.json) or an 'rnnaccel export' directory.")
@_FORMAT
@click.option("--layer", type=int, default=0, show_default=True, help="--model: the layer to build.")
@click.option("--direction", type=int, default=0, show_default=True,
              help="--model: 0 forward, 1 backward (bidirectional layers).")
@_UTTERANCE
@click.option("--block-size", "-k", "block_size", type=int, default=8, show_default=True,
              help="Circulant block size k (divides HIDDEN).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the weights and input frames.")
@click.option("--parallel", type=int, default=1, show_default=True, help="Output blocks per PE pass (P).")
@click.option("--streams", type=int, default=1, show_default=True,
              help="Interleaved streams of the pipelined top (rtl.pipeline); 2: both directions of a "
                   "bidirectional layer (--shape: random, --model: --layer's two directions).")
@click.option("--frames", type=int, default=None,
              help="Input frames (per stream) of the testbench [--shape: 8; --model: the whole utterance].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for top.v, vectors.json, cocotb_top.py, synth.ys, design.json.")
def build(shape: str | None, model: Path | None, out_dir: Path, **opts) -> None:
    """Generate the layer accelerator (Verilog, $readmemh weight files), its cocotb/Icarus testbench
    with rnnaccel.ref's expected outputs, and a Yosys synthesis script. --shape: seeded random
    weights (16-bit ap_fixed<16,8>); --model: one layer-direction of a trained model, fed a real
    test utterance of its corpus."""
    try:
        design = _build_design(shape, model, out_dir, opts)
    except (ValueError, TypeError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {out_dir}: {design['kind']} {design['input_size']}->{design['hidden_size']}, "
               f"k={design['block_size']}, P={design['parallel']}, {design['frames']} frames, "
               f"{design.get('streams', 1)} stream(s), "
               f"{design['schedule_cycles_per_frame']} cycles/frame (schedule)")


@rtl.command("sim")
@click.argument("design_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print sim.json instead of a summary.")
def sim(design_dir: Path, as_json: bool) -> None:
    """Run an 'rnnaccel rtl build' (or 'rtl network --hardware') directory's testbench in Icarus;
    writes DIR/sim.json."""
    from rnnaccel.rtl.build import run_sim
    from rnnaccel.rtl.netbuild import run_network_sim
    from rnnaccel.rtl.synth import ToolNotFound

    network_top = (design_dir / "cocotb_net.py").is_file()
    try:
        doc = (run_network_sim if network_top else run_sim)(design_dir)
    except (ValueError, ToolNotFound) as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    elif network_top:
        click.echo(f"bit_exact {doc['bit_exact']}  frames {doc['frames']}  cycles per utterance "
                   f"{doc['cycles']} (schedule {doc['schedule_cycles']})")
    else:
        click.echo(f"bit_exact {doc['bit_exact']}  frames {doc['frames']}  cycles/frame "
                   f"{doc['cycles_per_frame']} (schedule {doc['schedule_cycles_per_frame']}, "
                   f"hw.fpga model {doc['model_cycles_per_frame']})")
    if not doc["bit_exact"]:
        raise click.ClickException(f"simulation failed: {doc['failure'] or 'see sim_build/top.results.xml'}")


@rtl.command("network")
@click.argument("model", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Directory for network.json and layer<L>-dir<D>/ (one 'rtl build' each) or, with "
                   "--hardware, the network top's build (top.v, mem/, testbench).")
@_FORMAT
@click.option("--parallel", type=int, default=1, show_default=True, help="Output blocks per PE pass (P).")
@_UTTERANCE
@click.option("--frames", type=int, default=None, help="Its first frames only [the whole utterance].")
@click.option("--hardware", is_flag=True,
              help="One generated top for the whole network: a hardware controller sequences layers and "
                   "directions through frame buffers (rtl.netctl) [default: one top per layer-direction, "
                   "sequenced by the host].")
@click.option("--t-max", "t_max", type=int, default=None,
              help="--hardware: frames the buffers hold [the next power of two >= the frames].")
@click.option("--streams", "net_streams", type=click.IntRange(1, 2), default=1, show_default=True,
              help="--hardware: 2 = each bidirectional layer through one 2-stream pipelined top "
                   "(forward frame t, backward frame T-1-t in turn); 1 = two layer tops at once.")
@click.option("--json", "as_json", is_flag=True, help="Print network.json instead of a summary.")
def network(model: Path, out_dir: Path, fmt: str, parallel: int, utterance: int, frames: int | None,
            hardware: bool, t_max: int | None, net_streams: int, as_json: bool) -> None:
    """Every layer and both directions of MODEL (a trained run or 'rnnaccel export' directory) in
    Icarus, checked against rnnaccel.ref's whole-model output; writes --out/network.json. Default:
    generated layer tops, each fed the RTL outputs of the layer below (sequenced by the host);
    --hardware: the one network top with its layer/direction controller."""
    from rnnaccel.rtl.network import build_network
    from rnnaccel.rtl.synth import ToolNotFound

    if (t_max is not None or net_streams != 1) and not hardware:
        raise click.UsageError("--t-max and --streams are for --hardware")
    try:
        doc = build_network(model, out_dir, lanes=parallel, fmt=fmt, utterance=utterance, frames=frames,
                            hardware=hardware, t_max=t_max, streams=net_streams)
    except (ValueError, TypeError, ToolNotFound) as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        click.echo(json.dumps(doc, indent=2))
    else:
        _network_summary(doc)
    if not doc["bit_exact"]:
        raise click.ClickException(f"network differs from rnnaccel.ref: {doc['failure']}")


def _network_summary(doc: dict) -> None:
    for s in doc.get("stages", []):
        click.echo(f"layer {s['layer']} direction {s['direction']}: bit_exact {s['bit_exact']}  cycles/frame "
                   f"{s['cycles_per_frame']} (hw.fpga model {s['model_cycles_per_frame']})")
    if "schedule_network_cycles" in doc:
        click.echo(f"layers: cycles/frame {doc['layer_cycles_per_frame']} (hw.fpga model "
                   f"{doc['model_layer_cycles_per_frame']}); schedule {doc['schedule_network_cycles']}")
    click.echo(f"network ({doc['sequencing']}): bit_exact {doc['bit_exact']}  frames {doc['frames']}  cycles "
               f"{doc['network_cycles']} ({doc['network_cycles_per_frame']} per frame)")
