"""The integer model on disk: ``model.safetensors`` + ``model.json`` + ``mem/*.mem`` (docs/export.md).

:func:`write_int_model` validates that the hardware can build the model *before* it writes anything,
then writes the tensor file and the ``$readmemh`` files, each atomically, and ``model.json`` last (it
holds the SHA-256 of every other file and of its own content, so a reader that finds it finds a
complete export). :func:`load_int_model` checks every hash and every ``.mem`` word against the tensors
and rebuilds the :class:`rnnaccel.ref.IntModel`; ``rnnaccel.ref`` then gives identical outputs.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnaccel.quant.config import POINT_NAMES, QuantConfig
from rnnaccel.quant.fft import FFTPlan
from rnnaccel.quant.pwl import PWLActivation
from rnnaccel.quant.qformat import QFormat
from rnnaccel.ref.export import IntCirculant, IntDense, IntDirection, IntModel, IntRole

__all__ = ["BUILDABLE_BLOCK_SIZES", "FORMAT_NAME", "check_buildable", "load_int_model", "mem_words",
           "write_int_model"]

FORMAT_NAME, VERSION = "rnnaccel.int_model", 1
# The block sizes the RTL FFT builds (= rnnaccel.rtl.fixed.RTL_BLOCK_SIZES; a test keeps them equal).
BUILDABLE_BLOCK_SIZES = (2, 4, 8, 16, 32)
_SIGNED_POINTS = ("input", "weight", "bias", "twiddle", "fft", "freq_acc", "ifft", "gate_acc", "cell",
                  "hidden", "proj")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fmt_dict(fmt: QFormat | None) -> dict | None:
    if fmt is None:
        return None
    return {"bits": fmt.bits, "frac": fmt.frac, "signed": fmt.signed, "rounding": fmt.rounding.value,
            "overflow": fmt.overflow.value}


def _pwl_dict(pwl: PWLActivation) -> dict:
    return {"segments": pwl.segments, "x_min": pwl.x_min, "x_max": pwl.x_max,
            "coef_format": _fmt_dict(pwl.coef_format)}


def _roles(d: IntDirection) -> dict[str, IntRole]:
    return {name: r for name, r in (("ih", d.ih), ("hh", d.hh), ("proj", d.proj)) if r is not None}


def check_buildable(model: IntModel) -> None:
    """ValueError naming the first value the hardware cannot build: a block size outside
    BUILDABLE_BLOCK_SIZES, a point the datapath needs signed, a circulant pair whose DC/Nyquist bins are
    not real, a code outside its point's format."""
    cfg = model.config
    for name in _SIGNED_POINTS:
        if cfg[name] is not None and not cfg[name].signed:
            raise ValueError(f"point {name!r} has the unsigned format {cfg[name]}; the datapath needs it "
                             "signed")
    for li, directions in enumerate(model.layers):
        for di, d in enumerate(directions):
            for rname, role in _roles(d).items():
                _check_role(f"layers.{li}.{di}.{rname}", role, cfg)


def _check_role(where: str, role: IntRole, cfg: QuantConfig) -> None:
    if isinstance(role, IntCirculant):
        if role.block_size not in BUILDABLE_BLOCK_SIZES:
            raise ValueError(f"{where}: block size k={role.block_size} cannot be built: the RTL FFT needs "
                             f"one of {list(BUILDABLE_BLOCK_SIZES)}")
        nyq = role.block_size // 2
        if role.w_im[..., 0].any() or role.w_im[..., nyq].any():
            raise ValueError(f"{where}: DC/Nyquist weight bins must be real "
                             f"(w_im[..., 0] and [..., {nyq}] = 0)")
    for tensor, point in _tensors_of(role):
        fmt = cfg[point]
        if tensor.size and (tensor.min() < fmt.code_min or tensor.max() > fmt.code_max):
            raise ValueError(f"{where}: {point} codes span [{tensor.min()}, {tensor.max()}], outside {fmt}")


def _tensors_of(role: IntRole) -> list[tuple[np.ndarray, str]]:
    out = [(role.w_re, "weight"), (role.w_im, "weight")] if isinstance(role, IntCirculant) else [
        (role.weight, "weight")]
    return out + ([] if role.bias is None else [(role.bias, "bias")])


def mem_words(role: IntRole) -> np.ndarray:
    """The weight words of a role in ``.mem`` order: dense (out, in) row-major; circulant per block pair
    (i, j), i-major, the k codes re(0), re(1), im(1), ..., re(k/2-1), im(k/2-1), re(k/2)."""
    if isinstance(role, IntDense):
        return role.weight.reshape(-1)
    k = role.block_size
    mid = np.stack([role.w_re[..., 1 : k // 2], role.w_im[..., 1 : k // 2]], -1).reshape(role.p, role.q, -1)
    return np.concatenate([role.w_re[..., :1], mid, role.w_re[..., k // 2 : k // 2 + 1]], -1).reshape(-1)


def _hex_lines(codes: np.ndarray, bits: int) -> bytes:
    digits = -(-bits // 4)
    mask = (1 << bits) - 1
    return "".join(f"{int(c) & mask:0{digits}x}\n" for c in codes.reshape(-1)).encode()


def _entries(model: IntModel) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, str]], list]:
    """Tensors (name -> codes), .mem contents (file -> (words, point)) and the per-layer JSON."""
    tensors: dict[str, np.ndarray] = {}
    mems: dict[str, tuple[np.ndarray, str]] = {}
    layers = []
    for li, directions in enumerate(model.layers):
        layers.append([_direction_entries(f"layers.{li}.{di}", d, tensors, mems)
                       for di, d in enumerate(directions)])
    return tensors, mems, layers


def _direction_entries(base: str, d: IntDirection, tensors: dict, mems: dict) -> dict:
    meta: dict[str, Any] = {"hidden_size": d.hidden_size, "peephole": None}
    for rname, role in _roles(d).items():
        meta[rname] = _role_entries(f"{base}.{rname}", role, tensors, mems)
    if d.peephole is not None:
        tensors[f"{base}.peephole"] = np.stack(d.peephole)
        mems[f"{base}.peephole.mem"] = (tensors[f"{base}.peephole"].reshape(-1), "weight")
        meta["peephole"] = f"{base}.peephole"
    meta.setdefault("proj", None)
    return meta


def _role_entries(name: str, role: IntRole, tensors: dict, mems: dict) -> dict:
    meta: dict[str, Any] = {"in_features": role.in_features, "out_features": role.out_features,
                            "bias": None if role.bias is None else f"{name}.bias"}
    if isinstance(role, IntCirculant):
        tensors[f"{name}.w_re"], tensors[f"{name}.w_im"] = role.w_re, role.w_im
        meta |= {"kind": "circulant", "block_size": role.block_size, "p": role.p, "q": role.q}
    else:
        tensors[f"{name}.weight"] = role.weight
        meta |= {"kind": "dense"}
    mems[f"{name}.weight.mem"] = (mem_words(role), "weight")
    if role.bias is not None:
        tensors[f"{name}.bias"] = role.bias
        mems[f"{name}.bias.mem"] = (role.bias, "bias")
    return meta


def _canonical(meta: dict) -> bytes:
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def write_int_model(model: IntModel, out_dir: str | Path, source: dict | None = None) -> Path:
    """Validate (:func:`check_buildable`), then write the export into ``out_dir``; returns model.json."""
    from safetensors.numpy import save

    from rnnaccel.io import write_bytes_atomic

    check_buildable(model)
    cfg, out = model.config, Path(out_dir)
    tensors, mems, layers = _entries(model)
    blob = save({k: np.ascontiguousarray(v, np.int64) for k, v in tensors.items()})
    mem_bytes = {f: _hex_lines(words, cfg[point].bits) for f, (words, point) in mems.items()}
    meta = {
        "format": FORMAT_NAME, "version": VERSION, "kind": model.kind, "input_size": model.input_size,
        "hidden_size": model.hidden_size, "proj_size": model.proj_size, "num_layers": len(model.layers),
        "num_directions": model.num_directions, "output_point": model.output_point.value,
        "points": {n: _fmt_dict(cfg[n]) for n in POINT_NAMES},
        "pwl": {n: _pwl_dict(getattr(cfg, f"{n}_pwl")) for n in ("sigmoid", "tanh")},
        "layers": layers, "export_overflows": dict(model.export_overflows), "source": source or {},
        "tensors": {"file": "model.safetensors", "sha256": _sha256(blob)},
        "mem": {f: {"tensor": f[: -len(".mem")], "point": p, "bits": cfg[p].bits, "words": int(w.size),
                    "sha256": _sha256(mem_bytes[f])} for f, (w, p) in mems.items()},
    }
    meta["content_sha256"] = _sha256(_canonical(meta))
    write_bytes_atomic(out / "model.safetensors", blob)
    for f, data in mem_bytes.items():
        write_bytes_atomic(out / "mem" / f, data)
    write_bytes_atomic(out / "model.json", json.dumps(meta, indent=1, allow_nan=False).encode())
    return out / "model.json"


def _read_meta(path: Path) -> dict:
    if not path.is_file():
        raise ValueError(f"{path}: missing (not an rnnaccel export directory)")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME or meta.get("version") != VERSION:
        raise ValueError(f"{path}: not an {FORMAT_NAME} version {VERSION} file")
    body = {k: v for k, v in meta.items() if k != "content_sha256"}
    if _sha256(_canonical(body)) != meta.get("content_sha256"):
        raise ValueError(f"{path}: content_sha256 does not match its content (edited or damaged)")
    return meta


def _read_file(root: Path, name: str, sha: str) -> bytes:
    path = root / name
    if not path.is_file():
        raise ValueError(f"{path}: missing (named in {root / 'model.json'})")
    data = path.read_bytes()
    if _sha256(data) != sha:
        raise ValueError(f"{path}: SHA-256 differs from the one in {root / 'model.json'}")
    return data


def _check_mem(path: Path, data: bytes, expected: np.ndarray, entry: dict) -> None:
    """Every word of a .mem file against the tensor it was written from (two's complement, width)."""
    lines = data.decode("ascii", "replace").splitlines()
    if len(lines) != entry["words"] or len(lines) != expected.size:
        raise ValueError(f"{path}: {len(lines)} words, its JSON entry says {entry['words']} "
                         f"(tensor {entry['tensor']} has {expected.size})")
    bits, digits = entry["bits"], -(-entry["bits"] // 4)
    mask = (1 << bits) - 1
    for i, (line, code) in enumerate(zip(lines, expected.reshape(-1), strict=True)):
        want = f"{int(code) & mask:0{digits}x}"
        if line.strip().lower() != want:
            raise ValueError(f"{path}: word {i} is {line.strip()!r}, expected {want!r} ({entry['tensor']} "
                             f"code {int(code)} as {bits}-bit two's complement)")


def _config(meta: dict) -> QuantConfig:
    fmts = {n: None if f is None else QFormat(**f) for n, f in meta["points"].items()}
    pwls = {}
    for fn, p in meta["pwl"].items():
        coef = QFormat(**p["coef_format"])
        pwls[f"{fn}_pwl"] = PWLActivation(fn, p["segments"], p["x_min"], p["x_max"], coef)
    return QuantConfig(**fmts, **pwls)


def _role(meta: dict | None, name: str, tensors: dict, cfg: QuantConfig) -> IntRole | None:
    if meta is None:
        return None
    bias = tensors[meta["bias"]] if meta["bias"] else None
    if meta["kind"] == "dense":
        return IntDense(tensors[f"{name}.weight"], bias)
    return IntCirculant(tensors[f"{name}.w_re"], tensors[f"{name}.w_im"], bias, meta["block_size"],
                        meta["in_features"], meta["out_features"], FFTPlan(meta["block_size"], cfg.twiddle))


def _model(meta: dict, tensors: dict) -> IntModel:
    cfg = _config(meta)
    layers = []
    for li, directions in enumerate(meta["layers"]):
        dirs = []
        for di, d in enumerate(directions):
            base = f"layers.{li}.{di}"
            peep = None if d["peephole"] is None else tuple(tensors[d["peephole"]])
            dirs.append(IntDirection(_role(d["ih"], f"{base}.ih", tensors, cfg),
                                     _role(d["hh"], f"{base}.hh", tensors, cfg),
                                     _role(d["proj"], f"{base}.proj", tensors, cfg), peep, d["hidden_size"]))
        layers.append(tuple(dirs))
    return IntModel(meta["kind"], cfg, tuple(layers), meta["input_size"], meta["hidden_size"],
                    meta["proj_size"], dict(meta["export_overflows"]))


def load_int_model(export_dir: str | Path) -> IntModel:
    """Read an export back (every hash and every ``.mem`` word checked) as an :class:`IntModel`."""
    from safetensors.numpy import load

    root = Path(export_dir)
    meta = _read_meta(root / "model.json")
    try:
        blob = _read_file(root, meta["tensors"]["file"], meta["tensors"]["sha256"])
        tensors = {k: v.astype(np.int64) for k, v in load(blob).items()}
        for f, entry in meta["mem"].items():
            data = _read_file(root / "mem", f, entry["sha256"])
            _check_mem(root / "mem" / f, data, _mem_expected(f, entry, tensors, meta), entry)
        return _model(meta, tensors)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{root / 'model.json'}: inconsistent export ({type(exc).__name__}: "
                         f"{exc})") from None


def _mem_expected(name: str, entry: dict, tensors: dict, meta: dict) -> np.ndarray:
    """What a .mem file must hold, from the tensors (circulant weights in their pair order)."""
    tensor = entry["tensor"]
    if not tensor.endswith(".weight") or tensor in tensors:
        return tensors[tensor]
    base = tensor[: -len(".weight")]
    li, di, rname = base.split(".")[1:]
    role = _role(meta["layers"][int(li)][int(di)][rname], base, tensors, _config(meta))
    return mem_words(role)
