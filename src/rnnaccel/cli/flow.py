"""`rnnaccel flow`: the E-RNN flow end to end (corpus → dense → block-circulant → fixed point →
integer engine → FPGA and E-PUR)."""

from __future__ import annotations

import click

from rnnaccel.cli.options import POSITIVE_INT


def _dense_per(dense: dict) -> str:
    """The PER of the model handed on: the restored best epoch's when there is one, else the last's."""
    best = dense.get("best_epoch")
    if best is None:
        return str(dense["per_curve"][-1]["per"])
    return f"{dense['per_curve'][best - 1]['per']} (best dev epoch {best}, restored)"


def _summary(report: dict) -> list[str]:
    cfg, ref = report["config"], report["ref_check"]
    fpga, epur = report["hardware"]["fpga"], report["hardware"]["epur"]
    stages = report["compress"]["stages"]
    ft = stages.get("finetune") or stages["projected"]
    lines = [
        f"dense PER            {_dense_per(report['dense'])}",
        f"{cfg['method']:6s} k={cfg['block_size']:<3d} PER     {ft[-1]['per']}  "
        f"residuals {report['compress']['residuals']}",
    ]
    if "qat" in report["qat"]["stages"]:
        lines.append(f"{cfg['quant']} QAT PER       {report['qat']['stages']['qat'][-1]['per']}")
    overflows = sum(ref["overflows"].values())
    return lines + [
        f"integer engine       {cfg['quant']} PER[test] {ref['per_integer_engine']} on {ref['utterances']} "
        f"utterances, {overflows} overflows, bit-exact={ref['bit_exact']} on {ref['checked_utterances']}",
        f"FPGA {fpga['device']:8s}        fits={fpga['fits']} frames/s={fpga['frames_per_s']:.0f} "
        f"W={fpga['power_w']:.1f} frames/s/W={fpga['frames_per_s_per_w']:.0f}",
        f"E-PUR (MWL)          {epur['seconds'] * 1e3:.2f} ms and {epur['energy_j'] * 1e3:.3f} mJ per "
        f"{epur['seq_len']}-frame utterance, RTF {epur['rtf']:.4f}, "
        f"{epur['tegra_x1']['energy_reduction']:.0f}x less energy than the Tegra X1 model",
    ]


@click.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="Flow TOML (see configs/flow_default.toml); built-in defaults when omitted.")
@click.option("--threads", type=POSITIVE_INT, default=None, help="torch threads (default: torch's choice).")
@click.option("--no-progress", is_flag=True, help="No progress bars.")
def flow(config_path: str | None, threads: int | None, no_progress: bool) -> None:
    """Run the E-RNN flow end to end on the built-in corpus (or the one the training config names)."""
    import torch

    from rnnaccel.flow import FlowConfig, load_flow_config, run_flow

    if threads is not None:
        torch.set_num_threads(threads)
    try:
        cfg = load_flow_config(config_path) if config_path else FlowConfig()
        report = run_flow(cfg, progress=not no_progress, log=click.echo)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for line in _summary(report):
        click.echo(line)
    click.echo(f"report: {cfg.report}")
    from rnnaccel.report.html import write_report

    try:
        click.echo(f"html report: {write_report(cfg.report)}")  # the same page as `rnnaccel report`
    except ValueError as exc:  # e.g. matplotlib not installed: the JSON report is complete
        click.echo(f"warning: no HTML report: {exc}", err=True)
