"""One training trial of E-RNN's Phase I: a (cell, layer size, block sizes, quantization, method) point,
trained on the shared corpus and measured (PER, parameters, storage, multiplies per frame).

:class:`TrialRunner` loads the data once, trains each dense baseline once (ADMM, direct, pruning and
QAT start from it) and keeps results as plain dicts (JSON rows).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from torch import nn

from rnnaccel.compress.config import ADMMSettings, TrainSettings
from rnnaccel.compress.cost import model_cost
from rnnaccel.compress.pipeline import (
    FlowResult,
    admm_flow,
    direct_flow,
    load_model,
    load_trained,
    prune_flow,
    qat_flow,
    save_model,
)
from rnnaccel.io import write_json_atomic  # re-exported: the sweep and benchmarks import it from here
from rnnaccel.quant.recognizer import quant_preset  # moved to rnnaccel.quant; re-exported

__all__ = ["METHODS", "TrialRunner", "TrialSpec", "quant_preset", "write_json_atomic"]

METHODS: tuple[str, ...] = ("dense", "admm", "direct", "prune")
_BITS = {"float": 32, "16bit": 16, "12bit": 12}


@dataclass(frozen=True)
class TrialSpec:
    """One trial. ``block_size``: int or per-role dict (admm/direct); ``sparsity`` for prune."""

    cell: str
    hidden: int
    method: str = "dense"
    block_size: int | dict | list | None = None
    quant: str = "float"
    sparsity: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}, expected one of {list(METHODS)}")
        if self.quant not in _BITS:
            raise ValueError(f"unknown quant {self.quant!r}, expected one of {list(_BITS)}")
        if (self.method in ("admm", "direct")) != (self.block_size is not None):
            raise ValueError(f"block_size is required for admm/direct and only for them, got "
                             f"method={self.method!r}, block_size={self.block_size!r}")

    @property
    def trial_id(self) -> str:
        k = "" if self.block_size is None else "-k" + _block_tag(self.block_size)
        s = f"-s{round(self.sparsity * 100)}" if self.method == "prune" else ""
        q = "" if self.quant == "float" else f"-{self.quant}"
        return f"{self.cell}-h{self.hidden}-{self.method}{k}{s}{q}"

    @property
    def float_parent(self) -> TrialSpec:
        """The same trial without quantization (QAT starts from it)."""
        return TrialSpec(self.cell, self.hidden, self.method, self.block_size, "float", self.sparsity)

    def as_dict(self) -> dict:
        return asdict(self)


def _block_tag(spec: int | dict | list | None) -> str:
    """``8``, ``i4.r8`` (per role), ``8_i4.r8`` (per layer; ``d`` = a dense layer)."""
    if isinstance(spec, list):
        return "_".join(_block_tag(layer) for layer in spec)
    if spec is None:
        return "d"
    if isinstance(spec, int):
        return str(spec)
    return ".".join(f"{role[0]}{k}" for role, k in sorted(spec.items()) if k is not None)


class TrialRunner:
    """Runs trials on one corpus with shared training settings; dense baselines are trained once."""

    def __init__(self, settings: TrainSettings, admm: ADMMSettings, out_dir: str | Path,
                 progress: bool = False) -> None:
        self.settings, self.admm = settings, admm
        self.out_dir, self.progress = Path(out_dir), progress
        self._data: dict[bool, tuple] = {}
        self._models: dict[str, nn.Module] = {}

    def train_config(self, cell: str, hidden: int, qat: bool = False):
        """The ``rnnaccel.train.Config`` of a trial (QAT uses a smaller training subset)."""
        from rnnaccel.train import Config

        s = self.settings
        limit = s.qat_train_utterances if qat else s.max_train_utterances
        return Config.model_validate({
            "data": {"corpus": s.corpus, "cache_dir": s.cache_dir, "eval_splits": [s.eval_split],
                     "max_train_utterances": limit},
            "model": {"cell": cell, "hidden_size": hidden, "num_layers": s.num_layers,
                      "bidirectional": s.bidirectional},
            "optim": {"epochs": s.dense_epochs, "batch_size": s.batch_size, "lr": s.lr, "seed": s.seed},
            "out_dir": str(self.out_dir / f"{cell}-h{hidden}-dense")})

    def data(self, qat: bool = False) -> tuple:
        """(train set, eval sets, stats); QAT trains on the first ``qat_train_utterances`` of the same set
        with the same normalization (so the float parent's inputs do not change)."""
        if False not in self._data:
            from rnnaccel.train import load_data

            self._data[False] = load_data(self.train_config("lstm", 1))
        if qat and True not in self._data:
            train, evals, stats = self._data[False]
            n = self.settings.qat_train_utterances or len(train)
            self._data[True] = (train.head(n), evals, stats)
        return self._data[qat]

    def data_fingerprint(self) -> str:
        """A hash of the training and evaluation data exactly as the trials see them (features after
        normalization, frame labels, phone sequences): a finished trial is reused only on the same data."""
        import hashlib

        train, evals, _ = self.data()
        digest = hashlib.sha256()
        for split in (train, *(evals[k] for k in sorted(evals))):
            for arrays in (split.feats, split.frames, split.phones):
                for a in arrays:
                    digest.update(a.numpy().tobytes() if hasattr(a, "numpy") else bytes(a))
        return digest.hexdigest()[:16]

    def model(self, spec: TrialSpec) -> nn.Module:
        """The trained model of a finished trial (from memory, else from its saved weights)."""
        if spec.trial_id in self._models:
            return self._models[spec.trial_id]
        config = self.train_config(spec.cell, spec.hidden)
        n_in = self.data()[0].feats[0].shape[1]
        if spec.method == "dense":
            model = load_trained(config, n_in, config.out_dir)
        else:
            path = self.out_dir / spec.trial_id / "model.safetensors"
            model = load_model(config, n_in, spec.block_size, path)
        self._models[spec.trial_id] = model
        return model

    def estimate(self, spec: TrialSpec, input_size: int = 39) -> dict:
        """Cost of a trial's model before training (block-circulant/dense structure only; no pruning)."""
        from rnnaccel.train import build_model

        cfg = self.train_config(spec.cell, spec.hidden).model
        model = build_model(cfg.with_block_size(spec.block_size), input_size)
        return model_cost(model, _BITS[spec.quant]).as_dict()

    def run(self, spec: TrialSpec) -> dict:
        """Train and measure one trial; returns its JSON row."""
        t0 = time.perf_counter()
        flow = self._flow(spec)
        if spec.quant == "float":
            self._models[spec.trial_id] = flow.model
            save_model(flow.model, self.out_dir / spec.trial_id / "model.safetensors")
        return self._row(spec, flow, time.perf_counter() - t0)

    def _flow(self, spec: TrialSpec) -> FlowResult:
        config, out = self.train_config(spec.cell, spec.hidden), self.out_dir / spec.trial_id
        if spec.quant != "float":
            qconf = self.train_config(spec.cell, spec.hidden, qat=True)
            return qat_flow(self.model(spec.float_parent), qconf, quant_preset(spec.quant),
                            self.settings.qat_epochs, self.data(qat=True), out, self.progress)
        if spec.method == "dense":
            return self._dense(config)
        return self._compressed(spec, config, out)

    def _dense(self, config) -> FlowResult:
        from rnnaccel.train import train

        result = train(config, data=self.data(), progress=self.progress, resume=True)
        return FlowResult(result.model, {"dense": [{"epoch": r.epoch, "loss": r.loss, "per": r.per}
                                                   for r in result.history]})

    def _compressed(self, spec: TrialSpec, config, out: Path) -> FlowResult:
        dense = self.model(TrialSpec(spec.cell, spec.hidden))
        s, a = self.settings, self.admm
        if spec.method == "admm":
            schedule = a  # one schedule type: compress.admm.ADMMSchedule
            return admm_flow(dense, config, spec.block_size, schedule, a.finetune_epochs, self.data(), out,
                             self.progress)
        if spec.method == "direct":
            return direct_flow(dense, config, spec.block_size, s.direct_epochs, self.data(), out,
                               self.progress)
        return prune_flow(dense, config, spec.sparsity, s.prune_n_pe, s.prune_epochs, self.data(), out,
                          self.progress)

    def _per(self, flow: FlowResult) -> float:
        """PER on the eval split: the last training stage already measured it on the final weights."""
        from rnnaccel.train import evaluate

        split = self.settings.eval_split
        last = list(flow.stages.values())[-1][-1]["per"]
        if split in last:
            return last[split]
        return round(evaluate(flow.model, self.data()[1][split]), 5)

    def _row(self, spec: TrialSpec, flow: FlowResult, seconds: float) -> dict:
        cost = model_cost(flow.model, _BITS[spec.quant], sparse=spec.method == "prune")
        return {"trial": spec.trial_id, "spec": spec.as_dict(), "per": self._per(flow),
                **cost.as_dict(), "seconds": round(seconds, 1), "stages": flow.stages,
                "admm_residuals": [round(e.residual, 6) for e in flow.admm_log],
                "admm_rho": [e.rho for e in flow.admm_log]}
