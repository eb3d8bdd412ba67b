"""Energy = Σ counts × energy per action + leakage × time; tables cite sources; exports; CLI; baseline."""

import json
import math

import pytest
from click.testing import CliRunner

from rnnaccel.cli import main
from rnnaccel.hw.energy import Component, load_table
from rnnaccel.hw.epur import TegraX1, evaluate, export_actions, get_network, simulate, tegra_x1


def test_every_table_entry_cites_a_source():
    table = load_table("epur_28nm")
    for name, prim in table.raw["primitives"].items():
        assert len(prim["source"]) > 20, name


def test_energy_is_counts_times_table_plus_leakage():
    ev = evaluate(simulate(get_network("neuraltalk"), mwl=True))
    exp = export_actions(ev)
    dynamic = sum(n * exp["energy_pj_per_action"][k] for k, n in exp["action_counts"].items())
    leak = exp["leakage_mw"] * 1e-3 * ev.seconds * 1e12
    assert math.isclose(ev.energy.total_pj, dynamic + leak, rel_tol=1e-12)
    assert exp["energy_pj_per_action"]["dram.read_bytes"] == 32.0
    counts = exp["action_counts"]
    assert counts["dram.read_bytes"] + counts["dram.write_bytes"] == ev.sim.dram_bytes
    assert exp["schema"] == "rnnaccel-epur-actions/1" and exp["table"]["name"] == "epur_28nm"
    json.dumps(exp)


def test_sram_energy_follows_the_fitted_formula():
    table = load_table("epur_28nm")
    est = table.estimator("sram")
    small = Component("b", "sram", 1, {"size_kib": 16, "width_bits": 64})
    assert est.energy_pj("read", small) == pytest.approx(2.2 * 4)
    huge = Component("b", "sram", 1, {"size_kib": 4096, "width_bits": 256})
    assert est.energy_pj("read", huge) == pytest.approx(2.2 * 8 * 4)  # capped at the 64 KiB bank
    assert est.area_mm2(huge) == pytest.approx(4 * 1.5)
    with pytest.raises(ValueError, match="has actions read/write, not 'erase'"):
        est.energy_pj("erase", small)


def test_unknown_table():
    with pytest.raises(ValueError, match="unknown energy table 'nope'"):
        load_table("nope")


def test_mwl_cuts_dram_energy_on_streaming_networks():
    net = get_network("gmat").with_seq_len(10)
    off, on = evaluate(simulate(net, mwl=False)), evaluate(simulate(net, mwl=True))
    assert on.breakdown_j()["dram"] < off.breakdown_j()["dram"]
    assert on.energy_j < off.energy_j
    assert on.area_mm2 == off.area_mm2 > 0


def test_tegra_roofline_hand_calculation():
    gpu = TegraX1()
    net = get_network("neuraltalk")  # 1 x 512, 512-d input, 20 steps; 2.1 M FP16 weights > L2
    wbytes = (4 * 512 * 1024 + 4 * 512) * 2
    t_mem = (wbytes + 1024 * 2) / 25.6e9
    t_cmp = (2 * 4 * 512 * 1024 + 10 * 512) / 1024e9
    assert t_mem > t_cmp
    res = tegra_x1(net, gpu)
    assert res.seconds == pytest.approx(20 * (t_mem + 10e-6))
    assert res.energy_j == pytest.approx(10.0 * res.seconds)
    assert res.memory_bound_steps == res.total_steps == 20


def test_cli_json_and_errors(tmp_path):
    runner = CliRunner()
    out = runner.invoke(main, ["simulate", "--network", "neuraltalk", "--mwl", "on", "--json"])
    assert out.exit_code == 0, out.output
    (summary,) = json.loads(out.output)
    assert summary["network"] == "neuraltalk" and summary["mwl"] is True and summary["rtf"] is None
    bad = runner.invoke(main, ["simulate", "--network", "lenet"])
    assert bad.exit_code == 2 and "'lenet' is not one of 'eesen'" in bad.output  # a click choice
    path = tmp_path / "actions.json"
    ok = runner.invoke(main, ["simulate", "--network", "eesen", "--mwl", "off", "--seq-len", "5",
                              "--export-actions", str(path)])
    assert ok.exit_code == 0 and json.loads(path.read_text())["action_counts"]["dpu.mac"] > 0


def test_cli_plot(tmp_path):
    path = tmp_path / "e.png"
    out = CliRunner().invoke(main, ["simulate", "--network", "neuraltalk", "--plot", str(path)])
    assert out.exit_code == 0, out.output
    assert path.read_bytes()[:4] == b"\x89PNG"
