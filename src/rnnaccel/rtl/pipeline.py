"""The layer top with the 3-stage coarse-grained pipeline of C-LSTM / E-RNN over ``S`` interleaved
independent streams: stage 1 gate mat-vec (PE ih + PE hh) | stage 2 elementwise (PWL + cell/GRU
update) | stage 3 projection (LSTM with projection), each stage working on a different stream in
the same cycles, with double buffers across timesteps.

```
 frame (x, first) --i--> [x buf] -> [PE ih] --+--> gate slot 0 | 1 --> [cell / GRU unit] --> h[s], c[s]
 r[s] (stream s's state) -> [PE hh] ----------+    (ping-pong)                   |
                                                          [PE proj] <-- h[s] <--+  (LSTM with projection)
                                                              +--> r[s] --o--> frame of stream s
```

Streams and ordering: the ``S`` streams are strictly round-robin. Input frame ``n`` (counted from
reset) belongs to stream ``n mod S``; output frame ``n`` is stream ``n mod S``'s, in the same order
(every stage is first in, first out). ``i.payload.first`` marks a sequence start: the stream's
state (h, c, r) is zeroed before the frame. Stream ``s`` runs direction ``dirs[s]`` (its own
weights, biases and peepholes: the MAC banks hold the ``S`` directions' words one after another and
step through them in stream order; ``S`` copies of one direction share one set), so a
bidirectional layer is ``dirs = (forward, backward)`` fed ``x_0, x_{T-1}, x_1, x_{T-2}, ...``.

Buffers: two gate slots (stage 1 writes one while stage 2 reads the other), ``S`` copies of the
state (h, c, r: a stream has at most one frame in flight, so its state is read and written by one
stage at a time), one token register between stage 2 and 3 and one for the output.

Timing: every stage spends one cycle taking its token (stage 1: the input frame), then runs, and
frees its slot in its last cycle: stage cycles ``D1 = passes*q + PE latency + 2``, ``D2 = H + unit
latency + 2``, ``D3 = passes_proj*q_proj + PE latency + 2``; a stream's next frame may enter in the
cycle its output is taken, so one stream loops in ``D1 + D2 (+ D3)`` cycles and with enough
streams the pipeline delivers one frame per ``max(D)`` cycles. :func:`pipeline_schedule` is the
exact cycle model of this controller (a test keeps it equal to the simulation).
Spec: :func:`rnnaccel.ref.engine.run_direction` per stream, bit for bit.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import QFormat
from rnnaccel.ref.export import IntCirculant, IntDirection
from rnnaccel.rtl.cell import GRUUpdateUnit, LSTMCellUnit
from rnnaccel.rtl.fixed import fmt_shape, requantize
from rnnaccel.rtl.pe import PE
from rnnaccel.rtl.top import _check_direction, _pre_format

__all__ = ["PipelinedTop", "interleave", "pack_frames", "pipeline_schedule", "reference_streams",
           "stack_roles", "stage_cycles", "steady_interval"]


def stack_roles(roles: Sequence[IntCirculant], lanes: int) -> IntCirculant:
    """One role whose MAC words are the roles' words one after another, each padded to whole passes
    of ``lanes`` output blocks (stream s's passes are passes s*P' .. s*P'+P'-1); one role if all are
    the same object."""
    if all(r is roles[0] for r in roles):
        return roles[0]
    first, passes = roles[0], math.ceil(roles[0].p / lanes)

    def pad(w: np.ndarray) -> np.ndarray:
        return np.concatenate([w, np.zeros((passes * lanes - w.shape[0], *w.shape[1:]), w.dtype)])

    w_re = np.concatenate([pad(r.w_re) for r in roles])
    w_im = np.concatenate([pad(r.w_im) for r in roles])
    return dataclasses.replace(first, w_re=w_re, w_im=w_im, bias=None,
                               out_features=w_re.shape[0] * first.block_size)


def _check_streams(kind: str, dirs: Sequence[IntDirection]) -> tuple[IntDirection, ...]:
    dirs = tuple(_check_direction(kind, d) for d in dirs)
    if len(dirs) < 2:
        raise ValueError(f"PipelinedTop needs 2 or more streams, got {len(dirs)} (one stream: LayerTop)")

    def shape(d: IntDirection) -> tuple:
        proj = None if d.proj is None else (d.proj.p, d.proj.q)
        return (d.ih.p, d.ih.q, d.hh.q, d.ih.block_size, d.ih.in_features, d.hidden_size, proj,
                d.peephole is None)

    if len({shape(d) for d in dirs}) != 1:
        raise ValueError(f"the streams' directions must have one shape; got {[shape(d) for d in dirs]}")
    return dirs


class PipelinedTop(wiring.Component):
    """``len(dirs)`` >= 2 interleaved streams of one layer shape (see the module doc).

    Ports: ``i`` payload struct ``x`` (``in_features`` codes of ``in_fmt``), ``first`` (1: the
    stream's sequence starts, its state is zeroed); ``o`` the frame's output (``hidden_size`` codes
    of the ``hidden`` point, or with a projection ``proj`` codes of the ``proj`` point).
    """

    def __init__(self, kind: str, dirs: Sequence[IntDirection], config: QuantConfig, in_fmt: QFormat,
                 lanes: int = 1) -> None:
        self.kind, self.dirs, self.config, self.in_fmt = kind, _check_streams(kind, dirs), config, in_fmt
        d = self.dirs[0]
        self.streams, self.lanes, self.h, self.k = len(self.dirs), lanes, d.hidden_size, d.ih.block_size
        self.state_fmt = config.proj if d.proj is not None else config.hidden
        self.out_size = d.proj.out_features if d.proj is not None else self.h
        self.pe_ih = PE(stack_roles([e.ih for e in self.dirs], lanes), config, in_fmt, lanes)
        self.pe_hh = PE(stack_roles([e.hh for e in self.dirs], lanes), config, self.state_fmt, lanes)
        self.passes = math.ceil(d.ih.p / lanes)
        self.pe_proj, self.proj_passes = None, 0
        if d.proj is not None:
            pl = min(lanes, d.proj.p)
            self.pe_proj = PE(stack_roles([e.proj for e in self.dirs], pl), config, config.hidden, pl)
            self.proj_passes = math.ceil(d.proj.p / pl)
        self.pre = _pre_format(self.pe_ih.out_frac, config.ifft, config.bias, 4 if kind == "lstm" else 2)
        self.unit = (LSTMCellUnit(config, self.pre, d.peephole is not None) if kind == "lstm"
                     else GRUUpdateUnit(config, self.pre, self.pre))
        x = data.ArrayLayout(fmt_shape(in_fmt), d.ih.in_features)
        super().__init__({
            "i": In(stream.Signature(data.StructLayout({"x": x, "first": 1}))),
            "o": Out(stream.Signature(data.ArrayLayout(fmt_shape(self.state_fmt), self.out_size))),
        })

    # --- building blocks -------------------------------------------------------------------------

    def _blocks(self, flat, width: int, q: int) -> Array:
        """The q input blocks of a flat code vector (zero padded to q*k), as an Array of raw words."""
        k, total = self.k, len(flat)
        pad = Cat(flat, Const(0, q * k * width - total)) if q * k * width > total else flat
        return Array([pad[j * k * width : (j + 1) * k * width] for j in range(q)])

    def _feed(self, m: Module, pe: PE, blocks: Array, run, passes: int, name: str) -> Signal:
        """Stream ``passes`` passes of pass-major input blocks to ``pe`` while ``run``."""
        q, total = pe.role.q, passes * pe.role.q
        cnt = Signal(range(total + 1), name=f"{name}_sent")
        blk = Signal(range(q), name=f"{name}_blk")
        m.d.comb += [pe.i.valid.eq(run & (cnt < total)), pe.i.payload.as_value().eq(blocks[blk])]
        with m.If(pe.i.valid & pe.i.ready):
            m.d.sync += [cnt.eq(cnt + 1), blk.eq(Mux(blk == q - 1, 0, blk + 1))]
        return cnt

    def _collect(self, m: Module, pe: PE, passes: int, slots: int, slot, name: str):
        """``slots`` x ``passes`` pass registers; the PE's passes go to slot ``slot``."""
        width = len(pe.o.payload.as_value())
        regs = [[Signal(width, name=f"{name}{s}_pass{n}") for n in range(passes)] for s in range(slots)]
        got = Signal(range(passes + 1), name=f"{name}_got")
        m.d.comb += pe.o.ready.eq(got < passes)
        with m.If(pe.o.valid & pe.o.ready):
            flat = Array([r for slot_regs in regs for r in slot_regs])
            m.d.sync += [flat[slot * passes + got].eq(pe.o.payload.as_value()), got.eq(got + 1)]
        return regs, got

    def _codes(self, chunks, features: int) -> list:
        """Signed IFFT codes of the first ``features`` outputs of a stream's pass registers."""
        w = fmt_shape(self.config.ifft).width
        return [chunks[j * w : (j + 1) * w].as_signed() for j in range(features)]

    def _per_stream(self, values, index):
        """Array over (stream, element) of per-stream constant codes, read at flat ``index``."""
        return Array([Const(int(v)) for row in values for v in row])[index]

    # --- state and tokens ------------------------------------------------------------------------

    def _state(self) -> dict[str, list[list[Signal]]]:
        cfg, S = self.config, self.streams

        def bank(name: str, fmt: QFormat, n: int) -> list[list[Signal]]:
            return [[Signal(fmt_shape(fmt), name=f"{name}{s}_{j}") for j in range(n)] for s in range(S)]

        st = {"h": bank("h", cfg.hidden, self.h)}
        st["c"] = bank("c", cfg.cell, self.h) if self.kind == "lstm" else []
        st["r"] = bank("r", cfg.proj, self.out_size) if self.pe_proj is not None else st["h"]
        return st

    def _token(self, m: Module, name: str, push, push_sid, take) -> tuple[Signal, Signal]:
        """A one-entry token register (valid, stream): set by ``push``, cleared by ``take``."""
        valid, sid = Signal(name=f"{name}_valid"), Signal(range(self.streams), name=f"{name}_stream")
        with m.If(push):
            m.d.sync += [valid.eq(1), sid.eq(push_sid)]
        with m.Elif(take):
            m.d.sync += valid.eq(0)
        return valid, sid

    # --- the stages ------------------------------------------------------------------------------

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.pe_ih, m.submodules.pe_hh, m.submodules.unit = self.pe_ih, self.pe_hh, self.unit
        st, S = self._state(), self.streams
        # the output token; its handshake frees the stream for its next frame
        out_push, out_sid_in = Signal(name="out_push"), Signal(range(S), name="out_push_stream")
        take = Signal(name="out_take")
        out_valid, out_sid = self._token(m, "out", out_push, out_sid_in, take)
        m.d.comb += [self.o.valid.eq(out_valid), take.eq(out_valid & self.o.ready),
                     self.o.payload.as_value().eq(Array([Cat(*r) for r in st["r"]])[out_sid])]
        busy = [Signal(name=f"busy{s}") for s in range(S)]
        with m.If(take):
            m.d.sync += Array(busy)[out_sid].eq(0)
        free = Array([~b | (take & (out_sid == s)) for s, b in enumerate(busy)])
        full = [Signal(name=f"gate_full{n}") for n in range(2)]
        sids = [Signal(range(S), name=f"gate_stream{n}") for n in range(2)]
        slots = self._stage_mat(m, st, busy, free, full, sids)
        done2, sid2 = Signal(name="elem_done"), Signal(range(S), name="elem_stream")
        if self.pe_proj is None:
            self._stage_elem(m, st, slots, full, sids, ~out_valid | take, done2, sid2)
            m.d.comb += [out_push.eq(done2), out_sid_in.eq(sid2)]
        else:
            take3 = Signal(name="proj_take")
            t_valid, t_sid = self._token(m, "elem_proj", done2, sid2, take3)
            self._stage_elem(m, st, slots, full, sids, ~t_valid | take3, done2, sid2)
            self._stage_proj(m, st, (t_valid, t_sid, take3), ~out_valid | take, (out_push, out_sid_in))
        return m

    def _zero_state(self, m: Module, st, s) -> None:
        for n in range(self.streams):
            with m.If(s == n):
                m.d.sync += [v.eq(0) for bank in ("h", "c", "r") if st[bank] for v in st[bank][n]]

    def _stage_mat(self, m: Module, st, busy, free, full, sids):
        """Stage 1: take a frame of stream ``nxt`` (round-robin), stream both PEs into gate slot ``wp``."""
        S, d = self.streams, self.dirs[0]
        run, sid = Signal(name="mat_run"), Signal(range(S), name="mat_stream")
        nxt = Signal(range(S), name="in_stream")
        wp = Signal(name="gate_wp")
        x_buf = Signal(len(self.i.payload.x.as_value()), name="x_buf")
        ready = ~run & ~Array(full)[wp] & free[nxt]
        m.d.comb += self.i.ready.eq(ready)
        with m.If(ready & self.i.valid):
            m.d.sync += [x_buf.eq(self.i.payload.x.as_value()), sid.eq(nxt), run.eq(1),
                         nxt.eq(Mux(nxt == S - 1, 0, nxt + 1)), Array(busy)[nxt].eq(1)]
            with m.If(self.i.payload.first):
                self._zero_state(m, st, nxt)
        xw, sw = fmt_shape(self.in_fmt).width, fmt_shape(self.state_fmt).width
        state = Array([Cat(*r) for r in st["r"]])[sid]
        sent = (self._feed(m, self.pe_ih, self._blocks(x_buf, xw, d.ih.q), run, self.passes, "ih"),
                self._feed(m, self.pe_hh, self._blocks(state, sw, d.hh.q), run, self.passes, "hh"))
        gx, got_ih = self._collect(m, self.pe_ih, self.passes, 2, wp, "gx")
        gh, got_hh = self._collect(m, self.pe_hh, self.passes, 2, wp, "gh")
        with m.If(run & (got_ih == self.passes) & (got_hh == self.passes)):
            m.d.sync += [run.eq(0), Array(full)[wp].eq(1), Array(sids)[wp].eq(sid), wp.eq(~wp),
                         sent[0].eq(0), sent[1].eq(0), got_ih.eq(0), got_hh.eq(0)]
        return gx, gh

    def _stage_elem(self, m: Module, st, slots, full, sids, out_free, done, sid) -> None:
        """Stage 2: gate slot ``rp`` through the cell/update unit into stream ``sid``'s h (c)."""
        h, u = self.h, self.unit
        run, rp = Signal(name="elem_run"), Signal(name="gate_rp")
        e_in, e_out = Signal(range(h + 1), name="e_in"), Signal(range(h + 1), name="e_out")
        with m.If(~run & Array(full)[rp]):
            m.d.sync += [run.eq(1), sid.eq(Array(sids)[rp]), e_in.eq(0), e_out.eq(0)]
        m.d.comb += done.eq(run & (e_out == h) & out_free)
        with m.If(done):
            m.d.sync += [run.eq(0), Array(full)[rp].eq(0), rp.eq(~rp)]
        gx, gh = (Mux(rp, Cat(*s[1]), Cat(*s[0])) for s in slots)
        feats = self.dirs[0].ih.out_features
        self._unit_inputs(m, st, self._codes(gx, feats), self._codes(gh, feats), sid, e_in)
        m.d.comb += u.i.valid.eq(run & (e_in < h))
        with m.If(u.i.valid & u.i.ready):
            m.d.sync += e_in.eq(e_in + 1)
        m.d.comb += u.o.ready.eq(run & (e_out < h))
        at = sid * h + e_out
        with m.If(u.o.valid & u.o.ready):
            m.d.sync += e_out.eq(e_out + 1)
            h_t = u.o.payload.m if self.kind == "lstm" else u.o.payload.h
            m.d.sync += Array(sum(st["h"], []))[at].eq(h_t)
            if self.kind == "lstm":
                m.d.sync += Array(sum(st["c"], []))[at].eq(u.o.payload.c)

    def _gate_pre(self, codes, roles, sid, e, g: int):
        """Exact (IFFT code + bias) of gate ``g`` at element ``e`` of stream ``sid``, at the pre frac."""
        cfg, h = self.config, self.h
        shift = self.pre.frac - self.pe_ih.out_frac
        bshift = self.pre.frac - (cfg.bias.frac if cfg.bias is not None else 0)
        code = Array([codes[g * h + j] << shift for j in range(h)])[e]
        bias = [[0 if r.bias is None else int(r.bias[g * h + j]) << bshift for j in range(h)] for r in roles]
        return code + self._per_stream(bias, sid * h + e)

    def _unit_inputs(self, m: Module, st, cx, ch, sid, e) -> None:
        p, h, dirs = self.unit.i.payload, self.h, self.dirs
        ih, hh = [d.ih for d in dirs], [d.hh for d in dirs]
        if self.kind == "lstm":
            for g, name in enumerate(("a_i", "a_f", "a_g", "a_o")):
                m.d.comb += p[name].eq(self._gate_pre(cx, ih, sid, e, g) + self._gate_pre(ch, hh, sid, e, g))
            m.d.comb += p.c_prev.eq(Array(sum(st["c"], []))[sid * h + e])
            if dirs[0].peephole is not None:
                for n, w in enumerate(("w_ci", "w_cf", "w_co")):
                    m.d.comb += p[w].eq(self._per_stream([d.peephole[n] for d in dirs], sid * h + e))
        else:
            for g, name in enumerate("rzn"):
                m.d.comb += [p[f"x_{name}"].eq(self._gate_pre(cx, ih, sid, e, g)),
                             p[f"h_{name}"].eq(self._gate_pre(ch, hh, sid, e, g))]
            m.d.comb += p.h_prev.eq(Array(sum(st["h"], []))[sid * h + e])

    def _stage_proj(self, m: Module, st, token, out_free, out) -> None:
        """Stage 3: PE proj over stream ``sid``'s h_t; r_t = q_proj(IFFT codes + b_proj) into r[sid]."""
        pe, cfg, S = self.pe_proj, self.config, self.streams
        m.submodules.pe_proj = pe
        t_valid, t_sid, take = token
        run, sid = Signal(name="proj_run"), Signal(range(S), name="proj_stream")
        m.d.comb += take.eq(~run & t_valid)
        with m.If(take):
            m.d.sync += [run.eq(1), sid.eq(t_sid)]
        hw = fmt_shape(cfg.hidden).width
        h_blocks = self._blocks(Array([Cat(*r) for r in st["h"]])[sid], hw, pe.role.q)
        sent = self._feed(m, pe, h_blocks, run, self.proj_passes, "pj")
        (chunks,), got = self._collect(m, pe, self.proj_passes, 1, 0, "gp")
        pre = _pre_format(pe.out_frac, cfg.ifft, cfg.bias, 1)
        shift, bshift = pre.frac - pe.out_frac, pre.frac - (cfg.bias.frac if cfg.bias is not None else 0)
        codes = self._codes(Cat(*chunks), self.out_size)
        done = run & (got == self.proj_passes) & out_free
        m.d.comb += [out[0].eq(done), out[1].eq(sid)]
        with m.If(done):
            m.d.sync += [run.eq(0), sent.eq(0), got.eq(0)]
            for s, d in enumerate(self.dirs):
                bias = [0 if d.proj.bias is None else int(d.proj.bias[j]) for j in range(self.out_size)]
                with m.If(sid == s):
                    r_t = [requantize((codes[j] << shift) + (b << bshift), pre.frac, cfg.proj)
                           for j, b in enumerate(bias)]
                    m.d.sync += [r.eq(v) for r, v in zip(st["r"][s], r_t, strict=True)]


def interleave(seqs: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(frames, first flags) in the top's round-robin order from per-stream frames (T, in) of one
    length T: stream s's frame t is input ``t*S + s``; first = 1 at t = 0 (each stream's state resets)."""
    seqs = [np.asarray(x, np.int64) for x in seqs]
    if len({len(x) for x in seqs}) != 1:
        raise ValueError(f"the streams need frames of one length, got {[len(x) for x in seqs]}")
    frames = np.stack(seqs, 1).reshape(-1, seqs[0].shape[1])
    first = np.zeros(len(frames), np.int64)
    first[: len(seqs)] = 1
    return frames, first


def pack_frames(top: PipelinedTop, frames: np.ndarray, first: np.ndarray) -> list[int]:
    """Raw ``i`` payloads (x codes, first flag) of the top's input frames."""
    from rnnaccel.rtl.sim import pack

    shape = top.i.payload.shape()
    pairs = zip(frames, first, strict=True)
    return [pack(shape, {"x": [int(v) for v in row], "first": int(f)}) for row, f in pairs]


def reference_streams(kind: str, dirs: Sequence[IntDirection], config: QuantConfig,
                      seqs: Sequence[np.ndarray], in_frac: int | None = None) -> np.ndarray:
    """Expected outputs in the top's order: stream s runs ``dirs[s]`` forward over ``seqs[s]``."""
    from rnnaccel.rtl.top import reference_frames

    outs = [reference_frames(kind, d, config, x, in_frac=in_frac) for d, x in zip(dirs, seqs, strict=True)]
    return np.stack(outs, 1).reshape(-1, outs[0].shape[1])


def steady_interval(stages: Sequence[int], streams: int) -> float:
    """Cycles per frame, all streams together, of the full pipeline: one frame per slowest stage, or
    with fewer streams than stages each stream's recurrence bound (a loop of all its stages)."""
    total = sum(stages)
    loop = total // streams if total % streams == 0 else total / streams
    return max(max(stages), loop)


def stage_cycles(top: PipelinedTop) -> tuple[int, int, int]:
    """(D1, D2, D3) of the module doc: each stage's cycles per frame (D3 = 0 without a projection)."""
    d = top.dirs[0]
    d1 = top.passes * max(d.ih.q, d.hh.q) + top.pe_ih.latency + 2
    d2 = top.h + top.unit.latency + 2
    d3 = 0 if top.pe_proj is None else top.proj_passes * d.proj.q + top.pe_proj.latency + 2
    return d1, d2, d3


def pipeline_schedule(stages: Sequence[int], streams: int, frames: int) -> list[int]:
    """Cycle of every output handshake of the controller, cycle by cycle (an always-ready sink,
    ``frames`` inputs offered from cycle 0 in round-robin order): the module doc's rules, which a
    test keeps equal to the simulated RTL. ``stages`` = :func:`stage_cycles` (D3 = 0: no projection)."""
    sch = _Schedule(stages, streams)
    outs, cycle = [], 0
    while len(outs) < frames:
        if sch.step(fed_all=sch.fed >= frames):
            outs.append(cycle)
        cycle += 1
    return outs


class _Schedule:
    """The controller's registers (run, age per stage, gate slots, tokens, busy streams)."""

    def __init__(self, stages: Sequence[int], streams: int) -> None:
        self.d, self.proj, self.streams = list(stages), bool(stages[2]), streams
        self.run, self.age, self.sid = [False] * 3, [0] * 3, [0] * 3
        self.full, self.slot_sid, self.wp, self.rp = [False, False], [0, 0], 0, 0
        self.busy, self.nxt, self.fed = [False] * streams, 0, 0
        self.tok, self.out = [False, 0], [False, 0]

    def _done(self, k: int) -> bool:
        return self.run[k] and self.age[k] >= self.d[k] - 2  # age: cycles since the launch cycle, minus one

    def step(self, fed_all: bool) -> bool:
        """One clock; True when an output handshake happens in it."""
        take = self.out[0]
        free = [not b or (take and self.out[1] == s) for s, b in enumerate(self.busy)]
        launch = [not self.run[0] and not self.full[self.wp] and free[self.nxt] and not fed_all,
                  not self.run[1] and self.full[self.rp], not self.run[2] and self.tok[0]]
        out_free = not self.out[0] or take
        done = [self._done(0), self._done(1) and (out_free if not self.proj else
                                                  not self.tok[0] or launch[2]),
                self.proj and self._done(2) and out_free]
        sids = (self.nxt, self.slot_sid[self.rp], self.tok[1])
        push = (done[2], self.sid[2]) if self.proj else (done[1], self.sid[1])
        if take:
            self.busy[self.out[1]] = False
        for k in range(3):
            self.age[k] += 1
            if launch[k]:
                self.run[k], self.age[k], self.sid[k] = True, 0, sids[k]
        if launch[0]:
            self.busy[self.nxt], self.nxt, self.fed = True, (self.nxt + 1) % self.streams, self.fed + 1
        if done[0]:
            self.run[0], self.full[self.wp], self.slot_sid[self.wp] = False, True, self.sid[0]
            self.wp = 1 - self.wp
        if done[1]:
            self.run[1], self.full[self.rp], self.rp = False, False, 1 - self.rp
            if self.proj:
                self.tok = [True, self.sid[1]]
        if self.proj and launch[2] and not done[1]:
            self.tok[0] = False
        if done[2]:
            self.run[2] = False
        self.out = [True, push[1]] if push[0] else [False, self.out[1]] if take else self.out
        return take
