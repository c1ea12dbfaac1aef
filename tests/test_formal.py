"""Formal tier: the CFU bus contract proven by bounded model checking (SymbiYosys, PyPI builds).

The proof runs on a generated CFU with three exact units of latencies 1, 2 and 4 behind
non-contiguous function ids, the discovery id and a non-zero unknown-id word: the bus logic
(command register, order FIFO, direct ops, response mux) is the same for every config, and
these units keep the solver's work to the protocol rather than to multipliers. A planted
ordering bug in the generated Verilog must make the proof fail.
"""

import re
from pathlib import Path

import pytest

from hwact.cfu.build import build_and_write
from hwact.verify.formal import prove_bus

pytestmark = pytest.mark.formal

CONFIG = """\
discovery_id = 1023
unknown_value = 0xDEADBEEF

[[unit]]
name = "relu6_int8x4"
function = "relu6"
in_format = "s4.4"
out_format = "s4.4"
lanes = 4
stages = 0
function_id = 0

[[unit]]
name = "hardtanh_q12x2"
function = "hardtanh"
in_format = "s4.12"
out_format = "s4.12"
lanes = 2
stages = 1
function_id = 9

[[unit]]
name = "relu_int8x4"
function = "relu"
in_format = "s4.4"
out_format = "s4.4"
lanes = 4
stages = 3
function_id = 130
"""
#: Two fills of the deepest pipeline (latency 5: command register, 3 stages, response register), with stalls.
DEPTH = 12


@pytest.fixture(scope="module")
def small_cfu(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formal")
    (root / "small.toml").write_text(CONFIG)
    build_and_write(root / "small.toml", root / "cfu")
    return root / "cfu"


def test_the_bus_contract_holds(small_cfu, tmp_path):
    results = prove_bus(small_cfu, depth=DEPTH, work=tmp_path)
    assert [(r.task, r.status) for r in results] == [("safety", "PASS"), ("liveness", "PASS")], results[0].log


def test_a_direct_op_that_overtakes_the_pipeline_is_caught(small_cfu, tmp_path):
    """A direct op (relu6 at stages 0, discovery, unknown ids) answers from the command register
    only when nothing is in flight; without that guard its response overtakes an earlier
    command's, and the proof must find the trace."""
    broken = tmp_path / "broken"
    broken.mkdir()
    for source in small_cfu.iterdir():
        (broken / source.name).write_bytes(source.read_bytes())
    verilog = (broken / "Cfu.v").read_text()
    planted, count = re.subn(r"assign direct = empty & ", "assign direct = ", verilog)
    assert count == 1, "the guard to remove is no longer written this way: update the planted bug"
    (broken / "Cfu.v").write_text(planted)
    results = prove_bus(broken, depth=DEPTH, tasks=("safety",), work=tmp_path)
    assert results[0].status == "FAIL"
