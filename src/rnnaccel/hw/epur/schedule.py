"""Analytical E-PUR model: closed-form cycles, DRAM traffic and action counts per layer phase.

Model (all choices documented in docs/epur.md):
- A timestep is a barrier: the gate stage takes ``rows × cycles-per-row`` (+ transforms) on every gate
  CU in parallel, then the DPU pipeline drains (``pipeline_latency_cycles``) and the multifunctional unit
  finishes (``mfu_latency_cycles``); the projection stage follows on all CUs.
- A phase takes ``max(compute cycles, DRAM cycles)`` (double-buffered streaming: a roofline per phase),
  and is *memory-bound* when the DRAM term wins.
- Weight buffer residency is greedy per CU in row order (gate rows, then projection rows); rows that do
  not fit are re-fetched from DRAM every timestep.
- MWL (Silfa et al. 2018, Sec. "Maximizing Weight Locality" [U mechanism]) splits each gate into its input
  and recurrent parts: the input phase fetches every W_x row once per window of ``Tw`` timesteps and keeps
  the partial sums (and the window's inputs) in the intermediate memory; the recurrent phase then runs
  step by step with W_h (and the projection) resident when it fits. ``mwl=True`` uses this schedule for a
  layer only when it moves fewer DRAM bytes than the baseline (when everything fits on chip it cannot).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rnnaccel.hw.epur.config import EPURConfig
from rnnaccel.hw.epur.networks import NetworkSpec
from rnnaccel.hw.epur.work import LayerWork, layer_work
from rnnaccel.shape import RnnShape

__all__ = ["PhaseResult", "LayerResult", "SimResult", "simulate", "simulate_layer", "mwl_window",
           "resident_rows", "ACTIONS"]

ACTIONS: tuple[str, ...] = (
    "dram.read_bytes", "dram.write_bytes", "weight_buffer.read", "weight_buffer.write",
    "input_buffer.read", "input_buffer.write", "intermediate_memory.read", "intermediate_memory.write",
    "dpu.mac", "dpu.cycle", "mfu.activation", "mfu.elementwise")


@dataclass(frozen=True)
class PhaseResult:
    """One phase of one layer direction: ``fused`` (no MWL), or MWL's ``input`` and ``recurrent``."""

    name: str
    compute_cycles: int
    dram_cycles: int
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def cycles(self) -> int:
        return max(self.compute_cycles, self.dram_cycles)

    @property
    def bound(self) -> str:
        return "memory" if self.dram_cycles > self.compute_cycles else "compute"

    @property
    def dram_bytes(self) -> int:
        return self.counts["dram.read_bytes"] + self.counts["dram.write_bytes"]


@dataclass(frozen=True)
class LayerResult:
    index: int
    direction: int
    schedule: str           # "baseline" or "mwl"
    phases: tuple[PhaseResult, ...]
    window_steps: int       # MWL window Tw (timesteps whose partial sums fit in the intermediate memory)
    n_windows: int

    @property
    def cycles(self) -> int:
        return sum(p.cycles for p in self.phases)

    @property
    def dram_bytes(self) -> int:
        return sum(p.dram_bytes for p in self.phases)


@dataclass(frozen=True)
class SimResult:
    network: NetworkSpec
    config: EPURConfig
    mwl: bool
    layers: tuple[LayerResult, ...]

    @property
    def cycles(self) -> int:
        return sum(lay.cycles for lay in self.layers)

    @property
    def seconds(self) -> float:
        return self.config.seconds(self.cycles)

    @property
    def dram_bytes(self) -> int:
        return sum(lay.dram_bytes for lay in self.layers)

    def counts(self) -> dict[str, int]:
        """Action counts summed over all phases of all layers."""
        total = dict.fromkeys(ACTIONS, 0)
        for lay in self.layers:
            for phase in lay.phases:
                for key, value in phase.counts.items():
                    total[key] += value
        return total


def _cdiv(a: int, b: int) -> int:
    return -(-a // b)


def resident_rows(groups: list[tuple[int, int]], capacity_bytes: int) -> list[int]:
    """Greedy residency: for each (row count, bytes per row) in order, how many rows stay in the buffer."""
    out = []
    for count, row_bytes in groups:
        n = min(count, capacity_bytes // row_bytes) if row_bytes else count
        capacity_bytes -= n * row_bytes
        out.append(n)
    return out


def _check_rows(w: LayerWork, cfg: EPURConfig, where: str) -> None:
    cap, b = cfg.weight_buffer_bytes, cfg.data_bytes
    biggest = max(w.x_vals + w.h_vals, w.proj_vals) * b
    if biggest > cap:
        raise ValueError(f"weight buffer of {cap} B is too small for one weight row of {biggest} B "
                         f"({where}); raise cu.weight_buffer_kib")
    word = cfg.word_bits // 8  # one DPU operand word: the least an input buffer must hold
    if cfg.input_buffer_bytes < word:
        raise ValueError(f"input buffer of {cfg.input_buffer_bytes} B is smaller than one {word} B operand "
                         f"word of the DPU ({where}); raise cu.input_buffer_kib")


def mwl_window(w: LayerWork, cfg: EPURConfig, seq_len: int) -> tuple[int, int]:
    """MWL window ``Tw`` (timesteps whose partial sums G·rows·psum and inputs fit) and window count."""
    per_step = (w.gates * w.rows * w.psum_vals + w.in_x) * cfg.data_bytes
    tw = cfg.intermediate_memory_bytes // per_step
    if tw == 0:
        raise ValueError(f"intermediate memory of {cfg.intermediate_memory_bytes} B cannot hold the partial "
                         f"sums of one timestep ({per_step} B); raise intermediate_memory_kib")
    tw = min(tw, seq_len)
    return tw, _cdiv(seq_len, tw)


def _fetch(res: int, total: int, seq_len: int, reload: int = 1) -> int:
    """Rows fetched from DRAM: resident rows ``reload`` times, streamed rows every timestep."""
    return reload * res + seq_len * (total - res)


def _row_cycles(w: LayerWork, wd: int) -> int:
    if w.split:
        return _cdiv(w.x_mults, wd) + _cdiv(w.h_mults, wd)
    return _cdiv(w.x_mults + w.h_mults, wd)


def _cu_groups(w: LayerWork, c: int, part: str) -> list[tuple[int, int]]:
    """(rows, values per row) held by CU ``c`` for ``part`` in fused / rec."""
    rows = w.rows if c < w.gates else 0
    vals = w.x_vals + w.h_vals if part == "fused" else w.h_vals
    return [(rows, vals), (w.proj_rows[c], w.proj_vals)]


def _fits(w: LayerWork, c: int, cfg: EPURConfig) -> bool:
    return sum(n * v for n, v in _cu_groups(w, c, "fused")) * cfg.data_bytes <= cfg.weight_buffer_bytes


def _weight_traffic(w: LayerWork, c: int, cfg: EPURConfig, part: str, t: int, reload: int) -> tuple[int, int]:
    """(DRAM weight bytes, weight-buffer fill words) of CU ``c`` over the sequence."""
    groups = _cu_groups(w, c, part)
    b, wd = cfg.data_bytes, cfg.cu.dpu_width
    res = resident_rows([(n, v * b) for n, v in groups], cfg.weight_buffer_bytes)
    fetched = [_fetch(r, n, t, reload) for r, (n, _) in zip(res, groups, strict=True)]
    nbytes = sum(f * v * b for f, (_, v) in zip(fetched, groups, strict=True))
    return nbytes, sum(f * _cdiv(v, wd) for f, (_, v) in zip(fetched, groups, strict=True))


def _proj_step(w: LayerWork, c: int, wd: int) -> tuple[int, int, int]:
    """Projection stage of CU ``c`` per timestep: (MAC cycles, transform cycles, multiplies)."""
    pr = w.proj_rows[c]
    if not pr:
        return 0, 0, 0
    n_tf = (w.q_n + pr) if w.circulant else 0
    return pr * _cdiv(w.proj_mults, wd), n_tf * _cdiv(w.fft_mults, wd), pr * w.proj_mults + n_tf * w.fft_mults


def _gate_step(w: LayerWork, wd: int, part: str, n_chunks: int = 1) -> tuple[int, int, int]:
    """Gate stage of a gate CU per timestep: (MAC cycles, transform cycles, multiplies)."""
    fc = _cdiv(w.fft_mults, wd)
    if part == "fused":
        mac, mults, n_tf = w.rows * _row_cycles(w, wd), w.rows * (w.x_mults + w.h_mults), \
            w.q_x + w.q_h + w.rows * w.iffts_per_row
    elif part == "x":
        mac, mults, n_tf = w.rows * _cdiv(w.x_mults, wd), w.rows * w.x_mults, \
            n_chunks * w.q_x + w.rows * w.x_ifft_in_input
    else:
        mac, mults, n_tf = w.rows * _cdiv(w.h_mults, wd), w.rows * w.h_mults, \
            w.q_h + w.rows * (w.iffts_per_row - w.x_ifft_in_input)
    n_tf = n_tf if w.circulant else 0
    return mac, n_tf * fc, mults + n_tf * w.fft_mults


def _stage_counts(w: LayerWork, cfg: EPURConfig, part: str, t: int, reload: int) -> dict[str, int]:
    """Buffer, DPU and DRAM weight counts over all CUs for a ``fused`` or ``rec`` phase."""
    wd = cfg.cu.dpu_width
    cnt = dict.fromkeys(("dram.read_bytes", "weight_buffer.write", "weight_buffer.read", "input_buffer.read",
                         "input_buffer.write", "dpu.mac", "dpu.cycle"), 0)
    for c in range(cfg.n_cu):
        nbytes, fills = _weight_traffic(w, c, cfg, part, t, reload if not _fits(w, c, cfg) else 1)
        g = _gate_step(w, wd, part) if c < w.gates else (0, 0, 0)
        p = _proj_step(w, c, wd)
        load = (_cdiv(w.in_x, wd) if part == "fused" else 0) + _cdiv(w.in_h, wd) if c < w.gates else 0
        load += _cdiv(w.hidden, wd) if w.proj_rows[c] else 0
        _add(cnt, nbytes, fills, g, p, load, t)
    return cnt


def _add(cnt: dict[str, int], nbytes: int, fills: int, g: tuple, p: tuple, load: int, t: int) -> None:
    cnt["dram.read_bytes"] += nbytes
    cnt["weight_buffer.write"] += fills
    cnt["weight_buffer.read"] += t * (g[0] + p[0])
    cnt["input_buffer.read"] += t * (g[0] + g[1] + p[0] + p[1])
    cnt["input_buffer.write"] += t * (load + g[1] + p[1])
    cnt["dpu.mac"] += t * (g[2] + p[2])
    cnt["dpu.cycle"] += t * (g[0] + g[1] + p[0] + p[1])


def _step_cycles(w: LayerWork, cfg: EPURConfig, part: str) -> int:
    wd, lat = cfg.cu.dpu_width, cfg.cu.pipeline_latency_cycles
    g = _gate_step(w, wd, part)
    gate = g[0] + g[1] + lat + cfg.cu.mfu_latency_cycles
    proj = max(sum(_proj_step(w, c, wd)[:2]) for c in range(cfg.n_cu))
    return gate + (proj + lat if proj else 0)


def _fused_phase(w: LayerWork, cfg: EPURConfig, t: int) -> PhaseResult:
    cnt = _stage_counts(w, cfg, "fused", t, 1)
    b = cfg.data_bytes
    cnt["dram.read_bytes"] += w.params * b + t * w.in_x * b
    cnt["dram.write_bytes"] = t * w.in_h * b
    cnt.update({"intermediate_memory.read": 0, "intermediate_memory.write": 0,
                "mfu.activation": t * w.act_per_step, "mfu.elementwise": t * w.elem_per_step})
    return _phase("fused", t * _step_cycles(w, cfg, "fused"), cnt, cfg)


def _phase(name: str, compute: int, cnt: dict[str, int], cfg: EPURConfig) -> PhaseResult:
    dram = cfg.dram_cycles(cnt["dram.read_bytes"] + cnt["dram.write_bytes"])
    return PhaseResult(name, compute, dram, {k: cnt[k] for k in ACTIONS})


def _input_phase(w: LayerWork, cfg: EPURConfig, t: int, n_w: int) -> PhaseResult:
    wd, b, cap = cfg.cu.dpu_width, cfg.data_bytes, cfg.weight_buffer_bytes
    chunk = cap // (w.x_vals * b)
    cnt = dict.fromkeys(ACTIONS, 0)
    step = 0
    for c in range(w.gates):
        fits = _fits(w, c, cfg)
        n_chunks = 1 if fits else _cdiv(w.rows, chunk)
        loads = 1 if fits else n_w  # every W_x row is fetched once per window (once if all fits)
        g = _gate_step(w, wd, "x", n_chunks)
        cnt["dram.read_bytes"] += loads * w.rows * w.x_vals * b
        cnt["weight_buffer.write"] += loads * w.rows * _cdiv(w.x_vals, wd)
        _add_input(cnt, g, n_chunks * _cdiv(w.in_x, wd), _cdiv(w.rows * w.psum_vals, wd), t)
        step = max(step, g[0] + g[1])
    cnt["dram.read_bytes"] += t * w.in_x * b
    cnt["intermediate_memory.write"] += t * _cdiv(w.in_x, wd)
    return _phase("input", t * step + n_w * cfg.cu.pipeline_latency_cycles, cnt, cfg)


def _add_input(cnt: dict[str, int], g: tuple, x_words: int, psum_words: int, t: int) -> None:
    cnt["weight_buffer.read"] += t * g[0]
    cnt["input_buffer.read"] += t * (g[0] + g[1])
    cnt["input_buffer.write"] += t * (x_words + g[1])
    cnt["intermediate_memory.read"] += t * x_words
    cnt["intermediate_memory.write"] += t * psum_words
    cnt["dpu.mac"] += t * g[2]
    cnt["dpu.cycle"] += t * (g[0] + g[1])


def _recurrent_phase(w: LayerWork, cfg: EPURConfig, t: int, n_w: int) -> PhaseResult:
    cnt = _stage_counts(w, cfg, "rec", t, n_w)
    b = cfg.data_bytes
    cnt["dram.read_bytes"] += w.params * b
    cnt["dram.write_bytes"] = t * w.in_h * b
    cnt.update({"intermediate_memory.read": t * w.gates * _cdiv(w.rows * w.psum_vals, cfg.cu.dpu_width),
                "intermediate_memory.write": 0, "mfu.activation": t * w.act_per_step,
                "mfu.elementwise": t * w.elem_per_step})
    return _phase("recurrent", t * _step_cycles(w, cfg, "rec"), cnt, cfg)


def simulate_layer(layer: RnnShape, cfg: EPURConfig, seq_len: int, mwl: bool, index: int = 0,
                   direction: int = 0) -> LayerResult:
    """One direction of one layer over ``seq_len`` timesteps (see module docstring for the model)."""
    w = layer_work(layer, cfg.n_cu)
    _check_rows(w, cfg, f"layer {index}")
    tw, n_w = mwl_window(w, cfg, seq_len)
    base = LayerResult(index, direction, "baseline", (_fused_phase(w, cfg, seq_len),), tw, n_w)
    if not mwl:
        return base
    split = LayerResult(index, direction, "mwl", (_input_phase(w, cfg, seq_len, n_w),
                                                  _recurrent_phase(w, cfg, seq_len, n_w)), tw, n_w)
    return split if split.dram_bytes < base.dram_bytes else base


def simulate(network: NetworkSpec, cfg: EPURConfig | None = None, *, mwl: bool = True) -> SimResult:
    """Simulate ``network`` layer by layer (both directions of a bidirectional layer in turn)."""
    cfg = cfg or EPURConfig()
    layers = tuple(simulate_layer(lay, cfg, network.seq_len, mwl, i, d)
                   for i, lay in enumerate(network.layers) for d in range(lay.directions))
    return SimResult(network, cfg, mwl, layers)
