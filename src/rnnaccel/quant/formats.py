"""Per-point formats of a trained run against a PER budget (``rnnaccel quant search RUN_DIR``).

The run's float recognizer (:func:`rnnaccel.export.load_run`) and its corpus (the run's own data
config, features normalized as training fed them) are measured with the compiled integer engine
(:func:`rnnaccel.ref.run_fast`, bit-exact with the fake-quant torch model):

* calibration: the first ``calibration`` training utterances; :func:`rnnaccel.quant.search.fit_int_bits`
  picks the integer bits of every point from the engine's overflow counts on them (zero overflows);
* selection: the PER on ``eval_split`` (the float output layer on the engine's outputs, greedy CTC
  decoding, as the flow's integer-engine stage) against the float model's PER on the same split (or
  the ``max_bits`` configuration's, ``reference="max_bits"``), :func:`rnnaccel.quant.search.search_widths`;
* report: every uniform width, the preset the search starts from (``base``, unfitted) and the chosen
  configuration re-measured on ``report_split`` (PER and overflow counts per point), and the chosen
  one checked code for code against the fake-quant torch model on ``check_utterances`` utterances.

The library logs through ``log`` and never prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.search import POINT_GROUPS, WidthTrial, search_widths

__all__ = ["REFERENCES", "EngineData", "engine_overflows", "engine_per", "format_search"]

REFERENCES: tuple[str, ...] = ("float", "max_bits")
Log = Callable[[str], None]


class EngineData:
    """Utterances of one split as padded batches of input features sorted by length (for ``run_fast``)."""

    def __init__(self, feats: list[torch.Tensor], phones: list[torch.Tensor] | None = None,
                 batch_size: int = 192) -> None:
        order = sorted(range(len(feats)), key=lambda i: feats[i].shape[0])
        self.batches = [order[b : b + batch_size] for b in range(0, len(order), batch_size)]
        self.feats, self.phones = feats, phones

    def __len__(self) -> int:
        return len(self.feats)

    def padded(self, idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        x = torch.nn.utils.rnn.pad_sequence([self.feats[i] for i in idx], batch_first=True).double().numpy()
        return x, np.array([self.feats[i].shape[0] for i in idx])


def _run(rnn: torch.nn.Module, config: QuantConfig, data: EngineData):
    """Yield (batch indices, RefResult) over ``data``; the input's overflows are in each result."""
    from rnnaccel.quant.qformat import quantize_float
    from rnnaccel.ref import export_model, run_fast

    int_model = export_model(rnn, config)
    for idx in data.batches:
        x, lengths = data.padded(idx)
        codes, n_input = quantize_float(x, config.input)  # padding is 0: it never overflows
        res = run_fast(int_model, codes, lengths)
        res.overflows["input"] = res.overflows.get("input", 0) + n_input
        yield idx, res


def _add(total: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    return {k: total.get(k, 0) + counts.get(k, 0) for k in total.keys() | counts.keys()}


def engine_overflows(rnn: torch.nn.Module, config: QuantConfig, data: EngineData) -> dict[str, int]:
    """Overflow counts per point of the integer engine over ``data`` (the weights' at export included)."""
    total: dict[str, int] = {}
    for _, res in _run(rnn, config, data):
        total = _add(total, res.overflows)
    return total


@torch.no_grad()
def engine_per(recognizer: torch.nn.Module, config: QuantConfig, data: EngineData) -> tuple[float, dict]:
    """(PER of the integer engine's outputs through the float output layer, overflows per point)."""
    from rnnaccel.compress import find_rnn
    from rnnaccel.train import greedy_decode, phone_error_rate

    out = recognizer.output
    hyps, refs, total = [], [], {}
    for idx, res in _run(find_rnn(recognizer), config, data):
        total = _add(total, res.overflows)
        logp = torch.log_softmax(out(torch.from_numpy(res.values).to(out.weight.dtype)), dim=-1).numpy()
        hyps += [greedy_decode(logp[r, : data.feats[i].shape[0]]) for r, i in enumerate(idx)]
        refs += [data.phones[i].tolist() for i in idx]
    return phone_error_rate(refs, hyps), total


@torch.no_grad()
def _bit_exact(recognizer: torch.nn.Module, config: QuantConfig, data: EngineData, n: int) -> bool:
    """The fake-quant torch model on each of the first ``n`` utterances alone equals the engine's codes."""
    from rnnaccel.compress import find_rnn
    from rnnaccel.quant.model import quantize
    from rnnaccel.quant.qformat import quantize_float

    rnn = find_rnn(recognizer)
    qrnn = quantize(rnn, config).eval()
    for i in range(min(n, len(data))):
        one = EngineData([data.feats[i]])
        (_, res), = _run(rnn, config, one)
        codes, _ = quantize_float(one.padded([0])[0], config.input)
        y = qrnn(torch.from_numpy(codes * config.input.lsb))[0].numpy()
        if not np.array_equal(y * 2.0**res.output_format.frac, res.output):
            return False
    return True


def _split(evals: dict, name: str, what: str):
    if name not in evals:
        raise ValueError(f"{what} {name!r} is not an evaluation split of the run (its data.eval_splits: "
                         f"{sorted(evals)})")
    return evals[name]


def _load(run_dir: str | Path):
    """(recognizer, training config, train set, eval sets) of a run; errors name the run."""
    from rnnaccel.export import load_run
    from rnnaccel.train import Config, load_data
    from rnnaccel.train.checkpoint import load_checkpoint

    run = load_run(run_dir)
    state, _ = load_checkpoint(run.run_dir)
    try:
        cfg = Config.model_validate(state["config"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{run.run_dir / 'checkpoint.json'}: no valid training config ({exc})") from None
    train, evals, _ = load_data(cfg)
    return run, train, evals


def _row(trial: WidthTrial, report: tuple[float, dict] | None) -> dict:
    row = trial.to_dict()
    if report is not None:
        row["report_per"], row["report_overflows"] = report
    return row


def format_search(run_dir: str | Path, *, budget: float, min_bits: int = 8, max_bits: int = 16,
                  calibration: int = 200, eval_split: str = "dev", report_split: str | None = "test",
                  groups: bool = True, reference: str = "float", base: str = "16bit",
                  check_utterances: int = 1, log: Log | None = None) -> dict[str, Any]:
    """The per-point format search on a run (module docstring); ``budget`` in PER points (percent).
    Returns the JSON-ready result."""
    from rnnaccel.export import quant_format
    from rnnaccel.train import evaluate

    log = log or (lambda _msg: None)
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference {reference!r}, expected one of {list(REFERENCES)}")
    if not (isinstance(calibration, int) and calibration >= 1):
        raise ValueError(f"calibration must be a positive number of utterances, got {calibration!r}")
    if not budget >= 0:
        raise ValueError(f"PER budget must be >= 0 points, got {budget}")
    if not 2 <= min_bits <= max_bits <= 32:
        raise ValueError(f"need 2 <= min_bits <= max_bits <= 32, got {min_bits}..{max_bits}")
    base_cfg = quant_format(base)
    t0 = time.perf_counter()
    run, train, evals = _load(run_dir)
    model = run.model.eval()
    dev = _split(evals, eval_split, "eval split")
    rep = None if report_split is None else _split(evals, report_split, "report split")
    calib = EngineData(train.feats[:calibration])
    dev_data = EngineData(dev.feats, dev.phones)
    rep_data = None if rep is None else EngineData(rep.feats, rep.phones)
    from rnnaccel.compress import find_rnn

    rnn = find_rnn(model)
    log(f"{run.run_dir} (epoch {run.epoch}): calibration {len(calib)} training utterances, selection on "
        f"{eval_split} ({len(dev_data)}), report on {report_split} ({len(rep_data) if rep_data else 0})")
    float_per = evaluate(model, dev)
    checks = {"n": 0}

    def check(cfg: QuantConfig) -> dict[str, int]:
        checks["n"] += 1
        return engine_overflows(rnn, cfg, calib)

    def per(cfg: QuantConfig) -> tuple[float, dict]:
        p, overflows = engine_per(model, cfg, dev_data)
        return p, {"overflows": overflows}

    if reference == "float":
        ref = float_per
    else:  # the max_bits configuration itself: one extra uniform fit, done again by the search
        from rnnaccel.quant.search import fit_int_bits

        ref = per(fit_int_bits(check, base_cfg, max_bits)[0])[0]
    log(f"reference ({reference}) PER on {eval_split}: {100 * ref:.2f} %; float {100 * float_per:.2f} %; "
        f"budget +{budget} points")
    result = search_widths(check, per, base_cfg, ref, budget / 100, min_bits, max_bits, groups=groups,
                           log=log)

    def on_report(cfg: QuantConfig) -> tuple[float, dict] | None:
        return None if rep_data is None else engine_per(model, cfg, rep_data)

    base_row = {"formats": {p: v for p, v in base_cfg.as_dict().items() if not p.endswith("_pwl")}}
    base_row["per"], base_row["overflows"] = engine_per(model, base_cfg, dev_data)
    base_row["calibration_overflows"] = engine_overflows(rnn, base_cfg, calib)
    if rep_data is not None:
        base_row["report_per"], base_row["report_overflows"] = on_report(base_cfg)
    uniform = [_row(t, on_report(t.config)) for t in result.uniform]
    best = None if result.best is None else _row(result.best, on_report(result.best.config))
    if best is not None:
        best["bit_exact"] = _bit_exact(model, result.best.config, dev_data, check_utterances)
        best["checked_utterances"] = min(check_utterances, len(dev_data))
        best["calibration_overflows"] = engine_overflows(rnn, result.best.config, calib)
    return {
        "run_dir": str(run.run_dir), "epoch": run.epoch, "base": base, "budget_points": budget,
        "reference": reference, "reference_per": ref, "float_per": float_per,
        "min_bits": min_bits, "max_bits": max_bits, "groups": {g: list(p) for g, p in POINT_GROUPS.items()}
        if groups else None,
        "splits": {"calibration": f"train[:{len(calib)}]", "eval": eval_split, "report": report_split},
        "base_config": base_row, "uniform": uniform,
        "group_steps": [t.to_dict() for t in result.groups],
        "best_uniform_bits": None if result.best_uniform is None else result.best_uniform.total_bits,
        "best": best, "engine_checks": checks["n"], "seconds": round(time.perf_counter() - t0, 1),
    }
