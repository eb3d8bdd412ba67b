"""The network top: every layer and both directions of a stacked (uni- or bidirectional) LSTM/GRU
in one generated design, sequenced by a hardware controller, with frame buffers between layers.

```
 frames x_0..x_{T-1} --i (frame, last)--> [ xbuf: T_max x input ]
                                              | fwd reads t = 0..T-1, bwd reads t = T-1..0 (one read port,
                                              v  the two directions take turns)
                    [ l0d0: LayerTop fwd ]  [ l0d1: LayerTop bwd ]
                              | h^f_t at t               | h^b_t at t (written last-first)
                              v                          v
                    [ ybuf0_0: T_max x out ]  [ ybuf0_1: T_max x out ]   read together: (h^f_t, h^b_t)
                              +------------+-------------+
                                           v
                    [ l1d0 ] [ l1d1 ] ... [ ybuf<L-1>_* ] --o (frame t = 0..T-1, last)-->
```

Controller (FSM ``IN -> L0 -> ... -> L<L-1> -> OUT -> IN``): ``IN`` writes the utterance's frames
into ``xbuf`` until the frame with ``last`` set (or the ``t_max``-th frame, which ends the utterance
as if ``last`` were set); ``L<l>`` runs both directions of layer ``l`` at once, each a
:class:`rnnaccel.rtl.top.LayerTop` (weights in ``$readmemh`` ROMs), the forward one over
``t = 0..T-1`` and the backward one over ``t = T-1..0``, reading layer ``l``'s input buffer and
writing its own output buffer at the frame's index; ``OUT`` streams the last layer's buffers out in
time order, forward then backward codes per frame (``rnnaccel.ref``'s concatenation order), ``last``
on frame ``T-1``. A layer's tops are held in reset (:class:`amaranth.hdl.ResetInserter`) outside
their state, so every utterance starts from zero state. Each buffer has one write and one read
port (simple dual-port BRAM, ``ram_style = "block"``); the directions of a layer share the read
port of its input buffer: a direction asks for its next frame when its top is in ``LOAD``
(``i.ready``) or handing out a frame (``o.valid``, the cycle before ``LOAD``), so with an always
ready output the fetch costs no cycle; the first frame collides once and the backward direction
runs one cycle behind. :func:`network_cycles` is the exact cycle count per utterance.

``streams=2``: each bidirectional layer is one 2-stream :class:`rnnaccel.rtl.pipeline.PipelinedTop`
(``l<L>``, one set of PEs for both directions) fed forward frame t and backward frame T-1-t in
turn, its outputs (in the same order) written back at their frame index.

Spec: :func:`rnnaccel.ref.engine.run_int_model`, bit for bit.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Signal, unsigned
from amaranth.hdl import ResetInserter
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.ref.export import IntModel
from rnnaccel.rtl.fixed import fmt_shape
from rnnaccel.rtl.top import LayerTop

__all__ = ["NetworkTop", "frame_layout", "layer_cycles", "network_cycles", "top_name"]


def frame_layout(fmt, codes: int) -> data.StructLayout:
    """A stream payload: ``frame`` (``codes`` codes of ``fmt``, code 0 in the low bits) and ``last``."""
    return data.StructLayout({"frame": data.ArrayLayout(fmt_shape(fmt), codes), "last": 1})


def _check_model(model: object, t_max: int) -> IntModel:
    if not isinstance(model, IntModel):
        raise TypeError(f"NetworkTop needs an IntModel, got {type(model).__name__}")
    if model.kind not in ("lstm", "gru"):
        raise ValueError(f"the network top builds LSTM and GRU networks, not {model.kind!r}")
    if not isinstance(t_max, int) or t_max < 1:
        raise ValueError(f"t_max (frames per utterance the buffers hold) must be an int >= 1, got {t_max!r}")
    dirs = {len(d) for d in model.layers}
    if len(dirs) != 1 or not dirs <= {1, 2}:
        raise ValueError(f"every layer needs the same 1 or 2 directions, got "
                         f"{[len(d) for d in model.layers]}")
    return model


def _layer_row(model: IntModel, li: int, in_fmt, lanes: int, streams: int) -> list:
    """Layer ``li``'s tops: one LayerTop per direction, or one 2-stream PipelinedTop for both."""
    from rnnaccel.rtl.pipeline import PipelinedTop

    directions = model.layers[li]
    if streams == 2:
        try:
            return [PipelinedTop(model.kind, directions, model.config, in_fmt, lanes)]
        except (TypeError, ValueError) as e:
            raise type(e)(f"layer {li}: {e}") from None
    row = []
    for di, d in enumerate(directions):
        try:
            row.append(LayerTop(model.kind, d, model.config, in_fmt, lanes))
        except (TypeError, ValueError) as e:
            raise type(e)(f"layer {li} direction {di}: {e}") from None
    return row


def _layer_tops(model: IntModel, lanes: int, streams: int) -> list[list]:
    """The tops of every layer; layer l > 0 takes the concatenated outputs of layer l - 1."""
    if streams not in (1, 2) or (streams == 2 and len(model.layers[0]) != 2):
        raise ValueError(f"streams={streams!r}: 1 (one LayerTop per direction) or 2 (one 2-stream "
                         f"PipelinedTop per bidirectional layer); the model has {len(model.layers[0])} "
                         "direction(s)")
    tops, in_fmt = [], model.config.input
    for li in range(len(model.layers)):
        tops.append(_layer_row(model, li, in_fmt, lanes, streams))
        if tops[-1][0].state_fmt != model.output_format:
            raise ValueError(f"layer {li} outputs {tops[-1][0].state_fmt}, the model "
                             f"{model.output_format} (a projection in some layers only?)")
        in_fmt = model.output_format
    return tops


class NetworkTop(wiring.Component):
    """The whole network: ``i`` one input frame (``input_size`` codes of the input point) per
    transfer, ``last`` on an utterance's final frame; ``o`` the last layer's output frames
    (``directions * out`` codes of the model's output point) in time order, ``last`` on the final
    one. ``lanes``: output blocks per PE pass of every layer top; ``t_max``: the longest utterance
    the frame buffers hold; ``streams`` 2: a bidirectional layer is one 2-stream
    :class:`rnnaccel.rtl.pipeline.PipelinedTop` fed forward frame t and backward frame T-1-t in
    turn (1: two LayerTops at once)."""

    def __init__(self, model: IntModel, lanes: int = 1, t_max: int = 64, streams: int = 1) -> None:
        self.model, self.t_max, self.lanes = _check_model(model, t_max), t_max, lanes
        self.streams = streams
        self.tops = _layer_tops(model, lanes, streams)
        self.dirs = len(model.layers[0])
        self.out_codes = self.dirs * self.tops[-1][0].out_size
        super().__init__({
            "i": In(stream.Signature(frame_layout(model.config.input, model.input_size))),
            "o": Out(stream.Signature(frame_layout(model.output_format, self.out_codes))),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        nl = len(self.tops)
        runs = [Signal(name=f"run_l{li}") for li in range(nl)]
        for li, row in enumerate(self.tops):
            clear = Signal(name=f"clear_l{li}")  # the layer's tops are held in reset outside its state
            m.d.comb += clear.eq(~runs[li])
            for di, top in enumerate(row):
                m.submodules[top_name(self, li, di)] = ResetInserter(clear)(top)
        length = Signal(range(self.t_max + 1), name="length")
        xbuf = self._buffer(m, "xbuf", len(self.i.payload.frame.as_value()))
        widths = [len(row[0].o.payload.as_value()) for row in self.tops]
        ybufs = [[self._buffer(m, f"ybuf{li}_{di}", w) for di in range(self.dirs)]
                 for li, w in enumerate(widths)]
        names = [f"rd_l{li}" for li in range(nl)] + ["rd_out"]
        sources = [self._source(m, bufs, name) for bufs, name in zip([[xbuf], *ybufs], names, strict=True)]
        dones = [self._layer(m, row, sources[li], ybufs[li], runs[li], length)
                 for li, row in enumerate(self.tops)]
        self._controller(m, xbuf.write_port(), sources[-1], runs, dones, length)
        return m

    def _buffer(self, m: Module, name: str, width: int) -> memory.Memory:
        mem = memory.Memory(shape=unsigned(width), depth=self.t_max, init=[], attrs={"ram_style": "block"})
        m.submodules[name] = mem
        return mem

    def _source(self, m: Module, bufs: list[memory.Memory], name: str) -> tuple[Signal, Signal, object]:
        """(en, addr, data) of buffers read together at one address, each through its one read port."""
        ports = [b.read_port() for b in bufs]
        en, addr = Signal(name=f"{name}_en"), Signal(range(self.t_max), name=f"{name}_addr")
        for p in ports:
            m.d.comb += [p.en.eq(en), p.addr.eq(addr)]
        return en, addr, Cat(*(p.data for p in ports))

    def _layer(self, m: Module, row: list[LayerTop], src: tuple, bufs: list[memory.Memory], run: Signal,
               length: Signal) -> Signal:
        """Both directions of one layer over the utterance; returns its 'every frame written' flag.
        The read port is free when nobody holds it or the holder's transfer happens this cycle;
        the forward direction wins a tie."""
        if self.streams == 2:
            return self._interleaved(m, row[0], src, bufs, run, length)
        holds = [Signal(name=f"hold{di}") for di in range(len(row))]
        free = ~Cat(*holds).any() | Cat(*(h & t.i.ready for h, t in zip(holds, row, strict=True))).any()
        earlier, written = Const(0, 1), []
        for di, top in enumerate(row):
            want = self._direction(m, top, di, src, bufs[di].write_port(), holds[di], free & ~earlier,
                                   (run, length), written)
            earlier = earlier | want
        done = Signal(name="layer_done")
        m.d.comb += done.eq(Cat(*written).all())
        return done

    def _direction(self, m: Module, top: LayerTop, di: int, src: tuple, wport, hold: Signal, may: object,
                   ctl: tuple, written: list) -> Signal:
        """One direction: fetch frame ``fed`` (forward) / ``T-1-fed`` (backward) from the shared read
        port, write output ``wrote`` at its frame index; returns its request."""
        (en, addr, rdata), (run, length) = src, ctl
        fed, wrote = Signal(range(self.t_max + 1)), Signal(range(self.t_max + 1))

        def at(n):
            return n if di == 0 else length - 1 - n

        want = run & (fed < length) & ~hold & (top.i.ready | top.o.valid)
        m.d.comb += [top.i.valid.eq(hold), top.i.payload.as_value().eq(rdata), top.o.ready.eq(1)]
        with m.If(want & may):
            m.d.comb += [en.eq(1), addr.eq(at(fed))]
            m.d.sync += hold.eq(1)
        with m.If(hold & top.i.ready):
            m.d.sync += [hold.eq(0), fed.eq(fed + 1)]
        m.d.comb += [wport.addr.eq(at(wrote)), wport.data.eq(top.o.payload.as_value()),
                     wport.en.eq(run & top.o.valid)]
        with m.If(run & top.o.valid):
            m.d.sync += wrote.eq(wrote + 1)
        with m.If(~run):
            m.d.sync += [fed.eq(0), wrote.eq(0), hold.eq(0)]
        written.append(wrote == length)
        return want

    def _interleaved(self, m: Module, top, src: tuple, bufs: list[memory.Memory], run: Signal,
                     length: Signal) -> Signal:
        """Both directions through one 2-stream PipelinedTop: item n is forward frame n/2 (n even) or
        backward frame T-1-(n-1)/2 (n odd), in and out (the top is first in, first out); the next item
        is fetched in the cycle the held one is taken."""
        (en, addr, rdata), n_max = src, 2 * self.t_max + 1
        nxt, wrote = Signal(range(n_max), name="items_fetched"), Signal(range(n_max), name="items_written")
        hold, first, done = Signal(name="hold"), Signal(name="first"), Signal(name="layer_done")

        def frame(n):
            return Mux(n[0], length - 1 - (n >> 1), n >> 1)

        take = hold & top.i.ready
        m.d.comb += [top.i.valid.eq(hold), top.i.payload.x.as_value().eq(rdata),
                     top.i.payload.first.eq(first), top.o.ready.eq(1)]
        with m.If(run & (nxt < 2 * length) & (~hold | take)):
            m.d.comb += [en.eq(1), addr.eq(frame(nxt))]
            m.d.sync += [nxt.eq(nxt + 1), hold.eq(1), first.eq(nxt < 2)]
        with m.Elif(take):
            m.d.sync += hold.eq(0)
        for di, buf in enumerate(bufs):
            wport = buf.write_port()
            m.d.comb += [wport.addr.eq(frame(wrote)), wport.data.eq(top.o.payload.as_value()),
                         wport.en.eq(run & top.o.valid & (wrote[0] == di))]
        with m.If(run & top.o.valid):
            m.d.sync += wrote.eq(wrote + 1)
        with m.If(~run):
            m.d.sync += [nxt.eq(0), wrote.eq(0), hold.eq(0)]
        m.d.comb += done.eq(wrote == 2 * length)
        return done

    def _controller(self, m: Module, xw, out_src: tuple, runs: list[Signal], dones: list[Signal],
                    length: Signal) -> None:
        """IN -> L0 -> ... -> OUT: load the utterance, run the layers, stream the outputs."""
        count = Signal(range(self.t_max + 1), name="count")
        with m.FSM():
            with m.State("IN"):
                self._take_frames(m, xw, count, length)
            for li, done in enumerate(dones):
                with m.State(f"L{li}"):
                    m.d.comb += runs[li].eq(1)
                    with m.If(done):
                        m.next = f"L{li + 1}" if li + 1 < len(dones) else "OUT"
            with m.State("OUT"):
                self._send_frames(m, out_src, count, length)

    def _take_frames(self, m: Module, xw, count: Signal, length: Signal) -> None:
        m.d.comb += [self.i.ready.eq(1), xw.addr.eq(count), xw.data.eq(self.i.payload.frame.as_value()),
                     xw.en.eq(self.i.valid)]
        with m.If(self.i.valid):
            m.d.sync += count.eq(count + 1)
            with m.If(self.i.payload.last | (count == self.t_max - 1)):
                m.d.sync += [length.eq(count + 1), count.eq(0)]
                m.next = "L0"

    def _send_frames(self, m: Module, src: tuple, count: Signal, length: Signal) -> None:
        """One read per output transfer: the read port's data holds while the sink stalls."""
        en, addr, rdata = src
        last = Signal(name="out_last")
        m.d.comb += [self.o.payload.frame.as_value().eq(rdata), self.o.payload.last.eq(last),
                     en.eq(~self.o.valid | self.o.ready), addr.eq(count)]
        with m.If(en):
            m.d.sync += [self.o.valid.eq(count < length), last.eq(count == length - 1), count.eq(count + 1)]
        with m.If(self.o.valid & self.o.ready & last):
            m.d.sync += [self.o.valid.eq(0), last.eq(0), count.eq(0)]
            m.next = "IN"


def top_name(top: NetworkTop, layer: int, direction: int) -> str:
    """The submodule (Verilog module path under the top) of a layer top: ``l<L>d<D>``, or ``l<L>`` for
    a 2-stream top that runs both directions."""
    return f"l{layer}" if top.streams == 2 else f"l{layer}d{direction}"


def layer_cycles(row: list, frames: int) -> int:
    """Cycles from a layer's state being entered to the next state (exact, always-ready buffers):
    two LayerTops: ``T * c + D + 1`` (c = :func:`rnnaccel.rtl.top.top_cycles`, the backward one a
    cycle behind, the done flag); one 2-stream PipelinedTop: its last output
    (:func:`rnnaccel.rtl.pipeline.pipeline_schedule` of ``2T`` items, offered from the cycle after
    the state is entered) ``+ 3``."""
    from rnnaccel.rtl.pipeline import PipelinedTop, pipeline_schedule, stage_cycles
    from rnnaccel.rtl.top import top_cycles

    if isinstance(row[0], PipelinedTop):
        return pipeline_schedule(stage_cycles(row[0]), 2, 2 * frames)[-1] + 3
    cycles = {top_cycles(t) for t in row}
    if len(cycles) != 1:
        raise ValueError(f"the directions of a layer differ in frame time: {sorted(cycles)}")
    return frames * cycles.pop() + len(row) + 1


def network_cycles(top: NetworkTop, frames: int) -> int:
    """Exact clock cycles of one utterance of ``frames`` frames, from its first input transfer to its
    last output transfer (both inclusive), with an always-valid source and an always-ready sink:
    ``T`` (IN, one frame per clock) + :func:`layer_cycles` per layer + ``T + 1`` (OUT: the first
    read, then one frame per clock); with LayerTops ``T * (2 + sum_l c_l) + L * (D + 1) + 1`` for
    ``L`` layers of ``D`` directions."""
    if not 1 <= frames <= top.t_max:
        raise ValueError(f"frames={frames} must lie in 1..t_max={top.t_max}")
    return 2 * frames + sum(layer_cycles(row, frames) for row in top.tops) + 1
