"""The accelerator top for one direction of one block-circulant LSTM (peepholes) or GRU layer:
two processing elements (``W_ih x`` and ``W_hh h``), the elementwise cell/update unit and a
controller that sequences one timestep per input frame.

```
 frame x_t ---i--> [ x buffer ] --q_ih blocks--> [ PE ih ] --P blocks/pass--> [ gx buffer ] --+
                                                                                              +--> (+ b) -->
 h_{t-1} ------> [ h buffer ] --q_hh blocks--> [ PE hh ] --P blocks/pass--> [ gh buffer ] --+
     --> [ LSTMCellUnit / GRUUpdateUnit ] one element per clock --> h_t, c_t --> h buffer --o--> frame h_t
```

Controller schedule per frame (FSM ``LOAD -> MAT -> ELEM -> SEND``): ``LOAD`` takes one frame;
``MAT`` streams the input blocks of both PEs (pass-major: ``ceil(p / P)`` passes of the ``q``
input blocks each, both PEs in the same cycles) and writes each pass's ``P`` output blocks into the
gate buffers; ``ELEM`` feeds the cell unit one hidden element per clock (gate ``g`` of element
``e`` sits at ``g * H + e``, the engine's gate order i, f, g, o / r, z, n) with the bias codes
added exactly, and writes ``h_t`` (and ``c_t``) back; ``SEND`` offers ``h_t`` on ``o``.

This top runs one stream, its stages one after another (the recurrence lets one stream overlap
nothing); :func:`top_cycles` gives its exact cycle count per frame. :mod:`rnnaccel.rtl.pipeline`
overlaps the stages across 2 or more interleaved streams (``rnnaccel rtl build --streams S``).
Spec: :func:`rnnaccel.ref.engine.run_direction` (forward), bit for bit.
"""

from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import QFormat
from rnnaccel.ref.export import IntCirculant, IntDirection
from rnnaccel.rtl.cell import GRUUpdateUnit, LSTMCellUnit
from rnnaccel.rtl.fixed import fmt_shape, requantize
from rnnaccel.rtl.pe import PE
from rnnaccel.shape import Cell

__all__ = ["LayerTop", "reference_frames", "top_cycles"]


def _check_direction(kind: str, d: object) -> IntDirection:
    if kind not in ("lstm", "gru"):
        raise ValueError(f"kind must be 'lstm' or 'gru', got {kind!r}")
    if not isinstance(d, IntDirection):
        raise TypeError(f"LayerTop needs an IntDirection, got {type(d).__name__}")
    for name in ("ih", "hh"):
        if not isinstance(getattr(d, name), IntCirculant):
            raise ValueError(f"LayerTop builds block-circulant roles only; role {name} is "
                             f"{type(getattr(d, name)).__name__}")
    if d.proj is not None:
        if kind != "lstm" or not isinstance(d.proj, IntCirculant):
            raise ValueError(f"LayerTop builds a block-circulant LSTM projection only; this {kind} "
                             f"direction has a {type(d.proj).__name__} projection")
        if d.proj.block_size != d.ih.block_size:
            raise ValueError(f"proj block size {d.proj.block_size} != ih block size {d.ih.block_size}")
    if d.ih.block_size != d.hh.block_size:
        raise ValueError(f"ih block size {d.ih.block_size} != hh block size {d.hh.block_size}")
    return d


def _pre_format(out_frac: int, ifft: QFormat, bias: QFormat | None, terms: int) -> QFormat:
    """Exact port for the sum of ``terms`` IFFT outputs (frac ``out_frac``) and biases."""
    frac = max(out_frac, 0 if bias is None else bias.frac)
    ints = [ifft.bits - out_frac] + ([] if bias is None else [bias.bits - bias.frac])
    return QFormat(bits=max(ints) + (terms - 1).bit_length() + 1 + frac, frac=frac)


class LayerTop(wiring.Component):
    """One direction of one layer: ``i`` a frame (``in_features`` codes of ``in_fmt``) per transfer,
    ``o`` the frame's output (``hidden_size`` codes of the ``hidden`` point). ``lanes`` output blocks
    per PE pass (the parallelism). The state (h, c) starts at zero and carries across frames."""

    def __init__(self, kind: str, d: IntDirection, config: QuantConfig, in_fmt: QFormat,
                 lanes: int = 1) -> None:
        self.kind, self.d, self.config, self.in_fmt = kind, _check_direction(kind, d), config, in_fmt
        self.lanes, self.h, self.k = lanes, d.hidden_size, d.ih.block_size
        # with a projection the recurrent state (and the output) is r_t = W_proj h_t at the proj point
        self.state_fmt = config.proj if d.proj is not None else config.hidden
        self.out_size = d.proj.out_features if d.proj is not None else self.h
        self.pe_ih = PE(d.ih, config, in_fmt, lanes)
        self.pe_hh = PE(d.hh, config, self.state_fmt, lanes)
        self.pe_proj = None if d.proj is None else PE(d.proj, config, config.hidden, min(lanes, d.proj.p))
        ngates = Cell(kind).gates
        terms = 4 if kind == "lstm" else 2
        self.pre = _pre_format(self.pe_ih.out_frac, config.ifft, config.bias, terms)
        self.ngates = ngates
        self.unit = (LSTMCellUnit(config, self.pre, d.peephole is not None) if kind == "lstm"
                     else GRUUpdateUnit(config, self.pre, self.pre))
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(fmt_shape(in_fmt), d.ih.in_features))),
            "o": Out(stream.Signature(data.ArrayLayout(fmt_shape(self.state_fmt), self.out_size))),
        })

    def _blocks(self, flat, width: int, pe: PE) -> Array:
        """The q input blocks of a flat code vector (zero padded to q*k), as an Array of raw words."""
        k, q, total = self.k, pe.role.q, len(flat)
        pad = Cat(flat, Const(0, q * k * width - total)) if q * k * width > total else flat
        return Array([pad[j * k * width : (j + 1) * k * width] for j in range(q)])

    def _feed(self, m: Module, pe: PE, blocks: Array, run: Signal, name: str) -> Signal:
        """Stream pass-major input blocks to ``pe`` while ``run``; returns the 'all sent' flag."""
        total = pe.passes * pe.role.q
        cnt = Signal(range(total + 1), name=f"{name}_sent")
        blk = Signal(range(pe.role.q), name=f"{name}_blk")
        m.d.comb += [pe.i.valid.eq(run & (cnt < total)), pe.i.payload.as_value().eq(blocks[blk])]
        with m.If(pe.i.valid & pe.i.ready):
            m.d.sync += [cnt.eq(cnt + 1), blk.eq(blk + 1)]
            with m.If(blk == pe.role.q - 1):
                m.d.sync += blk.eq(0)
        return cnt

    def _collect(self, m: Module, pe: PE, name: str) -> tuple[list[Signal], Signal]:
        """Per pass one register of ``lanes`` output blocks; returns them and the pass counter."""
        width = len(pe.o.payload.as_value())
        chunks = [Signal(width, name=f"{name}_pass{n}") for n in range(pe.passes)]
        got = Signal(range(pe.passes + 1), name=f"{name}_got")
        m.d.comb += pe.o.ready.eq(got < pe.passes)
        with m.If(pe.o.valid & pe.o.ready):
            m.d.sync += [Array(chunks)[got].eq(pe.o.payload.as_value()), got.eq(got + 1)]
        return chunks, got

    def _gate_codes(self, chunks: list[Signal], pe: PE) -> list[object]:
        """Signed IFFT codes of every output feature (p*k of them) from the pass registers."""
        w = fmt_shape(self.config.ifft).width
        flat = Cat(*chunks)
        return [flat[j * w : (j + 1) * w].as_signed() for j in range(pe.role.out_features)]

    def _bias(self, role: IntCirculant, j: int) -> int:
        return 0 if role.bias is None else int(role.bias[j])

    def _gate_pre(self, codes: list, role: IntCirculant, e: Signal, g: int, shift: int, bshift: int):
        """Exact (IFFT code + bias) of gate ``g`` at element ``e``, at the pre frac."""
        idx = [g * self.h + j for j in range(self.h)]
        return Array([(codes[i] << shift) + (self._bias(role, i) << bshift) for i in idx])[e]

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.pe_ih, m.submodules.pe_hh, m.submodules.unit = self.pe_ih, self.pe_hh, self.unit
        cfg, h = self.config, self.h
        x_buf = Signal(len(self.i.payload.as_value()))
        h_buf = [Signal(fmt_shape(cfg.hidden), name=f"h{j}") for j in range(h)]
        c_buf = [Signal(fmt_shape(cfg.cell), name=f"c{j}") for j in range(h)] if self.kind == "lstm" else []
        r_buf = ([Signal(fmt_shape(cfg.proj), name=f"r{j}") for j in range(self.out_size)]
                 if self.pe_proj is not None else h_buf)
        mat, elem = Signal(), Signal()
        x_blocks = self._blocks(x_buf, fmt_shape(self.in_fmt).width, self.pe_ih)
        r_blocks = self._blocks(Cat(*r_buf), fmt_shape(self.state_fmt).width, self.pe_hh)
        sent = (self._feed(m, self.pe_ih, x_blocks, mat, "ih"),
                self._feed(m, self.pe_hh, r_blocks, mat, "hh"))
        gx, got_ih = self._collect(m, self.pe_ih, "gx")
        gh, got_hh = self._collect(m, self.pe_hh, "gh")
        e_in, e_out = Signal(range(h + 1)), Signal(range(h + 1))
        self._elementwise(m, gx, gh, e_in, e_out, elem, h_buf, c_buf)
        proj = None if self.pe_proj is None else self._projection(m, h_buf, r_buf)
        out = Cat(*h_buf) if proj is None else Cat(*proj[3])
        self._controller(m, x_buf, out, (mat, elem), sent, (got_ih, got_hh), (e_in, e_out), proj)
        return m

    def _projection(self, m: Module, h_buf, r_buf) -> tuple:
        """PE proj over h_t while ``run``: (run, sent, got, r_t codes (comb, from the pass registers),
        r_buf). r_t = q_proj(IFFT codes + bias), exactly as the engine's apply_role + q(PROJ)."""
        pe, cfg = self.pe_proj, self.config
        m.submodules.pe_proj = pe
        run = Signal(name="proj_run")
        sent = self._feed(m, pe, self._blocks(Cat(*h_buf), fmt_shape(cfg.hidden).width, pe), run, "pj")
        chunks, got = self._collect(m, pe, "gp")
        pre = _pre_format(pe.out_frac, cfg.ifft, cfg.bias, 1)
        shift = pre.frac - pe.out_frac
        bshift = pre.frac - (cfg.bias.frac if cfg.bias is not None else 0)
        codes = self._gate_codes(chunks, pe)
        r_next = [requantize((codes[j] << shift) + (self._bias(pe.role, j) << bshift), pre.frac, cfg.proj)
                  for j in range(self.out_size)]
        return run, sent, got, r_next, r_buf

    def _controller(self, m: Module, x_buf, out, runs, sent, got, elems, proj=None) -> None:
        """The FSM LOAD -> MAT -> ELEM [-> PROJ] -> SEND (one timestep per frame)."""
        (mat, elem), (e_in, e_out) = runs, elems
        with m.FSM():
            with m.State("LOAD"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    m.d.sync += x_buf.eq(self.i.payload.as_value())
                    m.next = "MAT"
            with m.State("MAT"):
                m.d.comb += mat.eq(1)
                with m.If((got[0] == self.pe_ih.passes) & (got[1] == self.pe_hh.passes)):
                    m.d.sync += [sent[0].eq(0), sent[1].eq(0), e_in.eq(0), e_out.eq(0)]
                    m.next = "ELEM"
            with m.State("ELEM"):
                m.d.comb += elem.eq(1)
                with m.If(e_out == self.h):
                    m.d.sync += [got[0].eq(0), got[1].eq(0)]
                    m.next = "SEND" if proj is None else "PROJ"
            if proj is not None:
                with m.State("PROJ"):
                    m.d.comb += proj[0].eq(1)
                    with m.If(proj[2] == self.pe_proj.passes):
                        m.d.sync += proj[1].eq(0)
                        m.next = "SEND"
            with m.State("SEND"):
                m.d.comb += [self.o.valid.eq(1), self.o.payload.as_value().eq(out)]
                with m.If(self.o.ready):
                    if proj is not None:  # r_t becomes the recurrent state; the pass registers free
                        m.d.sync += [r.eq(v) for r, v in zip(proj[4], proj[3], strict=True)] + [proj[2].eq(0)]
                    m.next = "LOAD"

    def _elementwise(self, m, gx, gh, e_in, e_out, run, h_buf, c_buf) -> None:
        cfg, u, pre = self.config, self.unit, self.pre
        shift = pre.frac - self.pe_ih.out_frac
        bshift = pre.frac - (cfg.bias.frac if cfg.bias is not None else 0)
        cx, ch = self._gate_codes(gx, self.pe_ih), self._gate_codes(gh, self.pe_hh)
        d, p = self.d, u.i.payload
        m.d.comb += u.i.valid.eq(run & (e_in < self.h))
        if self.kind == "lstm":
            for g, name in enumerate(("a_i", "a_f", "a_g", "a_o")):
                m.d.comb += p[name].eq(self._gate_pre(cx, d.ih, e_in, g, shift, bshift)
                                       + self._gate_pre(ch, d.hh, e_in, g, shift, bshift))
            m.d.comb += p.c_prev.eq(Array(c_buf)[e_in])
            if d.peephole is not None:
                for w, codes in zip(("w_ci", "w_cf", "w_co"), d.peephole, strict=True):
                    m.d.comb += p[w].eq(Array([Const(int(v), fmt_shape(cfg.weight)) for v in codes])[e_in])
        else:
            for g, name in enumerate("rzn"):
                m.d.comb += [p[f"x_{name}"].eq(self._gate_pre(cx, d.ih, e_in, g, shift, bshift)),
                             p[f"h_{name}"].eq(self._gate_pre(ch, d.hh, e_in, g, shift, bshift))]
            m.d.comb += p.h_prev.eq(Array(h_buf)[e_in])
        with m.If(u.i.valid & u.i.ready):
            m.d.sync += e_in.eq(e_in + 1)
        m.d.comb += u.o.ready.eq(run & (e_out < self.h))
        with m.If(u.o.valid & u.o.ready):
            m.d.sync += e_out.eq(e_out + 1)
            out = u.o.payload.m if self.kind == "lstm" else u.o.payload.h
            m.d.sync += Array(h_buf)[e_out].eq(out)
            if self.kind == "lstm":
                m.d.sync += Array(c_buf)[e_out].eq(u.o.payload.c)


def top_cycles(top: LayerTop) -> int:
    """Exact clock cycles per frame of the sequential schedule with an always-ready sink:
    LOAD 1 + MAT (blocks of the longer PE + PE latency + 1 register) + ELEM (H + unit latency)
    + SEND 1, plus one cycle per FSM transition edge counted in each state."""
    mat = max(pe.passes * pe.role.q + pe.latency for pe in (top.pe_ih, top.pe_hh))
    pe = top.pe_proj
    proj = 0 if pe is None else pe.passes * pe.role.q + pe.latency + 1
    return 1 + mat + 1 + top.h + top.unit.latency + 1 + proj + 1


def reference_frames(kind: str, d: IntDirection, config: QuantConfig, x: np.ndarray,
                     in_frac: int | None = None, reverse: bool = False) -> np.ndarray:
    """Output codes (time, hidden) of one direction over frames ``x`` (time, in) at ``in_frac``
    (default: the input point's); ``reverse``: the backward direction (last frame first)."""
    from rnnaccel.quant.config import QPoint
    from rnnaccel.ref.engine import Engine, Fx, run_direction

    frac = config.input.frac if in_frac is None else in_frac
    seq = Fx(np.asarray(x, np.int64)[:, None, :], frac)
    point = QPoint.HIDDEN if d.proj is None else QPoint.PROJ
    out, _ = run_direction(kind, d, seq, Engine(config), reverse=reverse, out_point=point)
    return out[:, 0, :]

