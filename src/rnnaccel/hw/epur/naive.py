"""A deliberately naive per-cycle twin of the analytical model (:mod:`rnnaccel.hw.epur.schedule`).

It walks the same schedule one timestep, one row and one DPU cycle at a time, keeps an explicit set of
resident weight rows per CU and fetches the others on use, and counts every access as it happens. It
shares only the mapping of a layer onto rows (:func:`layer_work`) with the analytical model, so equal
cycle and action counts on small layers check the closed forms. Slow by design: small layers only.
"""

from __future__ import annotations

from rnnaccel.hw.epur.config import EPURConfig
from rnnaccel.hw.epur.schedule import ACTIONS, LayerResult, PhaseResult
from rnnaccel.hw.epur.work import LayerWork, layer_work
from rnnaccel.shape import RnnShape

__all__ = ["naive_simulate_layer"]


class _CU:
    """One computation unit: resident rows, a DPU ticking one cycle per ``width`` multiplies, counters."""

    def __init__(self, cfg: EPURConfig, cnt: dict[str, int]) -> None:
        self.cfg, self.cnt, self.resident, self.cycles = cfg, cnt, set(), 0

    def preload(self, rows: list[tuple[str, int]]) -> None:
        """Fill the weight buffer in row order with every row that still fits (greedy)."""
        free = self.cfg.weight_buffer_bytes
        self.resident = set()
        for key, vals in rows:
            if vals * self.cfg.data_bytes <= free:
                free -= vals * self.cfg.data_bytes
                self.resident.add(key)
                self.fetch(vals)

    def fetch(self, vals: int) -> None:
        self.cnt["dram.read_bytes"] += vals * self.cfg.data_bytes
        for _ in range(0, vals, self.cfg.cu.dpu_width):
            self.cnt["weight_buffer.write"] += 1

    def row(self, key: str, vals: int, mults: int) -> None:
        if key not in self.resident:
            self.fetch(vals)
        self.tick(mults, weights=True)

    def tick(self, mults: int, weights: bool = False) -> None:
        """Run ``mults`` multiplies through the DPU, one cycle per ``width`` of them."""
        left = mults
        while left > 0:
            self.cycles += 1
            self.cnt["dpu.mac"] += min(left, self.cfg.cu.dpu_width)
            self.cnt["dpu.cycle"] += 1
            self.cnt["input_buffer.read"] += 1
            self.cnt["weight_buffer.read" if weights else "input_buffer.write"] += 1
            left -= self.cfg.cu.dpu_width

    def transforms(self, n: int, fft_mults: int) -> None:
        for _ in range(n):
            self.tick(fft_mults)


def _words(vals: int, width: int) -> int:
    n = 0
    for _ in range(0, vals, width):
        n += 1
    return n


def _rows(w: LayerWork, c: int, part: str) -> list[tuple[str, int]]:
    vals = {"fused": w.x_vals + w.h_vals, "rec": w.h_vals, "x": w.x_vals}[part]
    gate = [(f"g{c}.{part}.{i}", vals) for i in range(w.rows)] if c < w.gates else []
    proj = [(f"p{c}.{i}", w.proj_vals) for i in range(w.proj_rows[c])] if part != "x" else []
    return gate + proj


def _fits(w: LayerWork, c: int, cfg: EPURConfig) -> bool:
    return sum(v for _, v in _rows(w, c, "fused")) * cfg.data_bytes <= cfg.weight_buffer_bytes


def _gate_rows(cu: _CU, w: LayerWork, c: int, part: str) -> None:
    """One timestep of the gate stage on gate CU ``c``."""
    cfg = cu.cfg
    n_tf = {"fused": w.q_x + w.q_h + w.rows * w.iffts_per_row,
            "rec": w.q_h + w.rows * (w.iffts_per_row - w.x_ifft_in_input)}[part] if w.circulant else 0
    cu.cnt["input_buffer.write"] += _words(w.in_h, cfg.cu.dpu_width)
    if part == "fused":
        cu.cnt["input_buffer.write"] += _words(w.in_x, cfg.cu.dpu_width)
    else:
        cu.cnt["intermediate_memory.read"] += _words(w.rows * w.psum_vals, cfg.cu.dpu_width)
    for i in range(w.rows):
        key = f"g{c}.{part}.{i}"
        if part == "fused" and w.split:
            cu.row(key, w.x_vals + w.h_vals, w.x_mults)
            cu.tick(w.h_mults, weights=True)
        else:
            cu.row(key, w.x_vals + w.h_vals if part == "fused" else w.h_vals,
                   w.x_mults + w.h_mults if part == "fused" else w.h_mults)
    cu.transforms(n_tf, w.fft_mults)


def _proj_rows(cu: _CU, w: LayerWork, c: int) -> None:
    if not w.proj_rows[c]:
        return
    cu.cnt["input_buffer.write"] += _words(w.hidden, cu.cfg.cu.dpu_width)
    for i in range(w.proj_rows[c]):
        cu.row(f"p{c}.{i}", w.proj_vals, w.proj_mults)
    cu.transforms(w.q_n + w.proj_rows[c] if w.circulant else 0, w.fft_mults)


def _stepwise(w: LayerWork, cfg: EPURConfig, cnt: dict[str, int], part: str, steps: list[list[int]]) -> int:
    """Run the gate and projection stages step by step; ``steps`` are the windows of timesteps."""
    cus = [_CU(cfg, cnt) for _ in range(cfg.n_cu)]
    lat, total = cfg.cu.pipeline_latency_cycles, 0
    for wi, window in enumerate(steps):
        for c, cu in enumerate(cus):
            if wi == 0 or not _fits(w, c, cfg):
                cu.preload(_rows(w, c, part))
        for _ in window:
            total += _stage(cus, w, part, lambda cu, c: _gate_rows(cu, w, c, part) if c < w.gates else None)
            total += lat + cfg.cu.mfu_latency_cycles
            proj = _stage(cus, w, part, lambda cu, c: _proj_rows(cu, w, c))
            total += proj + lat if proj else 0
            cnt["mfu.activation"] += w.act_per_step
            cnt["mfu.elementwise"] += w.elem_per_step
    return total


def _stage(cus: list[_CU], w: LayerWork, part: str, body: object) -> int:
    """Run ``body`` on every CU in parallel; the stage lasts as long as the slowest CU."""
    longest = 0
    for c, cu in enumerate(cus):
        start = cu.cycles
        body(cu, c)
        longest = max(longest, cu.cycles - start)
    return longest


def _window(w: LayerWork, cfg: EPURConfig, seq_len: int) -> list[list[int]]:
    per_step = (w.gates * w.rows * w.psum_vals + w.in_x) * cfg.data_bytes
    tw = 0
    while tw < seq_len and (tw + 1) * per_step <= cfg.intermediate_memory_bytes:
        tw += 1
    if tw == 0:
        raise ValueError("intermediate memory cannot hold the partial sums of one timestep")
    return [list(range(s, min(s + tw, seq_len))) for s in range(0, seq_len, tw)]


def _io(w: LayerWork, cfg: EPURConfig, cnt: dict[str, int], seq_len: int, inputs: bool,
        outputs: bool) -> None:
    b = cfg.data_bytes
    for _ in range(seq_len):
        cnt["dram.read_bytes"] += w.in_x * b if inputs else 0
        cnt["dram.write_bytes"] += w.in_h * b if outputs else 0
    cnt["dram.read_bytes"] += w.params * b if outputs else 0


def _phase(name: str, compute: int, cnt: dict[str, int], cfg: EPURConfig) -> PhaseResult:
    return PhaseResult(name, compute, cfg.dram_cycles(cnt["dram.read_bytes"] + cnt["dram.write_bytes"]),
                       dict(cnt))


def _fused(w: LayerWork, cfg: EPURConfig, seq_len: int) -> PhaseResult:
    cnt = dict.fromkeys(ACTIONS, 0)
    compute = _stepwise(w, cfg, cnt, "fused", [list(range(seq_len))])
    _io(w, cfg, cnt, seq_len, True, True)
    return _phase("fused", compute, cnt, cfg)


def _input(w: LayerWork, cfg: EPURConfig, windows: list[list[int]]) -> PhaseResult:
    """Per window, per chunk of W_x rows that fits the buffer: fetch it, run it against every x_t."""
    cnt = dict.fromkeys(ACTIONS, 0)
    longest, wd = 0, cfg.cu.dpu_width
    for c in range(w.gates):
        cu, rows = _CU(cfg, cnt), _rows(w, c, "x")
        fits = _fits(w, c, cfg)
        per_chunk = len(rows) if fits else cfg.weight_buffer_bytes // (w.x_vals * cfg.data_bytes)
        for wi, window in enumerate(windows):
            for start in range(0, len(rows), per_chunk):
                chunk = rows[start:start + per_chunk]
                if wi == 0 or not fits:
                    cu.preload(chunk)
                for _ in window:
                    cnt["intermediate_memory.read"] += _words(w.in_x, wd)
                    cnt["input_buffer.write"] += _words(w.in_x, wd)
                    cu.transforms(w.q_x, w.fft_mults)
                    for key, vals in chunk:
                        cu.row(key, vals, w.x_mults)
                        cu.transforms(w.x_ifft_in_input, w.fft_mults)
            for _ in window:
                cnt["intermediate_memory.write"] += _words(w.rows * w.psum_vals, wd)
        longest = max(longest, cu.cycles)
    for window in windows:
        for _ in window:
            cnt["intermediate_memory.write"] += _words(w.in_x, wd)
    _io(w, cfg, cnt, sum(map(len, windows)), True, False)
    return _phase("input", longest + len(windows) * cfg.cu.pipeline_latency_cycles, cnt, cfg)


def _recurrent(w: LayerWork, cfg: EPURConfig, windows: list[list[int]]) -> PhaseResult:
    cnt = dict.fromkeys(ACTIONS, 0)
    compute = _stepwise(w, cfg, cnt, "rec", windows)
    _io(w, cfg, cnt, sum(map(len, windows)), False, True)
    return _phase("recurrent", compute, cnt, cfg)


def naive_simulate_layer(layer: RnnShape, cfg: EPURConfig, seq_len: int, mwl: bool, index: int = 0,
                         direction: int = 0) -> LayerResult:
    """Per-cycle simulation of one layer direction; same schedule choice rule as the analytical model."""
    w = layer_work(layer, cfg.n_cu)
    windows = _window(w, cfg, seq_len)
    tw, n_w = len(windows[0]), len(windows)
    base = LayerResult(index, direction, "baseline", (_fused(w, cfg, seq_len),), tw, n_w)
    if not mwl:
        return base
    split = LayerResult(index, direction, "mwl", (_input(w, cfg, windows), _recurrent(w, cfg, windows)),
                        tw, n_w)
    return split if split.dram_bytes < base.dram_bytes else base
