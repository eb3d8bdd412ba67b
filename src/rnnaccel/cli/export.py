"""`rnnaccel export RUN_DIR`: the integer model of a trained run for the RTL and ``rnnaccel.ref``
(``--out DIR``: safetensors + JSON + ``$readmemh`` files) and/or an ONNX file (``--onnx FILE``).
Formats and layout: docs/export.md."""

from __future__ import annotations

import click
import numpy as np


def _int_export(run, fmt: str, out: str) -> str:
    from rnnaccel.export import load_int_model, quant_format, write_int_model
    from rnnaccel.ref import export_model, run_int_model

    int_model = export_model(run.model.rnn, quant_format(fmt))
    source = {"run_dir": str(run.run_dir), "epoch": run.epoch, "format": fmt}
    path = write_int_model(int_model, out, source)
    x = np.random.default_rng(0).integers(-512, 512, (2, 5, int_model.input_size))
    same = np.array_equal(run_int_model(load_int_model(out), x).output, run_int_model(int_model, x).output)
    if not same:
        raise ValueError(f"{out}: the written model does not reproduce the in-memory one")
    return f"integer model ({fmt}): {path} (+ model.safetensors, mem/*.mem); reloaded: identical outputs"


def _onnx_export(run, path: str) -> str:
    from rnnaccel.export.onnx import check_onnx, export_onnx

    written = export_onnx(run.model, path)
    x = np.random.default_rng(0).standard_normal((2, 7, run.input_size)).astype(np.float32)
    err = check_onnx(written.read_bytes(), run.model, x)
    return f"ONNX: {written} (onnxruntime vs torch: max |log-prob difference| {err:.2e})"


@click.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Write the integer model (model.json, model.safetensors, mem/*.mem) here.")
@click.option("--onnx", "onnx_file", type=click.Path(dir_okay=False), default=None,
              help="Write the float model as ONNX (needs the 'onnx' extra).")
@click.option("--format", "fmt", type=click.Choice(["16bit", "12bit"]), default="16bit", show_default=True,
              help="Fixed-point preset of the integer model (the flow's 'quant').")
def export(run_dir: str, out_dir: str | None, onnx_file: str | None, fmt: str) -> None:
    """Export the model of a training run directory (one with checkpoint.json, e.g. the flow's
    runs/flow/direct-k8/direct)."""
    from rnnaccel.export import load_run

    if out_dir is None and onnx_file is None:
        raise click.UsageError("nothing to do: give --out DIR and/or --onnx FILE")
    try:
        run = load_run(run_dir)
        if out_dir is not None:
            click.echo(_int_export(run, fmt, out_dir))
        if onnx_file is not None:
            click.echo(_onnx_export(run, onnx_file))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
