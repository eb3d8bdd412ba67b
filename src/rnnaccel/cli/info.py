"""`rnnaccel info`: versions, threads and the hardware targets this installation knows."""

from __future__ import annotations

import json
import platform
import shutil

import click


def collect_info() -> dict[str, object]:
    """Versions, thread counts and available targets, as a JSON-ready dict."""
    import numpy
    import torch

    import rnnaccel

    return {
        "rnnaccel": rnnaccel.__version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "torch_threads": torch.get_num_threads(),
        "tools": {name: shutil.which(name) for name in ("flite", "yosys", "iverilog")},
        "nn_inference": _nn_inference(),
        "targets": _targets(),
    }


def _nn_inference() -> dict[str, object]:
    """Which kernel the rnnaccel.nn layers run in inference and why (``rnnaccel.nn.fast.select_path``)."""
    from rnnaccel.nn import LSTM, fast

    loads, why = fast.kernel_status()
    lstm = LSTM(16, 32, proj_size=16, peephole=True, block_size=8).eval()  # structure decides, not size
    return {"compiled_kernels": loads, "why": why,
            "circulant_lstm_batch1_float32": str(lstm.inference_path(batch=1)),
            "circulant_lstm_batch128_float32": str(lstm.inference_path(batch=128))}


def _targets() -> dict[str, list[str]]:
    """Hardware targets registered by the hardware packages that are installed."""
    from rnnaccel.hw import available_targets

    return available_targets()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(as_json: bool) -> None:
    """Show versions, threads and available hardware targets."""
    data = collect_info()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key:14s} {value}")
