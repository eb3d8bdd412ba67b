"""Weight memories of a generated design as ``$readmemh`` files.

Amaranth initializes a memory inline (``initial begin weights0[0] = ...; end`` in the Verilog);
a generator's user expects the weights beside the Verilog, in the files the exported integer model
holds (``rnnaccel export``: one ``weight`` code per line, circulant pairs (i, j) i-major, the k codes
re(0), re(1), im(1), ..., re(k/2)). :func:`lane_mem_files` repacks those codes into the MAC bank's
words (one word per (pass, input block) of each lane, k codes LSB first, :func:`rnnaccel.rtl.mac.
weight_words`'s layout); :func:`use_readmemh` replaces each inline initializer of the Verilog by
``initial $readmemh("mem/<file>", <memory>);`` after checking that the file's words equal the
initializer word for word, so the Verilog and its files cannot drift apart. Paths are relative:
Yosys runs in the design directory, the simulator in a build directory holding a copy of ``mem/``.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import numpy as np

from rnnaccel.ref.export import IntCirculant

__all__ = ["check_mem_hashes", "lane_mem_files", "mem_hashes", "use_readmemh"]

_MODULE = re.compile(r"^module \\?(\S+) \(", re.M)
_INIT = re.compile(r"reg \[(\d+):0\] (weights\d+) \[(\d+):0\];\n  initial begin\n(.*?)\n  end\n", re.S)
_WORD = re.compile(r"\s*weights\d+\[(\d+)\] = \d+'h([0-9a-f]+);")


def _lane_words(codes: np.ndarray, role: IntCirculant, lanes: int, bits: int) -> list[list[int]]:
    """Per lane, the MAC words from the export's ``.mem`` codes (shape p*q*k, pair order)."""
    k, mask = role.block_size, (1 << bits) - 1
    pairs = np.asarray(codes, np.int64).reshape(role.p, role.q, k)
    out = []
    for lane in range(lanes):
        words = []
        for g in range(math.ceil(role.p / lanes)):
            i = g * lanes + lane
            for j in range(role.q):
                block = pairs[i, j] if i < role.p else np.zeros(k, np.int64)
                words.append(sum((int(c) & mask) << (n * bits) for n, c in enumerate(block)))
        out.append(words)
    return out


def lane_mem_files(prefix: str, codes: np.ndarray, role: IntCirculant, lanes: int,
                   bits: int) -> dict[str, str]:
    """``{"<prefix>.weights<l>.mem": text}`` for each lane of the MAC bank at module path ``prefix``."""
    digits = -(-role.block_size * bits // 4)
    return {f"{prefix}.weights{lane}.mem": "".join(f"{w:0{digits}x}\n" for w in words)
            for lane, words in enumerate(_lane_words(codes, role, lanes, bits))}


def _modules(verilog: str) -> list[tuple[str, int, int]]:
    """(name without the top's name, start, end) of every module of the Verilog text."""
    heads = list(_MODULE.finditer(verilog))
    ends = [h.start() for h in heads[1:]] + [len(verilog)]
    return [(h.group(1).split(".", 1)[-1] if "." in h.group(1) else "", h.start(), e)
            for h, e in zip(heads, ends, strict=True)]


def _replace_inits(body: str, module: str, files: dict[str, str], used: list[str]) -> str:
    def sub(mt: re.Match) -> str:
        name = f"{module}.{mt.group(2)}.mem"
        if name not in files:
            raise ValueError(f"memory {module}.{mt.group(2)} of the Verilog has no .mem file")
        inline = {int(a): int(w, 16) for a, w in _WORD.findall(mt.group(4))}
        words = [int(line, 16) for line in files[name].split()]
        if any(inline.get(a, 0) != w for a, w in enumerate(words)) or len(words) != int(mt.group(3)) + 1:
            raise ValueError(f"mem/{name} differs from the weights Amaranth built into {module}")
        used.append(name)
        return (f"reg [{mt.group(1)}:0] {mt.group(2)} [{mt.group(3)}:0];\n"
                f"  initial $readmemh(\"mem/{name}\", {mt.group(2)}, 0, {mt.group(3)});\n")

    return _INIT.sub(sub, body)


def use_readmemh(verilog: str, files: dict[str, str]) -> str:
    """The Verilog with every weight memory loaded by ``$readmemh`` from ``files`` (checked equal)."""
    used: list[str] = []
    parts = [verilog[: _modules(verilog)[0][1]] if _modules(verilog) else verilog]
    for module, start, end in _modules(verilog):
        parts.append(_replace_inits(verilog[start:end], module, files, used))
    if sorted(used) != sorted(files):
        raise ValueError(f"weight memories without a $readmemh: {sorted(set(files) - set(used))}")
    return "".join(parts)


def mem_hashes(files: dict[str, str]) -> dict[str, str]:
    """SHA-256 of each file's text (design.json records them)."""
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in sorted(files.items())}


def check_mem_hashes(mem_dir: Path, hashes: dict[str, str]) -> None:
    """ValueError naming the first ``.mem`` file that is missing or differs from design.json's hash."""
    for name, sha in hashes.items():
        path = Path(mem_dir) / name
        if not path.is_file():
            raise ValueError(f"{path}: missing (design.json lists it)")
        if hashlib.sha256(path.read_bytes()).hexdigest() != sha:
            raise ValueError(f"{path}: SHA-256 differs from the one in design.json (edited or damaged); "
                             "rebuild with 'rnnaccel rtl build'")
