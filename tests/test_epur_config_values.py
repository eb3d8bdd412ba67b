"""E-PUR config values: an ``energy_table`` is a name of a table shipped in rnnaccel.hw.energy, never a
path (a config cannot make rnnaccel read a JSON file outside the package); an input buffer holds at least
one DPU word."""

import json
from importlib import resources

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.energy.table import load_table


def test_a_name_that_walks_out_of_the_package_is_refused_even_when_the_file_exists(tmp_path):
    shipped = (resources.files("rnnaccel.hw.energy") / "epur_28nm.json").read_text()
    (tmp_path / "x.json").write_text(shipped)  # a valid table, outside the package
    package = resources.files("rnnaccel.hw.energy")
    walk = "../" * (len(str(package).split("/")) + 2) + str(tmp_path / "x").lstrip("/")
    for name in (walk, "../energy/epur_28nm", "/etc/passwd", "sub/epur_28nm", ".hidden", ""):
        with pytest.raises(ValueError, match=r"expected the name of a table in rnnaccel.hw.energy"):
            load_table(name)
    assert load_table("epur_28nm").raw == json.loads(shipped)


def test_simulate_with_such_a_config_is_a_one_line_error(tmp_path):
    cfg = tmp_path / "e.toml"
    cfg.write_text('energy_table = "../energy/epur_28nm"\n')
    res = CliRunner().invoke(main, ["simulate", "--network", "eesen", "--config", str(cfg)])
    assert res.exit_code in (1, 2) and "no path" in res.output and "Traceback" not in res.output


def test_an_input_buffer_below_one_dpu_word_is_an_error(tmp_path):
    cfg = tmp_path / "b.toml"
    cfg.write_text("[cu]\ninput_buffer_kib = 0.0001\n")  # > 0, but int(0.1 B) = 0 B
    res = CliRunner().invoke(main, ["simulate", "--network", "eesen", "--config", str(cfg)])
    assert res.exit_code in (1, 2) and "input buffer of 0 B is smaller than one 32 B operand" in res.output
