"""Tier 3 for the CFU: rtl/cfu's Cfu.v (CFU bus) and CfuPcpi.v (PCPI) on cocotb + Icarus.

Every function id 0..1023 once (units, discovery, unknown ids) and 64 random operand words on
every unit, shuffled so latencies mix back to back, checked against the model; the benches in
sim/cocotb/tb_cfu.py also hold rsp_ready low for 40 cycles at a time, scramble the command
payload after every handshake, and reset the CFU with operations in flight.
"""

import dataclasses

import pytest
from test_cfu import RTL_CFU

from hwact.cfu.sim import load_cfu, run_protocol

pytestmark = pytest.mark.icarus


@pytest.mark.parametrize("top, tests", [("Cfu", 3), ("CfuPcpi", 3)])
def test_protocol_and_every_unit_against_the_model(tmp_path, top, tests):
    result = run_protocol(load_cfu(RTL_CFU), top, per_unit=64, work_dir=tmp_path)
    failing = [line for line in result["log"].splitlines() if "FAIL" in line or "Error" in line]
    assert result["tests"] == tests and result["failures"] == 0, failing[:5]
    assert result["commands"] == 1024 + 64 * len(load_cfu(RTL_CFU).ops)


def test_a_wrong_model_is_caught(tmp_path):
    """The bench can fail: the model claims another unknown_value than the hardware answers."""
    cfu = load_cfu(RTL_CFU)
    wrong = dataclasses.replace(cfu, description={**cfu.description, "unknown_value": 0x5A5A5A5A})
    result = run_protocol(wrong, "Cfu", per_unit=1, work_dir=tmp_path, testcase="bus_back_to_back")
    assert result["tests"] == 1 and result["failures"] == 1
