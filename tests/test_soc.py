"""FPGA SoCs (hwact.soc): the synthesized netlists proven by the same benches and firmware as
the source Verilog, a planted table fault that must fail them, and `hwact soc`'s errors.

The UP5K CFU (the icebreaker board's configuration) is synthesized with ``synth_ice40`` and
written back as Verilog; with yosys's own cell models it runs the PCPI protocol bench (every
input code on every lane of the 8-bit table units, random words on the others) against the
model. The whole UP5K SoC netlist (PicoRV32, CfuPcpi, the firmware in block RAM,
SPRAM) runs the board's proof firmware (hwact.soc.board_proof) in Verilator, its dump read from
the serial line. Netlists and
the SoC model are cached under ~/.cache/hwact (HWACT_CACHE_DIR), keyed by every input: cold,
this file synthesizes three netlists and builds one Verilator model (minutes); warm it costs
seconds.
"""


import numpy as np
import pytest

import hwact.artifacts
from hwact.cfu.build import build_and_write
from hwact.cfu.firmware import simulate_soc
from hwact.cfu.sim import load_cfu, response, run_protocol
from hwact.cli import main
from hwact.soc import BOARDS, default_config
from hwact.soc.board_proof import board_commands, run_board_proof
from hwact.soc.gate import cfu_netlist, lane_sweep, plant_table_fault, run_gate_firmware

BOARD = BOARDS["icebreaker"]


@pytest.fixture(scope="module")
def up5k_cfu(tmp_path_factory, cached_plan):
    """The CFU the iCEBreaker SoC carries, built as `hwact soc` builds it."""
    directory = tmp_path_factory.mktemp("up5k_cfu")
    with pytest.MonkeyPatch.context() as patch:  # plans from the session's plan cache
        patch.setattr(hwact.artifacts, "cached_make_plan", cached_plan)
        build_and_write(default_config(BOARD), directory)
    return directory


def _vectors(cfu):
    """Every input code on every lane of the 8-bit one-operand units (the ones with tables, and
    those sharing their ROM), 16 random words on the others, the discovery id and an unknown id."""
    rng = np.random.default_rng(3)
    tables = [op for op in cfu.ops if op.plan.operand_fmt is None and op.plan.in_fmt.width <= 8]
    sweep = lane_sweep(cfu)
    others = np.array([op.function_id for op in cfu.ops if op not in tables] * 16 + [cfu.discovery_id, 500])
    rs1 = rng.integers(0, 1 << 32, size=others.size, dtype=np.uint64)
    rs2 = rng.integers(0, 1 << 32, size=others.size, dtype=np.uint64)
    return {"function_id": np.concatenate([sweep["function_id"], others]),
            "rs1": np.concatenate([sweep["rs1"], rs1]), "rs2": np.concatenate([sweep["rs2"], rs2]),
            "expected": np.concatenate([sweep["expected"], response(cfu, others, rs1, rs2)])}


@pytest.mark.icarus
def test_cfu_netlist_answers_like_the_model(tmp_path, up5k_cfu):
    gates = load_cfu(cfu_netlist(up5k_cfu, BOARD, tmp_path / "gates"))
    assert "SB_LUT4" in (gates.directory / "CfuPcpi.v").read_text()  # the netlist, not the source
    vectors = _vectors(gates)
    tables = [op for op in gates.ops if op.plan.operand_fmt is None and op.plan.in_fmt.width <= 8]
    assert tables and vectors["function_id"].size >= 256 * len(tables)
    result = run_protocol(gates, "CfuPcpi", work_dir=tmp_path, vectors=vectors, testcase="pcpi_every_command")
    failing = [line for line in result["log"].splitlines() if "FAIL" in line or "Error" in line]
    assert result["tests"] == 1 and result["failures"] == 0, failing[:5]


@pytest.mark.firmware
def test_soc_netlist_runs_the_proof_firmware(tmp_path, up5k_cfu):
    """The iCEBreaker's own firmware (the board proof: every unit's edge and random codes, the
    discovery and an unknown id, each answer checked against the model by the firmware and again
    here) on the whole SoC as gates, the up5k CFU in it."""
    cfu = load_cfu(up5k_cfu)
    assert BOARD.proof == "commands" and len(cfu.ops) == 14
    run = run_gate_firmware(BOARD, up5k_cfu, tmp_path)
    assert run.status == 0, f"the firmware counted {run.status} answers that differ from the model"
    assert not run.differing, [(int(run.function_id[i]), hex(int(run.answers[i]))) for i in run.differing[:5]]
    ids = set(run.function_id.tolist())  # every unit, the discovery id and one id without a unit
    assert {op.function_id for op in cfu.ops} | {cfu.discovery_id} < ids and len(ids) == len(cfu.ops) + 2
    assert cfu.discovery_value in run.answers.tolist()


@pytest.mark.firmware
def test_the_board_proof_counts_an_answer_that_is_not_the_models(tmp_path, up5k_cfu):
    """The board proof on the simulation PicoRV32 SoC (RTL): it passes, and with one stored
    answer changed it exits 1 and the host finds that command."""
    cfu = load_cfu(up5k_cfu)

    def simulate(image, work):
        return simulate_soc("picorv32", cfu.directory, image, work)

    commands = board_commands(cfu)
    assert run_board_proof(cfu, tmp_path / "right", simulate, defines=BOARD.firmware_flags, link_script=None,
                           commands=commands).passed
    wrong = {**commands, "expected": commands["expected"].copy()}
    wrong["expected"][40] ^= 1
    run = run_board_proof(cfu, tmp_path / "wrong", simulate, defines=BOARD.firmware_flags, link_script=None,
                          commands=wrong)
    assert run.status == 1 and run.differing == [40]


@pytest.mark.icarus
def test_a_wrong_table_entry_fails_the_gate_level_proof(tmp_path, up5k_cfu):
    """Entry 0 of the 8-bit units' table inverted in the CFU's Verilog (the ROM their shared
    datapath reads, addressed by unit and code), then synthesized (ROM inference, block RAM
    mapping, the netlist, the cell models): the gate-level bench, every code of those units on
    every lane, sees an answer differ from the model; the same bench passes on the netlist of the
    right Verilog (test_cfu_netlist_answers_like_the_model)."""
    planted, where = plant_table_fault((up5k_cfu / BOARD.cfu_file).read_text(), table="table_rom")
    gates = load_cfu(cfu_netlist(up5k_cfu, BOARD, tmp_path / "gates", source=planted))
    # Every code on every lane of every 8-bit one-operand unit reads every entry of their tables
    # (here the ROM they share, addressed by unit and code).
    vectors = lane_sweep(gates)
    assert vectors["function_id"].size >= 256, where
    result = run_protocol(gates, "CfuPcpi", work_dir=tmp_path, vectors=vectors, testcase="pcpi_every_command")
    assert result["tests"] == 1 and result["failures"] == 1, where


@pytest.mark.cli
def test_soc_command_rejects_a_bad_board_and_a_missing_config(tmp_path, capsys):
    assert main(["soc", "--board", "de0nano", "-o", str(tmp_path / "a")]) == 2
    assert main(["soc", "--board", "icebreaker", "--config", str(tmp_path / "none.toml"),
                 "-o", str(tmp_path / "b")]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and all(line.startswith("hwact: error: ") for line in errors), errors
    assert "de0nano" in errors[0] and "none.toml" in errors[1]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
