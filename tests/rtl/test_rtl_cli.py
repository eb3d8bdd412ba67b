"""`rnnaccel rtl pe` and the 'ap_fixed<W,I>' parser it uses."""

import re

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.quant.qformat import Overflow, QFormat, Rounding, parse_format


@pytest.mark.parametrize(("text", "want"), [
    ("ap_fixed<16,8>", QFormat(bits=16, frac=8)),
    (" ap_fixed< 12 , 4 > ", QFormat(bits=12, frac=8)),
    ("ap_ufixed<8,2>", QFormat(bits=8, frac=6, signed=False)),
    ("ap_fixed<16,8,trn,wrap>", QFormat(bits=16, frac=8, rounding=Rounding.TRN, overflow=Overflow.WRAP)),
    ("ap_fixed<10,2,AP_RND_CONV>", QFormat(bits=10, frac=8, rounding=Rounding.RND_CONV)),
])
def test_parse_format(text, want):
    assert parse_format(text) == want == QFormat.parse(text)
    assert parse_format(str(want)) == want  # str() round-trips


@pytest.mark.parametrize(("text", "match"), [
    ("ap_fixed<16>", r"cannot parse format 'ap_fixed<16>': expected 'ap_fixed<W,I>'"),
    ("fixed<16,8>", r"cannot parse format 'fixed<16,8>'"),
    ("ap_fixed<40,8>", r"format 'ap_fixed<40,8>' is not buildable: QFormat bits=40"),
    ("ap_fixed<16,8,up>", r"format 'ap_fixed<16,8,up>': unknown mode 'up', expected one of: trn"),
])
def test_parse_format_errors_name_the_string(text, match):
    with pytest.raises(ValueError, match=match):
        parse_format(text)


@pytest.mark.parametrize(("args", "match"), [
    (["-k", "3"], "block size k=3 cannot be built: the RTL FFT needs a power of two in 2..32"),
    (["-k", "64"], "block size k=64 cannot be built"),
    (["--format", "ap_fixed<16>"], "cannot parse format 'ap_fixed<16>'"),
    (["--format", "ap_ufixed<16,8>"], "format 'ap_ufixed<16,8>' is unsigned"),
    (["--lanes", "3"], r"need 1 <= --lanes \(3\) <= --out-blocks \(2\)"),
])
def test_unbuildable_values_are_named(args, match, tmp_path):
    res = CliRunner().invoke(main, ["rtl", "pe", "--out", str(tmp_path / "o"), *args])
    assert res.exit_code != 0
    assert re.search(match, res.output), res.output


def test_missing_yosys_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    res = CliRunner().invoke(main, ["rtl", "pe", "--out", str(tmp_path / "o")])
    assert res.exit_code == 1
    assert "yosys not found on PATH: install it with `apt-get install yosys`" in res.output

# The end-to-end run of `rnnaccel rtl pe` (Yosys included) is in test_rtl_synth.py.
