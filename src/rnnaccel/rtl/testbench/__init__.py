"""cocotb testbenches copied next to the generated Verilog by :mod:`rnnaccel.rtl.build`."""

__all__: list[str] = []
