"""The elementwise units of the LSTM/GRU layer in Amaranth: the LSTM cell update (peepholes, hidden
output) and the GRU update, one element per clock, bit-exact with :mod:`rnnaccel.ref.cell`.

Every value in the datapath is an exact (Amaranth value, fractional bits) pair: sums align to the
larger fractional width and Amaranth widens every ``+ - *``, so nothing is lost until a named point
of the ``QuantConfig`` rounds it (:func:`rnnaccel.rtl.fixed.requantize`), in the engine's order
(equations in :mod:`rnnaccel.ref.cell`). Each product is a lone ``*`` with a register after it (a
DSP with its output register) and takes its operands from registers, never from an adder in the
same cycle (the GRU registers ``h_prev - n`` before ``z * (h_prev - n)``).
Activations are :class:`rnnaccel.rtl.pwl.PWLPipeline` instances, one per use (named after the gate).

The pre-activations arrive as exact sums (``W x + U h + b`` from the MAC/IFFT stage) in a wide
format ``pre`` given by the caller: its ``bits`` are the port width, its ``frac`` the sum's
fractional bits; it is not a rounding point (its rounding/overflow modes are unused).
"""

from __future__ import annotations

from amaranth.hdl import Module, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import QFormat
from rnnaccel.rtl.fixed import Registers, fmt_shape, requantize, require_formats
from rnnaccel.rtl.pwl import PWL_LATENCY, PWLPipeline, pwl_parameters, stream_pipeline

__all__ = ["GRU_LATENCY", "GRUUpdateUnit", "LSTM_LATENCY", "LSTMCellUnit", "circulant_pre_format"]

FxValue = tuple[Value, int]  # an exact fixed-point value: (codes, fractional bits)

LSTM_POINTS = ("gate_acc", "sigmoid", "tanh", "cell", "hidden", "weight")  # weight: peepholes
GRU_POINTS = ("gate_acc", "sigmoid", "tanh", "hidden")
# Peephole products | gate sums -> gate_acc | 3 PWL | f c, i g | -> cell | w_co c | -> gate_acc | 3 PWL
# | o tanh(c) | -> hidden.
LSTM_LATENCY = 1 + 1 + PWL_LATENCY + 1 + 1 + 1 + 1 + PWL_LATENCY + 1 + 1
# gate sums -> gate_acc | 3 PWL | r q(h_n) | -> gate_acc | 3 PWL | h_prev - n | z (h_prev - n) | -> hidden.
GRU_LATENCY = 1 + PWL_LATENCY + 1 + 1 + PWL_LATENCY + 1 + 1 + 1


def circulant_pre_format(config: QuantConfig, terms: int) -> QFormat:
    """The pre-activation port of a block-circulant layer: the exact sum of ``terms`` values, each an
    IFFT-k output ("ifft") or a bias ("bias"); LSTM: W_ih x + b_ih + W_hh h + b_hh (4 terms), GRU:
    each of gx, gh (2 terms). frac = the larger frac, integer bits grow by ceil(log2(terms))."""
    if not isinstance(terms, int) or terms < 1:
        raise ValueError(f"terms must be a positive int, got {terms!r}")
    require_formats(config, ("ifft", "bias"), "the circulant pre-activation port")
    frac = max(config.ifft.frac, config.bias.frac)
    unsigned = not (config.ifft.signed and config.bias.signed)  # room for a sign bit
    int_bits = max(config.ifft.int_bits, config.bias.int_bits) + (terms - 1).bit_length() + unsigned
    return QFormat(bits=int_bits + frac, frac=frac)


def _add(a: FxValue, b: FxValue) -> FxValue:
    f = max(a[1], b[1])
    return (a[0] << (f - a[1])) + (b[0] << (f - b[1])), f


def _neg(a: FxValue) -> FxValue:
    return -a[0], a[1]


def _mul(a: FxValue, b: FxValue) -> FxValue:
    return a[0] * b[0], a[1] + b[1]


def _check_pre(name: str, fmt: object) -> QFormat:
    if not isinstance(fmt, QFormat):
        raise TypeError(f"{name} must be a QFormat (the exact pre-activation port), got {fmt!r}")
    if not fmt.signed:
        raise ValueError(f"{name}={fmt} must be signed: pre-activation sums take both signs")
    return fmt


class _Datapath:
    """Pipeline-building helpers over one stall enable: registers, rounding at named points, PWLs."""

    def __init__(self, m: Module, en: Value, config: QuantConfig) -> None:
        self.m, self.en, self.config, self.reg = m, en, config, Registers(m, en)

    def keep(self, v: FxValue, name: str) -> FxValue:
        """One register stage."""
        return self.reg(v[0], name), v[1]

    def delay(self, v: FxValue, n: int, name: str) -> FxValue:
        for j in range(n):
            v = self.keep(v, f"{name}_d{j + 1}")
        return v

    def q(self, v: FxValue, point: str, name: str) -> FxValue:
        """Round ``v`` at ``point`` (its QFormat), registered: one stage."""
        fmt = self.config[point]
        return self.reg(requantize(v[0], v[1], fmt), name), fmt.frac

    def act(self, fn: str, v: FxValue, source: str, name: str) -> FxValue:
        """``fn`` of codes of ``source``: a PWLPipeline submodule ``name``, PWL_LATENCY stages."""
        unit = self.m.submodules[name] = PWLPipeline(self.config, fn, source)
        self.m.d.comb += [unit.en.eq(self.en), unit.x.eq(v[0])]
        return unit.y, self.config[fn].frac


def _units_check(config: QuantConfig, points: tuple[str, ...], what: str) -> None:
    require_formats(config, points, what)
    pwl_parameters(config, "sigmoid", "gate_acc")
    pwl_parameters(config, "tanh", "gate_acc")


class LSTMCellUnit(wiring.Component):
    """LSTM cell update with peepholes and hidden output, one element per clock
    (:func:`rnnaccel.ref.cell.lstm_cell`; Sak et al. 2014 with peepholes).

    Ports:
      ``i`` In(stream): payload struct ``a_i, a_f, a_g, a_o`` (exact pre-activations, ``pre``
      format), ``c_prev`` (cell codes), and with ``peephole`` ``w_ci, w_cf, w_co`` (weight codes).
      ``o`` Out(stream): payload struct ``m`` (hidden codes, m_t), ``c`` (cell codes, c_t).
    Valid/ready per :func:`rnnaccel.rtl.pwl.stream_pipeline`. Latency :data:`LSTM_LATENCY` (14)
    clocks from an accepted input to its output (with ``o.ready`` high); one element per clock.
    Parameters: ``config`` (gate_acc, sigmoid, tanh, cell, hidden, weight formats and both PWLs),
    ``pre`` (the pre-activation port format), ``peephole``.
    """

    latency = LSTM_LATENCY

    def __init__(self, config: QuantConfig, pre: QFormat, peephole: bool = True) -> None:
        needed = LSTM_POINTS if peephole else tuple(pt for pt in LSTM_POINTS if pt != "weight")
        _units_check(config, needed, "the LSTM cell unit")
        self.config, self.pre, self.peephole = config, _check_pre("pre", pre), bool(peephole)
        fields = {g: fmt_shape(pre) for g in ("a_i", "a_f", "a_g", "a_o")}
        fields["c_prev"] = fmt_shape(config.cell)
        if self.peephole:
            fields |= {w: fmt_shape(config.weight) for w in ("w_ci", "w_cf", "w_co")}
        out = {"m": fmt_shape(config.hidden), "c": fmt_shape(config.cell)}
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(fields))),
            "o": Out(stream.Signature(data.StructLayout(out))),
        })

    def _input_gates(self, dp: _Datapath, p, c0: FxValue) -> tuple[FxValue, FxValue, FxValue]:
        """Stages 1-2: i, f, g gate sums (peephole products registered first), rounded to gate_acc."""
        a_i, a_f, a_g = ((p[g], self.pre.frac) for g in ("a_i", "a_f", "a_g"))
        if self.peephole:
            wf = self.config.weight.frac
            a_i = _add(dp.keep(a_i, "a_i_s1"), dp.keep(_mul((p.w_ci, wf), c0), "w_ci_x_c_s1"))
            a_f = _add(dp.keep(a_f, "a_f_s1"), dp.keep(_mul((p.w_cf, wf), c0), "w_cf_x_c_s1"))
        else:
            a_i, a_f = dp.keep(a_i, "a_i_s1"), dp.keep(a_f, "a_f_s1")
        a_g = dp.keep(a_g, "a_g_s1")
        named = ((a_i, "gate_i"), (a_f, "gate_f"), (a_g, "gate_g"))
        return tuple(dp.q(a, "gate_acc", f"{n}_s2") for a, n in named)

    def _output_gate(self, dp: _Datapath, p, c: FxValue) -> FxValue:
        """Stages 8-9 from c_t at stage 7: a_o (+ w_co c_t) rounded to gate_acc."""
        a_o = dp.delay((p.a_o, self.pre.frac), 8, "a_o")
        if self.peephole:
            w_co = dp.delay((p.w_co, self.config.weight.frac), 7, "w_co")
            a_o = _add(a_o, dp.keep(_mul(w_co, c), "w_co_x_c_s8"))
        return dp.q(a_o, "gate_acc", "gate_o_s9")

    def elaborate(self, platform) -> Module:
        m, p = Module(), self.i.payload
        dp = _Datapath(m, stream_pipeline(m, self.i, self.o, self.latency), self.config)
        c0 = (p.c_prev, self.config.cell.frac)
        gi, gf, gg = self._input_gates(dp, p, c0)
        i, f = dp.act("sigmoid", gi, "gate_acc", "sigmoid_i"), dp.act("sigmoid", gf, "gate_acc", "sigmoid_f")
        g = dp.act("tanh", gg, "gate_acc", "tanh_g")  # stage 5
        c_prev = dp.delay(c0, 5, "c_prev")
        fc, ig = dp.keep(_mul(f, c_prev), "f_x_c_s6"), dp.keep(_mul(i, g), "i_x_g_s6")
        c = dp.q(_add(fc, ig), "cell", "cell_s7")
        o = dp.act("sigmoid", self._output_gate(dp, p, c), "gate_acc", "sigmoid_o")  # stage 12
        tanh_c = dp.delay(dp.act("tanh", c, "cell", "tanh_c"), 2, "tanh_c")
        hidden = dp.q(dp.keep(_mul(o, tanh_c), "o_x_tanh_c_s13"), "hidden", "hidden_s14")
        m.d.comb += [self.o.payload.m.eq(hidden[0]), self.o.payload.c.eq(dp.delay(c, 7, "cell")[0])]
        return m


class GRUUpdateUnit(wiring.Component):
    """GRU update, one element per clock (:func:`rnnaccel.ref.cell.gru_update`; torch.nn.GRU
    semantics: r scales the rounded ``W_hn h + b_hn``).

    Ports:
      ``i`` In(stream): payload struct ``x_r, x_z, x_n`` (exact ``W_i* x + b_i*``, ``pre_x``
      format), ``h_r, h_z, h_n`` (exact ``W_h* h + b_h*``, ``pre_h`` format), ``h_prev`` (hidden codes).
      ``o`` Out(stream): payload struct ``h`` (hidden codes, h_t).
    Valid/ready per :func:`rnnaccel.rtl.pwl.stream_pipeline`. Latency :data:`GRU_LATENCY` (12)
    clocks; one element per clock. Parameters: ``config`` (gate_acc, sigmoid, tanh, hidden formats
    and both PWLs), ``pre_x``, ``pre_h`` (the pre-activation port formats).
    """

    latency = GRU_LATENCY

    def __init__(self, config: QuantConfig, pre_x: QFormat, pre_h: QFormat) -> None:
        _units_check(config, GRU_POINTS, "the GRU update unit")
        self.config = config
        self.pre_x, self.pre_h = _check_pre("pre_x", pre_x), _check_pre("pre_h", pre_h)
        fields = {g: fmt_shape(pre_x) for g in ("x_r", "x_z", "x_n")}
        fields |= {g: fmt_shape(pre_h) for g in ("h_r", "h_z", "h_n")}
        fields["h_prev"] = fmt_shape(config.hidden)
        super().__init__({
            "i": In(stream.Signature(data.StructLayout(fields))),
            "o": Out(stream.Signature(data.StructLayout({"h": fmt_shape(config.hidden)}))),
        })

    def elaborate(self, platform) -> Module:
        m, p = Module(), self.i.payload
        dp = _Datapath(m, stream_pipeline(m, self.i, self.o, self.latency), self.config)
        x = {g: (p[f"x_{g}"], self.pre_x.frac) for g in "rzn"}
        h = {g: (p[f"h_{g}"], self.pre_h.frac) for g in "rzn"}
        gr = dp.q(_add(x["r"], h["r"]), "gate_acc", "gate_r_s1")
        gz = dp.q(_add(x["z"], h["z"]), "gate_acc", "gate_z_s1")
        hn = dp.delay(dp.q(h["n"], "gate_acc", "h_n_s1"), 3, "h_n")
        r = dp.act("sigmoid", gr, "gate_acc", "sigmoid_r")  # stage 4
        z = dp.act("sigmoid", gz, "gate_acc", "sigmoid_z")
        rh = dp.keep(_mul(r, hn), "r_x_h_n_s5")
        gn = dp.q(_add(dp.delay(x["n"], 5, "x_n"), rh), "gate_acc", "gate_n_s6")
        n = dp.act("tanh", gn, "gate_acc", "tanh_n")  # stage 9
        h_prev = dp.delay((p.h_prev, self.config.hidden.frac), 9, "h_prev")
        diff = dp.keep(_add(h_prev, _neg(n)), "h_prev_minus_n_s10")  # registered: the multiplier's input
        zd = dp.keep(_mul(dp.delay(z, 6, "z"), diff), "z_x_diff_s11")
        h_t = dp.q(_add(dp.delay(n, 2, "n"), zd), "hidden", "hidden_s12")
        m.d.comb += self.o.payload.h.eq(h_t[0])
        return m
