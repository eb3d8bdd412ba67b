"""`rnnaccel simulate`: run the E-PUR simulator on a benchmark network and print time, energy, area."""

from __future__ import annotations

import json

import click

from rnnaccel.cli.options import POSITIVE_INT
from rnnaccel.hw.epur.networks import NETWORK_NAMES
from rnnaccel.io import to_strict_json


def _evaluate(name: str, mwl: bool, block_size: int, seq_len: int | None, config: str | None) -> object:
    from rnnaccel.hw.epur import EPURConfig, evaluate, get_network, load_config, simulate

    net = get_network(name)
    net = net.with_block_size(block_size)  # 1 = dense; 0, -8 or 6 are errors naming the value
    net = net.with_seq_len(seq_len) if seq_len is not None else net
    cfg = load_config(config) if config else EPURConfig()
    return evaluate(simulate(net, cfg, mwl=mwl))


def _line(s: dict) -> str:
    rtf = "n/a" if s["rtf"] is None else f"{s['rtf']:.4f}"
    parts = ", ".join(f"{k} {v * 1e3:.3g}" for k, v in s["breakdown_j"].items())
    t = s["tegra_x1"]
    return (f"{s['network']:12s} MWL {'on ' if s['mwl'] else 'off'} time/seq {s['seconds'] * 1e3:10.3f} ms  "
            f"RTF {rtf:>7s}  energy {s['energy_j'] * 1e3:9.3f} mJ  power {s['power_w']:.3f} W  "
            f"area {s['area_mm2']:.1f} mm2  DRAM {s['dram_bytes'] / 1e6:9.2f} MB  "
            f"vs Tegra X1: {t['speedup']:.2f}x faster, {t['energy_reduction']:.1f}x less energy\n"
            f"{'':12s} breakdown (mJ): {parts}")


@click.command()
@click.option("--network", "network", required=True,
              type=click.Choice([*NETWORK_NAMES, "all"], case_sensitive=False),
              help="Benchmark network, or 'all'.")
@click.option("--mwl", type=click.Choice(["on", "off", "both"]), default="both", show_default=True)
@click.option("--block-size", type=POSITIVE_INT, default=1, show_default=True,
              help="Block-circulant k (1 = dense).")
@click.option("--seq-len", type=POSITIVE_INT, default=None, help="Override the network's sequence length.")
@click.option("--config", type=click.Path(exists=True, dir_okay=False), default=None, help="E-PUR TOML.")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.option("--export-actions", type=click.Path(dir_okay=False), default=None,
              help="Write action counts + energy table (single network and MWL setting).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None,
              help="Energy breakdown plot (.png or .svg).")
def simulate(network: str, mwl: str, block_size: int, seq_len: int | None, config: str | None, as_json: bool,
             export_actions: str | None, plot: str | None) -> None:
    """Simulate E-PUR on NETWORK with Maximizing Weight Locality on, off or both."""
    from rnnaccel.hw.epur import export_actions as export
    from rnnaccel.hw.epur.report import write_json

    names = list(NETWORK_NAMES) if network.lower() == "all" else [network]
    modes = {"on": [True], "off": [False], "both": [False, True]}[mwl]
    try:
        evs = [[_evaluate(n, m, block_size, seq_len, config) for m in modes] for n in names]
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    flat = [ev for row in evs for ev in row]
    if export_actions:
        if len(flat) != 1:
            raise click.UsageError("--export-actions needs one network and --mwl on or off")
        write_json(export(flat[0]), export_actions)
    if plot:
        if mwl != "both":
            raise click.UsageError("--plot compares MWL off and on: use --mwl both")
        from rnnaccel.hw.epur.plot import plot_breakdown

        plot_breakdown([tuple(row) for row in evs], plot)
    if as_json:
        click.echo(json.dumps(to_strict_json([ev.summary() for ev in flat]), indent=2, allow_nan=False))
        return
    for ev in flat:
        click.echo(_line(ev.summary()))
