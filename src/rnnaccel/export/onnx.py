"""ONNX export of a float recognizer (an rnnaccel.nn LSTM/GRU + its linear output layer).

Each direction of each layer is one ONNX ``Scan`` whose body is one timestep of the cell, written
with ``MatMul``/``Add``/``Sigmoid``/``Tanh``/``Mul`` (opset 17), so every feature the ONNX ``LSTM``
operator lacks is kept: peepholes, the projection (LSTMP), torch.nn.GRU's ``r * (W_hn h + b_hn)``.
A **block-circulant layer is exported as its equivalent dense MatMul** (the expanded matrix of
:meth:`rnnaccel.nn.BlockCirculantLinear.to_dense`, exact up to float32 rounding), not as ONNX DFT
ops: every runtime runs a MatMul, and the FFT form is the accelerator's business. Batch and time
are dynamic. Input ``features`` (batch, time, input_size) float32, as the model sees them (already
normalized); outputs ``hidden`` (batch, time, rnn outputs), ``logits`` and ``log_probs`` (batch, time,
phones + blank; ``log_probs`` = log_softmax(logits), what the recognizer's forward returns).

``onnx`` and ``onnxruntime`` are the optional extra ``onnx``; they are imported only here.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import nn

__all__ = ["OPSET", "check_onnx", "export_onnx", "onnx_model"]

OPSET = 17
_INSTALL = "pip install 'rnnaccel[onnx]' (or: pip install onnx onnxruntime)"


def _onnx() -> ModuleType:
    try:
        import onnx
    except ImportError:
        raise ValueError(f"ONNX export needs the onnx package: {_INSTALL}") from None
    return onnx


class _Graph:
    """Nodes and initializers of one (sub)graph, with fresh names."""

    def __init__(self, onnx: ModuleType, prefix: str) -> None:
        self.onnx, self.prefix, self.nodes, self.inits, self.n = onnx, prefix, [], [], 0

    def const(self, value: np.ndarray, name: str) -> str:
        full = f"{self.prefix}{name}"
        arr = np.asarray(value, np.int64 if np.asarray(value).dtype.kind == "i" else np.float32)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, full))
        return full

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs) -> str | list[str]:
        self.n += 1
        outs = [f"{self.prefix}{op_type.lower()}{self.n}_{i}" for i in range(outputs)]
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if outputs == 1 else outs


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _linear(g: _Graph, x: str, module: nn.Module, name: str) -> str:
    """x @ W.T (+ b) of a role (dense, pruned or block-circulant: its expanded dense matrix)."""
    from rnnaccel.nn.circulant import dense_weight

    y = g.op("MatMul", x, g.const(_np(dense_weight(module)).T, f"{name}_wt"))
    return y if module.bias is None else g.op("Add", y, g.const(_np(module.bias), f"{name}_b"))


def _split(g: _Graph, x: str, parts: int, size: int) -> list[str]:
    return g.op("Split", x, g.const(np.full(parts, size), f"split{g.n}"), outputs=parts, axis=1)


def _lstm_body(g: _Graph, d: nn.Module, h: str, c: str, x: str) -> tuple[str, str]:
    """One LSTM step (Sak et al. 2014: peepholes on i, f from c_{t-1}, on o from c_t; projection)."""
    pre = g.op("Add", _linear(g, x, d.ih, "ih"), _linear(g, h, d.hh, "hh"))
    a_i, a_f, a_g, a_o = _split(g, pre, 4, d.hidden_size)
    peep = d.peephole()
    if peep is not None:
        w_ci, w_cf, w_co = (g.const(_np(w), n) for w, n in zip(peep, ("w_ci", "w_cf", "w_co"), strict=True))
        a_i, a_f = g.op("Add", a_i, g.op("Mul", c, w_ci)), g.op("Add", a_f, g.op("Mul", c, w_cf))
    i, f, gg = g.op("Sigmoid", a_i), g.op("Sigmoid", a_f), g.op("Tanh", a_g)
    c_new = g.op("Add", g.op("Mul", f, c), g.op("Mul", i, gg))
    if peep is not None:
        a_o = g.op("Add", a_o, g.op("Mul", c_new, w_co))
    m = g.op("Mul", g.op("Sigmoid", a_o), g.op("Tanh", c_new))
    return (m if d.proj is None else _linear(g, m, d.proj, "proj")), c_new


def _gru_body(g: _Graph, d: nn.Module, h: str, x: str) -> str:
    """One GRU step, torch.nn.GRU semantics: n = tanh(x_n + r * (W_hn h + b_hn)), h = n + z (h - n)."""
    x_r, x_z, x_n = _split(g, _linear(g, x, d.ih, "ih"), 3, d.hidden_size)
    h_r, h_z, h_n = _split(g, _linear(g, h, d.hh, "hh"), 3, d.hidden_size)
    r, z = g.op("Sigmoid", g.op("Add", x_r, h_r)), g.op("Sigmoid", g.op("Add", x_z, h_z))
    n = g.op("Tanh", g.op("Add", x_n, g.op("Mul", r, h_n)))
    return g.op("Add", n, g.op("Mul", z, g.op("Sub", h, n)))


def _value(onnx: ModuleType, name: str, dims: list) -> object:
    return onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims)


def _scan_body(onnx: ModuleType, d: nn.Module, kind: str, prefix: str, in_w: int) -> tuple[object, int]:
    """The Scan body graph of one direction and the number of its states."""
    g = _Graph(onnx, prefix)
    out_w = d.hh.in_features
    h_in, c_in, x_in = f"{prefix}h_in", f"{prefix}c_in", f"{prefix}x_in"
    if kind == "lstm":
        y, c = _lstm_body(g, d, h_in, c_in, x_in)
        states = [(h_in, out_w), (c_in, d.hidden_size)]
        outs = [g.op("Identity", y), g.op("Identity", c), g.op("Identity", y)]
    else:
        y = _gru_body(g, d, h_in, x_in)
        states = [(h_in, out_w)]
        outs = [g.op("Identity", y), g.op("Identity", y)]
    inputs = [_value(onnx, n, ["B", w]) for n, w in states] + [_value(onnx, x_in, ["B", in_w])]
    widths = [w for _, w in states] + [out_w]
    outputs = [_value(onnx, o, ["B", w]) for o, w in zip(outs, widths, strict=True)]
    return onnx.helper.make_graph(g.nodes, f"{prefix}body", inputs, outputs, g.inits), len(states)


def _zeros(g: _Graph, batch: str, width: int) -> str:
    shape = g.op("Concat", batch, g.const(np.array([width]), f"w{g.n}"), axis=0)
    zero = g.onnx.helper.make_tensor("zero", g.onnx.TensorProto.FLOAT, [1], [0.0])
    return g.op("ConstantOfShape", shape, value=zero)


def _direction(g: _Graph, d: nn.Module, kind: str, x: str, batch: str, in_w: int, reverse: bool,
               prefix: str) -> str:
    body, n_states = _scan_body(g.onnx, d, kind, prefix, in_w)
    init = [_zeros(g, batch, d.hh.in_features)] + ([_zeros(g, batch, d.hidden_size)] if n_states == 2 else [])
    outs = g.op("Scan", *init, x, outputs=n_states + 1, body=body, num_scan_inputs=1,
                scan_input_directions=[int(reverse)], scan_output_directions=[int(reverse)])
    return outs[-1]


def onnx_model(recognizer: nn.Module) -> object:
    """The ModelProto of a recognizer (``.rnn`` an rnnaccel.nn LSTM/GRU, ``.output`` its linear layer)."""
    from rnnaccel.nn.rnn import LSTM

    onnx, rnn = _onnx(), recognizer.rnn
    kind = "lstm" if isinstance(rnn, LSTM) else "gru"
    g = _Graph(onnx, "")
    seq = g.op("Transpose", "features", perm=[1, 0, 2])  # (time, batch, features)
    batch = g.op("Gather", g.op("Shape", seq), g.const(np.array([1]), "batch_axis"), axis=0)
    width = rnn.input_size
    for li, directions in enumerate(rnn.layers):
        outs = [_direction(g, d, kind, seq, batch, width, di == 1, f"l{li}d{di}_")
                for di, d in enumerate(directions)]
        seq = outs[0] if len(outs) == 1 else g.op("Concat", *outs, axis=2)
        width = sum(d.hh.in_features for d in directions)
    hidden = g.op("Transpose", seq, perm=[1, 0, 2])
    logits = _linear(g, hidden, recognizer.output, "output")
    g.nodes.append(onnx.helper.make_node("Identity", [hidden], ["hidden"]))
    g.nodes.append(onnx.helper.make_node("Identity", [logits], ["logits"]))
    g.nodes.append(onnx.helper.make_node("LogSoftmax", [logits], ["log_probs"], axis=-1))
    graph = onnx.helper.make_graph(
        g.nodes, "rnnaccel", [_value(onnx, "features", ["batch", "time", rnn.input_size])],
        [_value(onnx, "hidden", ["batch", "time", width]),
         _value(onnx, "logits", ["batch", "time", recognizer.output.out_features]),
         _value(onnx, "log_probs", ["batch", "time", recognizer.output.out_features])], g.inits)
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                   producer_name="rnnaccel")
    onnx.checker.check_model(model, full_check=True)
    return model


def check_onnx(model_bytes: bytes, recognizer: nn.Module, x: np.ndarray) -> float:
    """max |onnxruntime log_probs - torch recognizer(x)| on features ``x`` (batch, time, input_size)."""
    try:
        import onnxruntime
    except ImportError:
        raise ValueError(f"checking an ONNX export needs onnxruntime: {_INSTALL}") from None
    sess = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    got = sess.run(["log_probs"], {"features": x.astype(np.float32)})[0]
    with torch.no_grad():
        want = recognizer(torch.from_numpy(x).to(recognizer.output.weight.dtype)).double().numpy()
    return float(np.abs(got - want).max())


def export_onnx(recognizer: nn.Module, path: str | Path) -> Path:
    """Write the ONNX file of a recognizer atomically (nothing is written when the export fails)."""
    from rnnaccel.io import write_bytes_atomic

    data = onnx_model(recognizer).SerializeToString()
    return write_bytes_atomic(path, data)
