"""The E-RNN flow end to end on a corpus, the README's main job.

1. corpus: the built-in synthetic TIMIT-layout corpus is synthesized when ``corpus`` is missing;
2. dense: a phone recognizer is trained (or resumed from its checkpoint) with ``rnnaccel.train``;
3. Phase I: ADMM towards block-circulant weights, hard projection, fine-tuning (``rnnaccel.compress``),
   or (``method = "direct"``) C-LSTM-style training of the projection's defining vectors;
4. fixed point: a quantization preset (C-LSTM's 16-bit + PWL by default), post-training or with
   quantization-aware fine-tuning (``qat_epochs``);
5. integer engine: ``rnnaccel.ref`` runs the whole test split (its PER and overflow counts are
   reported) and must equal the torch fake-quant model code for code on ``check_utterances``;
6. Phase II: the chosen model is sized on an FPGA (``rnnaccel.hw.fpga``) and simulated on E-PUR
   (``rnnaccel.hw.epur``, with MWL);
7. optional (``rtl = true``): every layer-direction of the chosen model is generated as RTL
   (``rnnaccel.rtl``) and one whole test utterance (``rtl_frames``: its first frames only) runs
   through it in Icarus, each layer fed the RTL outputs of the layer below; the report records
   bit-exactness against ``rnnaccel.ref``'s whole-model output and the measured cycles per frame
   beside ``rnnaccel.hw.fpga``'s for the same parallelism.

The result is one JSON report (written atomically). The library reports progress through ``log``
(the CLI prints it); it never prints itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from rnnaccel.compress.config import ADMMSettings
from rnnaccel.configfile import load_config_file, resolve_config_path
from rnnaccel.shape import RnnShape, requirements

__all__ = ["FLOW_TARGETS", "FlowConfig", "load_flow_config", "run_flow"]

Log = Callable[[str], None]


FLOW_TARGETS: tuple[str, ...] = ("nn", "fixed_point", "fpga", "epur")
"""The stages of :func:`run_flow` that build the compressed network (``rnnaccel.shape.REQUIREMENTS``)."""


class FlowConfig(BaseModel):
    """Settings of :func:`run_flow`; unknown keys are errors. ``block_size`` must be buildable by every
    stage of the flow (:data:`FLOW_TARGETS`), checked when the config is made."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    PATH_KEYS: ClassVar[tuple[str, ...]] = ("out_dir", "report")  # config-relative (rnnaccel.configfile)
    train_config: str = "configs/train_bilstm.toml"
    synth_utterances: StrictInt = Field(default=2000, ge=20)
    synth_seed: StrictInt = 0
    block_size: StrictInt = Field(default=8, ge=2)  # 1 would be no compression
    # "direct" by default: on the default corpus it measured better than ADMM (README, docs/compress.md)
    method: Literal["admm", "direct"] = "direct"
    admm: ADMMSettings = ADMMSettings()  # the schedule of rnnaccel.compress (assumed values)
    direct_epochs: StrictInt = Field(default=12, ge=1)
    quant: Literal["16bit", "12bit"] = "16bit"
    qat_epochs: StrictInt = Field(default=0, ge=0)
    check_utterances: StrictInt = Field(default=16, ge=1)
    fpga_device: str = "ku060"
    rtl: bool = False  # the last stage: the chosen model through the generated RTL in Icarus (slow)
    rtl_parallel: StrictInt = Field(default=1, ge=1)
    rtl_frames: StrictInt | None = Field(default=None, ge=1)  # None: the whole test utterance
    out_dir: str = "runs/flow"
    report: str = "results/flow.json"

    @field_validator("fpga_device")
    @classmethod
    def _known_device(cls, name: str) -> str:
        from rnnaccel.hw.fpga import fpga_device

        fpga_device(name)  # unknown names fail here, before any training
        return name

    @field_validator("block_size")
    @classmethod
    def _buildable_block(cls, k: int) -> int:
        for target in FLOW_TARGETS:
            requirements(target).check_block(k)
        return k

    def shape(self, train_cfg, input_size: int) -> RnnShape:
        """The compressed network: the training config's model with ``block_size`` in every role,
        checked against every stage of the flow (ValueError naming the key and the stage)."""
        model = train_cfg.model.with_block_size(self.block_size)
        return model.shape(input_size).check_buildable(*FLOW_TARGETS)

    def load_train_config(self):
        """The training config ``train_config`` names, checked (with ``block_size``) against every
        stage of the flow: a network a later stage cannot build fails here, before any training."""
        from rnnaccel.train import load_config

        train_cfg = load_config(resolve_config_path(self.train_config))
        try:
            self.shape(train_cfg, train_cfg.data.feature_settings().dim)
        except ValueError as exc:
            raise ValueError(f"{self.train_config}: the flow (block_size = {self.block_size}) cannot "
                             f"build this model: {exc}") from None
        return train_cfg


def load_flow_config(path: str | Path) -> FlowConfig:
    """Parse a TOML or YAML flow config into a validated :class:`FlowConfig`; its training config is
    loaded and the whole network checked against every stage of the flow too."""
    cfg = load_config_file(path, FlowConfig, "flow config")
    train = resolve_config_path(cfg.train_config, Path(path).parent)  # relative to the flow config
    cfg = cfg.model_copy(update={"train_config": str(train)})
    cfg.load_train_config()
    return cfg


def _ensure_corpus(cfg: FlowConfig, corpus: str, progress: bool, log: Log) -> None:
    from rnnaccel.data.synth import corpus_status, synthesize_corpus

    status = corpus_status(corpus, cfg.synth_utterances, cfg.synth_seed)  # stale or damaged: ValueError
    if status != "absent":
        log(f"corpus: {corpus} (present, {status})")
        return
    log(f"corpus: synthesizing {cfg.synth_utterances} utterances into {corpus} (seed {cfg.synth_seed})")
    r = synthesize_corpus(corpus, cfg.synth_utterances, seed=cfg.synth_seed, progress=progress,
                          overwrite=True)
    for path in r.removed_partial:
        log(f"corpus: removed the partial corpus of an interrupted run: {path}")


def _dense(train_cfg, data: tuple, progress: bool, log: Log) -> tuple[torch.nn.Module, dict]:
    from rnnaccel.train import train

    log(f"dense: training {train_cfg.model.cell} (resumes from {train_cfg.out_dir} when present)")
    result = train(train_cfg, data=data, resume=True, progress=progress)
    return result.model, {"per_curve": [r.__dict__ for r in result.history], "best_epoch": result.best_epoch,
                          "per": result.final_per}


def _compress(cfg: FlowConfig, train_cfg, dense, data: tuple, progress: bool, log: Log) -> tuple[Any, dict]:
    from rnnaccel.compress.pipeline import admm_flow, direct_flow

    a = cfg.admm
    if cfg.method == "direct":
        log(f"phase I: direct block-circulant training (C-LSTM style) at block size {cfg.block_size} from "
            f"the projection of the dense model ({cfg.direct_epochs} epochs)")
        flow = direct_flow(dense, train_cfg, cfg.block_size, cfg.direct_epochs, data,
                           Path(cfg.out_dir) / f"direct-k{cfg.block_size}", progress, resume=True)
        stages = {"projected": flow.stages["projected"], "finetune": flow.stages["direct"]}
        return flow.model, {"method": "direct", "stages": stages, "residuals": []}
    schedule = a  # one schedule type: compress.admm.ADMMSchedule
    log(f"phase I: ADMM to block size {cfg.block_size} ({a.iterations} iterations, {a.finetune_epochs} "
        "fine-tuning epochs)")
    flow = admm_flow(dense, train_cfg, cfg.block_size, schedule, a.finetune_epochs, data,
                     Path(cfg.out_dir) / f"admm-k{cfg.block_size}", progress)
    residuals = [round(entry.residual, 6) for entry in flow.admm_log]
    return flow.model, {"method": "admm", "stages": flow.stages, "residuals": residuals}


def _quantize(cfg: FlowConfig, train_cfg, model, data: tuple, progress: bool, log: Log) -> tuple[Any, dict]:
    """Fake-quantize with the preset; quantization-aware fine-tuning only when ``qat_epochs`` > 0 (the
    fake-quant model trains slower than the float one (benchmarks/bench_qat.py), so the default is
    post-training)."""
    from rnnaccel.compress.pipeline import qat_flow
    from rnnaccel.quant import QuantRecognizer, quant_preset

    if not cfg.qat_epochs:
        log(f"fixed point: {cfg.quant} post-training quantization with PWL activations")
        return QuantRecognizer(model, quant_preset(cfg.quant)), {"stages": {}}
    log(f"fixed point: {cfg.quant} quantization-aware fine-tuning ({cfg.qat_epochs} epochs; slow)")
    flow = qat_flow(model, train_cfg, quant_preset(cfg.quant), cfg.qat_epochs, data,
                    Path(cfg.out_dir) / "qat", progress)
    return flow.model, {"stages": flow.stages}


def _int_batch(wrapped, int_model, feats: list[torch.Tensor]) -> tuple[np.ndarray, Any]:
    """One padded batch through the compiled integer engine, each utterance with its own length (the
    reverse direction starts at its last frame, so results do not depend on batching): (codes, RefResult)."""
    from rnnaccel.quant import quantize_float
    from rnnaccel.ref import run_fast

    x = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True).numpy()
    codes, _ = quantize_float(x, wrapped.rnn.config.input)
    return codes, run_fast(int_model, codes, np.array([f.shape[0] for f in feats]))


def _bit_exact(wrapped, codes: np.ndarray, res, feats: list[torch.Tensor]) -> bool:
    """The fake-quant torch model on each utterance alone (its own length) gives the same output codes."""
    with torch.no_grad():
        ys = [wrapped.rnn(torch.from_numpy(codes[r : r + 1, : f.shape[0]] * wrapped.rnn.config.input.lsb))[0]
              for r, f in enumerate(feats)]
    scale = 2.0**res.output_format.frac
    return all(np.array_equal(y.numpy()[0] * scale, res.output[r, : y.shape[1]]) for r, y in enumerate(ys))


@torch.no_grad()
def _logprobs(wrapped, values: np.ndarray) -> np.ndarray:
    """The float output layer on the integer engine's outputs (exact values code * lsb)."""
    out = wrapped.output(torch.from_numpy(values).to(wrapped.output.weight.dtype))
    return torch.log_softmax(out, dim=-1).numpy()


def _ref_check(cfg: FlowConfig, wrapped, test_set, log: Log, batch_size: int = 192,
               progress: bool = False) -> dict:
    """PER of the integer engine on the whole test split (batched and padded as ``rnnaccel.train``
    evaluates), overflow counts, and bit-exactness against fake-quant torch on ``check_utterances``."""
    from tqdm import tqdm

    from rnnaccel.compress import find_rnn
    from rnnaccel.ref import export_model
    from rnnaccel.train import greedy_decode, phone_error_rate

    wrapped.eval()  # a trained model is left in training mode: its dropout would break the check
    int_model = export_model(find_rnn(wrapped), wrapped.rnn.config)
    n = min(cfg.check_utterances, len(test_set))
    log(f"integer engine: {len(test_set)} test utterances; bit-exactness vs fake-quant torch on {n}")
    t0 = time.perf_counter()
    checked = [test_set.feats[i] for i in range(n)]
    codes, res = _int_batch(wrapped, int_model, checked)
    exact = _bit_exact(wrapped, codes, res, checked)
    order = sorted(range(len(test_set)), key=lambda i: test_set.feats[i].shape[0])
    hyps, overflows = [], dict.fromkeys(res.overflows, 0)
    for b in tqdm(range(0, len(order), batch_size), desc="integer engine", unit="batch",
                  disable=None if progress else True):  # a bar only on a terminal
        idx = order[b : b + batch_size]
        _, res = _int_batch(wrapped, int_model, [test_set.feats[i] for i in idx])
        overflows = {k: overflows[k] + v for k, v in res.overflows.items()}
        logp = _logprobs(wrapped, res.values)
        hyps += [greedy_decode(logp[r, : test_set.feats[i].shape[0]]) for r, i in enumerate(idx)]
        if (b // batch_size) % max(1, len(order) // (8 * batch_size)) == 0:  # ~8 progress lines
            log(f"integer engine: {len(hyps)}/{len(order)} utterances ({time.perf_counter() - t0:.0f} s)")
    refs = [test_set.phones[i].tolist() for i in order]
    return {"utterances": len(test_set), "checked_utterances": n, "bit_exact": exact,
            "per_integer_engine": round(phone_error_rate(refs, hyps), 5), "overflows": overflows,
            "seconds": round(time.perf_counter() - t0, 2)}


def _hardware(cfg: FlowConfig, shape: RnnShape, log: Log) -> dict:
    """FPGA sizing and E-PUR simulation of the chosen model's shape."""
    bits = 16 if cfg.quant == "16bit" else 12
    log(f"phase II: FPGA {cfg.fpga_device} sizing and E-PUR simulation of the block-{cfg.block_size} model")
    return {"fpga": _fpga(cfg, shape, bits), "epur": _epur(shape)}


def _fpga(cfg: FlowConfig, shape: RnnShape, bits: int) -> dict:
    from rnnaccel.hw.fpga import CirculantDesign, evaluate, fpga_device
    from rnnaccel.hw.fpga.compare import ese_calibrated_power
    from rnnaccel.hw.fpga.sizing import size_for_device
    from rnnaccel.hw.fpga.workload import design_blocks

    dev, power = fpga_device(cfg.fpga_device), ese_calibrated_power(cfg.fpga_device)
    block_gate, block_proj = design_blocks(shape)
    base = CirculantDesign(block_gate=block_gate, block_proj=block_proj, weight_bits=bits,
                           data_bits=bits, name=f"flow-k{cfg.block_size}-{bits}b")
    report = evaluate(shape, size_for_device(shape, base, dev, power), dev, power)
    return report.to_dict()


def _epur(shape: RnnShape) -> dict:
    from rnnaccel.hw.epur import NetworkSpec, simulate
    from rnnaccel.hw.epur import evaluate as epur_evaluate

    net = NetworkSpec("flow", (shape,), seq_len=300, step_ms=10.0, description="3 s utterance")
    return epur_evaluate(simulate(net, mwl=True)).summary()


def _rtl(cfg: FlowConfig, wrapped, test_set, log: Log) -> dict:
    """The chosen model's whole network as RTL (one layer top per layer-direction, each fed the RTL
    outputs of the layer below: :mod:`rnnaccel.rtl.network`), test utterance 0 through it in Icarus,
    checked against rnnaccel.ref's whole-model output."""
    from rnnaccel.compress import find_rnn
    from rnnaccel.quant import quantize_float
    from rnnaccel.ref import export_model
    from rnnaccel.rtl.network import run_network

    int_model = export_model(find_rnn(wrapped), wrapped.rnn.config)
    codes, _ = quantize_float(test_set.feats[0].numpy(), wrapped.rnn.config.input)
    out = Path(cfg.out_dir) / "rtl"
    log(f"rtl: every layer-direction generated and simulated in Icarus, chained ({out})")
    meta = {"split": test_set.split, "utterance": 0, "utterance_frames": int(len(codes))}
    net = run_network(int_model, codes, out, lanes=cfg.rtl_parallel, frames=cfg.rtl_frames, meta=meta)
    runs = [s | {"dir": str(out / f"layer{s['layer']}-dir{s['direction']}")} for s in net["stages"]]
    doc = {"bit_exact": net["bit_exact"], "failure": net["failure"], "parallel": cfg.rtl_parallel,
           "utterance_frames": int(len(codes)), "frames": net["frames"],
           "cycles_match_model": all(r["cycles_per_frame"] == r["model_cycles_per_frame"] for r in runs),
           "network_cycles_per_frame": net["network_cycles_per_frame"],
           "model_network_cycles_per_frame": net["model_network_cycles_per_frame"], "layer_directions": runs}
    measured, model = ([r[key] for r in runs] for key in ("cycles_per_frame", "model_cycles_per_frame"))
    log(f"rtl: whole network bit-exact={doc['bit_exact']} over {doc['frames']} frames; cycles/frame measured "
        f"{measured}, hw.fpga model {model}")
    return doc


def run_flow(cfg: FlowConfig, *, progress: bool = False, log: Log | None = None) -> dict:
    """Run the whole flow (module docstring) and write the JSON report; returns the report."""
    from rnnaccel.io import write_json_atomic
    from rnnaccel.train import load_data

    log = log or (lambda _msg: None)
    train_cfg = cfg.load_train_config()  # a network a later stage cannot build fails here
    _ensure_corpus(cfg, train_cfg.data.corpus, progress, log)
    data = load_data(train_cfg)
    shape = cfg.shape(train_cfg, data[0].feats[0].shape[1])
    dense, dense_rep = _dense(train_cfg, data, progress, log)
    circ, compress_rep = _compress(cfg, train_cfg, dense, data, progress, log)
    quant, qat_rep = _quantize(cfg, train_cfg, circ, data, progress, log)
    test_set = data[1]["test"] if "test" in data[1] else next(iter(data[1].values()))
    report = {"config": cfg.model_dump(), "train_config": train_cfg.model_dump(), "dense": dense_rep,
              "compress": compress_rep, "qat": qat_rep,
              "ref_check": _ref_check(cfg, quant, test_set, log, progress=progress),
              "shape": shape.to_dict(), "hardware": _hardware(cfg, shape, log)}
    if cfg.rtl:
        report["rtl"] = _rtl(cfg, quant, test_set, log)
    write_json_atomic(cfg.report, report, stamp=True)  # content_sha256: the report checks it
    return report
