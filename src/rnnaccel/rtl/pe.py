"""The E-RNN / C-LSTM processing element: FFT-k -> frequency-domain MAC bank -> IFFT-k per lane.

```
 x_j (k real codes)      X_j (k/2+1 bins)          Y_i (k/2+1 bins)             y_i (k codes)
 ---i--> [ FFT-k ] -----> [ MAC bank, P lanes ] ==P==> [ IFFT-k ] x P ---o--> (P blocks)
                              |  weights: BRAM per lane
```

Spec: the engine's circulant path ``_circulant_cols`` (:func:`rnnaccel.ref.pe.pe_block`): for every
input vector the q input blocks are streamed once per pass (ceil(p / P) passes); after the last
block of a pass the P lanes' output blocks leave together, as ``ifft`` codes at frac
``ifft.frac + log2 k``. One IFFT per lane, as :mod:`rnnaccel.hw.fpga.model` counts them (one input
FFT per PE, one IFFT per output lane).

Latency: FFT + MAC + IFFT = ``2 fft_latency(k) + 3`` cycles from the last input block of a pass
to its output blocks; throughput one input block per clock (P output blocks per q input blocks).
"""

from __future__ import annotations

import math

from amaranth import Module
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from rnnaccel.quant.config import QuantConfig
from rnnaccel.quant.qformat import QFormat
from rnnaccel.ref.export import IntCirculant
from rnnaccel.rtl.fft import FFT, IFFT, fft_latency
from rnnaccel.rtl.fixed import fmt_shape, require_formats
from rnnaccel.rtl.mac import MAC_LATENCY, MACBank, check_role

__all__ = ["PE"]


class PE(wiring.Component):
    """Processing element for one circulant role ``role`` whose input codes are in ``in_fmt``.

    Ports: ``i`` one real input block (k codes of ``in_fmt``) per transfer; ``o`` ``lanes`` real
    output blocks (k codes of the ``ifft`` point each) per pass.
    """

    def __init__(self, role: IntCirculant, config: QuantConfig, in_fmt: QFormat, lanes: int = 1) -> None:
        check_role(role, config, lanes)  # errors name the bad value
        if not isinstance(in_fmt, QFormat):
            raise TypeError(f"PE in_fmt must be a QFormat, got {in_fmt!r}")
        require_formats(config, ("twiddle", "fft", "freq_acc", "ifft"), "PE")
        self.role, self.config, self.in_fmt, self.lanes = role, config, in_fmt, lanes
        self.k = role.block_size
        out = data.ArrayLayout(data.ArrayLayout(fmt_shape(config.ifft), self.k), lanes)
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(fmt_shape(in_fmt), self.k))),
            "o": Out(stream.Signature(out)),
        })

    @property
    def passes(self) -> int:
        return math.ceil(self.role.p / self.lanes)

    @property
    def latency(self) -> int:
        """Cycles from the last input block of a pass to the pass's output blocks."""
        return 2 * fft_latency(self.k) + MAC_LATENCY

    @property
    def out_frac(self) -> int:
        return self.config.ifft.frac + self.k.bit_length() - 1

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.fft = fft = FFT(self.k, self.in_fmt, self.config)
        m.submodules.mac = mac = MACBank(self.role, self.config, self.lanes)
        iffts = [IFFT(self.k, self.config) for _ in range(self.lanes)]
        wiring.connect(m, wiring.flipped(self.i), fft.i)
        wiring.connect(m, fft.o, mac.i)
        for lane, ifft in enumerate(iffts):
            m.submodules[f"ifft{lane}"] = ifft
            # The lanes' IFFTs are identical pipelines fed together: they stall and advance in step.
            m.d.comb += [ifft.i.valid.eq(mac.o.valid), ifft.i.payload.eq(mac.o.payload[lane])]
            m.d.comb += [self.o.payload[lane].eq(ifft.o.payload), ifft.o.ready.eq(self.o.ready)]
        m.d.comb += [mac.o.ready.eq(iffts[0].i.ready), self.o.valid.eq(iffts[0].o.valid)]
        return m
