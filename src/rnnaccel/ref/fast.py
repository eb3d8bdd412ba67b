"""The fast integer engine: :func:`run_fast` gives the same output codes, final states and overflow
counts as :func:`rnnaccel.ref.engine.run_int_model` (the readable spec), from compiled int64
kernels (:mod:`rnnaccel.ref._kernels`, numba) that run one whole direction of a layer per call.

What it does differently, none of which changes a bit: the input part is computed inside each step
(``window=1``; role outputs are exact), the batch is the innermost axis of every array, the FFT
stages are butterflies on codes, never fused matrices, and utterances are sorted by length so that
the ones still running at a timestep are a prefix of the batch. Where a compiled kernel cannot
represent a model (numba not installed, an unsigned 32-bit format, codes beyond int32) the numpy
engine runs instead; :func:`fast_path_reason` says which path a model takes and why.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

import numpy as np

from rnnaccel.quant.config import POINT_NAMES, QPoint, QuantConfig
from rnnaccel.quant.qformat import Overflow, QFormat, Rounding, apply_overflow
from rnnaccel.ref.engine import RefResult, check_lengths, input_overflows, run_int_model
from rnnaccel.ref.export import IntCirculant, IntDense, IntDirection, IntModel, IntRole

__all__ = ["MAX_TILE", "fast_path_reason", "run_fast", "tile_width"]

_PID = {name: i for i, name in enumerate(POINT_NAMES)}
MAX_TILE = 256  # most batch columns per tile (bench_ref: 64 -> 94k, 192 -> 143k frames/s; 256 fits L2)
_MODE = {Rounding.TRN: 0, Rounding.RND: 1, Rounding.RND_CONV: 2}


@cache
def _kernels() -> ModuleType | None:
    """The compiled kernels, or None when numba is missing or has no writable cache location."""
    try:
        return importlib.import_module("rnnaccel.ref._kernels")
    except (ImportError, RuntimeError):
        return None


def _int32_ok(codes: np.ndarray) -> bool:
    return codes.size == 0 or (int(codes.min()) >= -(2**31) and int(codes.max()) < 2**31)


def fast_path_reason(model: IntModel) -> str | None:
    """None when :func:`run_fast` runs ``model`` compiled, else why it falls back to the numpy engine."""
    if _kernels() is None:
        return "numba is not installed (pip install 'rnnaccel[fast]')"
    wide = [n for n in POINT_NAMES if (f := model.config[n]) is not None and not f.signed and f.bits == 32]
    if wide:
        return f"unsigned 32-bit format at {wide}: codes do not fit int32"
    for directions in model.layers:
        for d in directions:
            for role in (d.ih, d.hh, d.proj):
                if role is not None and not all(_int32_ok(w) for w in _weights(role)):
                    return "weight codes beyond int32"
    for pwl in (model.config.sigmoid_pwl, model.config.tanh_pwl):
        breaks = pwl.table.breaks
        if len(breaks) < 2 or np.any(np.diff(breaks) != breaks[1] - breaks[0]):
            return f"non-uniform PWL breakpoints for {pwl.fn}"
    return None


def _weights(role: IntRole) -> tuple[np.ndarray, ...]:
    return (role.w_re, role.w_im) if isinstance(role, IntCirculant) else (role.weight,)


def _fmt_row(fmt: QFormat | None) -> list[int]:
    if fmt is None:
        return [0] * 6
    wrap = int(fmt.overflow is Overflow.WRAP)
    return [fmt.frac, fmt.code_min, fmt.code_max, _MODE[fmt.rounding], wrap, fmt.bits]


def _fmt_table(cfg: QuantConfig) -> np.ndarray:
    return np.array([_fmt_row(cfg[n]) for n in POINT_NAMES], np.int64)


def _role_frac(role: IntRole, in_frac: int, cfg: QuantConfig) -> int:
    """Frac of the exact ``W x`` (before the bias)."""
    if isinstance(role, IntDense):
        return in_frac + cfg.weight.frac
    n = role.plan.n_stages
    return cfg.ifft.frac + n if n else cfg.freq_acc.frac


def _c32(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.int32)


def _c64(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a, np.int64)


def _circulant_parts(role: IntCirculant, in_frac: int, cfg: QuantConfig) -> tuple[list[int], tuple]:
    plan, n = role.plan, role.plan.n_stages
    ff = cfg.fft.frac if n else in_frac
    half = max(role.block_size // 2, 1)
    twr, twi = np.zeros((max(n, 1), half), np.int64), np.zeros((max(n, 1), half), np.int64)
    for s, (wr, wi) in enumerate(plan.int_twiddles):
        h = 1 << s
        twr[s, :h], twi[s, :h] = wr[:h], wi[:h]
    fsh = in_frac - cfg.fft.frac if n else 0
    ish = cfg.freq_acc.frac - cfg.ifft.frac if n else 0
    pids = [_PID["fft"], _PID["freq_acc"], _PID["ifft"]]
    prm = [role.block_size, role.in_features, role.out_features, role.p, role.q, n]
    rest = [fsh, ff + cfg.weight.frac - cfg.freq_acc.frac, ish, plan.frac, *pids]
    arrays = (np.zeros((0, 0), np.int32), _c32(role.w_re), _c32(role.w_im))
    return prm, (arrays, rest, _c64(plan.bit_reverse), twr, twi)


def _role_tuple(role: IntRole | None, in_frac: int, cfg: QuantConfig) -> tuple[tuple, int]:
    """The kernels' tuple for a role (see :mod:`rnnaccel.ref._kernels`) and its output frac."""
    if role is None:  # an absent projection: an empty dense role, never applied
        role = IntDense(np.zeros((0, 0), np.int64), None)
    yf = _role_frac(role, in_frac, cfg)
    f = yf if role.bias is None else max(yf, cfg.bias.frac)
    bias_part = [int(role.bias is not None), f - yf, 0 if role.bias is None else f - cfg.bias.frac]
    bias = _c64(np.zeros(0) if role.bias is None else role.bias)
    if isinstance(role, IntCirculant):
        prm, (arrays, rest, rev, twr, twi) = _circulant_parts(role, in_frac, cfg)
        return (1, *arrays, bias, _c64(prm + bias_part + rest), rev, twr, twi), f
    empty3, empty2 = np.zeros((0, 0, 0), np.int32), np.zeros((0, 0), np.int64)
    prm = [1, role.in_features, role.out_features, 0, 0, 0, *bias_part] + [0] * 7
    return (0, _c32(role.weight), empty3, empty3, bias, _c64(prm), np.zeros(1, np.int64), empty2, empty2), f


def _pwl_tuple(cfg: QuantConfig, name: str) -> tuple:
    t = getattr(cfg, f"{name}_pwl").table
    w = int(t.breaks[1] - t.breaks[0])
    log2w = w.bit_length() - 1 if w & (w - 1) == 0 else -1
    tp = np.array([t.frac, int(t.breaks[0]), w, len(t.breaks) - 1, log2w], np.int64)
    return (_c64(t.starts), _c64(t.bases), _c64(t.slopes), tp)


def _lstm_shifts(cfg: QuantConfig, fgx: int, fgh: int, proj_frac: int | None) -> np.ndarray:
    """Alignment and rounding shifts of one LSTM step (index meaning: ``_kernels._lstm_cell``)."""
    names = ("gate_acc", "weight", "cell", "sigmoid", "tanh", "hidden")
    gf, wf, cf, sf, tf, hf = (cfg[p].frac for p in names)
    fpre = max(fgx, fgh)
    fpp = max(fpre, wf + cf)
    fce = max(sf + cf, sf + tf)
    proj = 0 if proj_frac is None else proj_frac - cfg.proj.frac
    sh = [fpre - fgx, fpre - fgh, fpre - gf, fpp - fpre, fpp - wf - cf, fpp - gf,
          fce - sf - cf, fce - sf - tf, fce - cf, sf + tf - hf, proj, gf, cf]
    return np.array(sh + [_PID[p] for p in ("gate_acc", "sigmoid", "tanh", "cell", "hidden", "proj")])


def _gru_shifts(cfg: QuantConfig, fgx: int, fgh: int) -> np.ndarray:
    """Alignment and rounding shifts of one GRU step (index meaning: ``_kernels._gru_cell``)."""
    gf, sf, tf, hf = (cfg[p].frac for p in ("gate_acc", "sigmoid", "tanh", "hidden"))
    fm, fn = max(fgx, fgh), max(fgx, sf + gf)
    fd = max(hf, tf)
    fo = max(tf, sf + fd)
    sh = [fm - fgx, fm - fgh, fm - gf, fgh - gf, fn - fgx, fn - sf - gf, fn - gf, fd - hf, fd - tf,
          fo - tf, fo - sf - fd, gf, fo - hf]
    return np.array(sh + [_PID[p] for p in ("gate_acc", "sigmoid", "tanh", "cell", "hidden", "proj")])


def _direction(k: ModuleType, model: IntModel, d: IntDirection, seq: np.ndarray, in_frac: int,
               run: dict, reverse: bool, out: np.ndarray, off: int) -> tuple[np.ndarray, np.ndarray | None]:
    cfg, y_frac = model.config, model.output_format.frac
    ih, fgx = _role_tuple(d.ih, in_frac, cfg)
    hh, fgh = _role_tuple(d.hh, y_frac, cfg)
    out_w, tiles, tile = d.hh.in_features, seq.shape[1], seq.shape[3]
    y = np.zeros((tiles, out_w, tile), np.int64)
    common = (run["fmts"], run["counts"], run["flags"], out, off)
    dims = np.array([d.hidden_size, out_w], np.int64)
    if model.kind == "gru":
        sh = _gru_shifts(cfg, fgx, fgh)
        k.run_gru_direction(seq, run["nact"], reverse, (ih, hh), run["tabs"], sh, dims, *common, y)
        return y, None
    proj, pf = _role_tuple(d.proj, cfg.hidden.frac, cfg)
    peep = np.zeros((3, d.hidden_size), np.int64) if d.peephole is None else _c64(np.stack(d.peephole))
    sh = _lstm_shifts(cfg, fgx, fgh, None if d.proj is None else pf)
    c = np.zeros((tiles, d.hidden_size, tile), np.int64)
    k.run_lstm_direction(seq, run["nact"], reverse, (ih, hh, proj), int(d.proj is not None), peep,
                         int(d.peephole is not None), run["tabs"], sh, dims, *common, y, c)
    return y, c


def _touched_points(model: IntModel) -> list[str]:
    """The points the numpy engine rounds at (so both report the same keys)."""
    pts = {QPoint.GATE_ACC, QPoint.SIGMOID, QPoint.TANH, QPoint.HIDDEN}
    pts |= {QPoint.CELL} if model.kind == "lstm" else set()
    for directions in model.layers:
        for d in directions:
            pts |= {QPoint.PROJ} if d.proj is not None else set()
            for role in (d.ih, d.hh, d.proj):
                if isinstance(role, IntCirculant):
                    pts |= {QPoint.FREQ_ACC} | ({QPoint.FFT, QPoint.IFFT} if role.plan.n_stages else set())
    return [p.value for p in pts]


def _overflows(model: IntModel, n_input: int, counts: np.ndarray) -> dict[str, int]:
    out = {QPoint.INPUT.value: n_input}
    for point, n in model.export_overflows.items():
        out[point] = out.get(point, 0) + n
    for point in _touched_points(model):
        out[point] = out.get(point, 0) + int(counts[_PID[point]])
    return out


def tile_width(batch: int, max_tile: int | None = None) -> int:
    """Columns per tile: the batch in the fewest tiles of at most ``max_tile`` (default
    :data:`MAX_TILE`) columns, equal widths rounded up to a multiple of 8 (one AVX-512 vector of
    int64). Wide tiles amortize the fixed cost of each short column loop."""
    cap = MAX_TILE if max_tile is None else max_tile
    tiles = -(-batch // cap)
    per_tile = -(-batch // tiles)
    return min(cap, -(-per_tile // 8) * 8)


def _to_tiles(codes: np.ndarray, tile: int) -> np.ndarray:
    """(batch, time, feat) -> (time, tiles, feat, tile), the batch zero padded to whole tiles."""
    b, t, f = codes.shape
    tiles = -(-b // tile)
    padded = np.zeros((tiles * tile, t, f), np.int64)
    padded[:b] = codes
    return np.ascontiguousarray(padded.reshape(tiles, tile, t, f).transpose(2, 0, 3, 1))


def _from_tiles(arr: np.ndarray, batch: int) -> np.ndarray:
    """(time, tiles, feat, tile) -> (batch, time, feat)."""
    t, tiles, f, tile = arr.shape
    return arr.transpose(1, 3, 0, 2).reshape(tiles * tile, t, f)[:batch]


def run_fast(model: IntModel, x_int: np.ndarray, lengths: np.ndarray | None = None) -> RefResult:
    """:func:`rnnaccel.ref.run_int_model` (same arguments, same result bit for bit), compiled."""
    k = _kernels() if fast_path_reason(model) is None else None
    if k is None:
        return run_int_model(model, x_int, lengths=lengths)
    x = np.asarray(x_int)
    lengths = check_lengths(lengths, x, model)
    codes, _ = apply_overflow(x.astype(np.int64), model.config.input)
    n_input = input_overflows(x, lengths, model.config.input)
    order = np.argsort(-lengths, kind="stable")
    seq = _to_tiles(codes[order], tile_width(x.shape[0]))
    run = {"fmts": _fmt_table(model.config), "counts": np.zeros(len(POINT_NAMES), np.int64),
           "flags": np.zeros(1, np.int64), "tabs": (_pwl_tuple(model.config, "sigmoid"),
                                                    _pwl_tuple(model.config, "tanh")),
           "nact": (lengths[order][None, :] > np.arange(x.shape[1])[:, None]).sum(1).astype(np.int64)}
    finals, in_frac = [], model.config.input.frac
    for directions in model.layers:
        width = sum(d.hh.in_features for d in directions)
        out = np.zeros((seq.shape[0], seq.shape[1], width, seq.shape[3]), np.int64)
        offs = np.cumsum([0] + [d.hh.in_features for d in directions])
        finals += [_direction(k, model, d, seq, in_frac, run, di == 1, out, int(offs[di]))
                   for di, d in enumerate(directions)]
        seq, in_frac = out, model.output_format.frac
    if run["flags"][0]:
        raise ValueError("exact intermediate reaches 2**53 before a rounding: formats too wide")
    inv, batch = np.argsort(order), x.shape[0]
    h_n = np.stack([_from_tiles(h[None], batch)[:, 0][inv] for h, _ in finals])
    c_n = None if model.kind == "gru" else np.stack([_from_tiles(c[None], batch)[:, 0][inv]
                                                     for _, c in finals])
    return RefResult(_from_tiles(seq, batch)[inv], model.output_format, h_n, c_n,
                     _overflows(model, n_input, run["counts"]))
