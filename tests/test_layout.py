"""hwact.layout: the one packing of a transfer, and the HDL payload built from it."""

import numpy as np
import pytest

from hwact.approx import make_plan
from hwact.hdl import payload_layout
from hwact.layout import (
    pack_inputs,
    pack_outputs,
    payload_words,
    transfer_layout,
    unpack_inputs,
    unpack_outputs,
)
from hwact.model import evaluate

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def plans():
    return {name: make_plan(name, "s4.4", "s4.4") for name in ("relu", "prelu", "glu", "crelu", "maxout")}


def test_one_operand_lanes_sit_lowest_first(plans):
    rs1, rs2 = pack_inputs(plans["relu"], 4, [1, -1, 0x7F, -128])
    assert rs1.tolist() == [0x807FFF01] and rs2.tolist() == [0]
    assert rs1.dtype == np.uint32


def test_prelu_has_x_in_rs1_and_the_slope_in_rs2(plans):
    layout = transfer_layout(plans["prelu"], 2)
    assert [(g.name, g.register, g.payload_offset) for g in layout.inputs] == [("x", "rs1", 0), ("a", "rs2", 16)]
    rs1, rs2 = pack_inputs(plans["prelu"], 2, [1, 2], [3, -4])
    assert (rs1.tolist(), rs2.tolist()) == ([0x0201], [0xFC03])
    assert payload_words(plans["prelu"], 2, [1, 2], [3, -4]).tolist() == [0xFC030201]


def test_gated_units_have_the_gate_input_in_rs1_and_the_factor_in_rs2(plans):
    # Issue 9: rs1 carries the plan's input lanes, rs2 the operand lanes (the GLU family's factor a).
    layout = transfer_layout(plans["glu"], 4)
    assert [(g.name, g.register, g.payload_offset) for g in layout.inputs] == [("x", "rs1", 0), ("a", "rs2", 32)]
    rs1, rs2 = pack_inputs(plans["glu"], 1, x=[5], a=[-2])
    assert (rs1.tolist(), rs2.tolist()) == ([0x05], [0xFE])


def test_crelu_has_two_outputs_per_lane(plans):
    plan = plans["crelu"]
    x = np.arange(-128, 128)
    y = evaluate(plan, x)
    words = pack_outputs(plan, 2, y)
    assert transfer_layout(plan, 2).output.count == 4
    assert int(words[0]) == (int(y[0, 0]) & 0xFF) | (int(y[0, 1]) & 0xFF) << 8 | (int(y[1, 0]) & 0xFF) << 16 \
        | (int(y[1, 1]) & 0xFF) << 24
    np.testing.assert_array_equal(unpack_outputs(plan, 2, words), y)


@pytest.mark.parametrize("name", ["relu", "prelu", "glu", "maxout"])
def test_pack_and_unpack_are_inverse_on_every_code(plans, name):
    plan = plans[name]
    x = np.repeat(np.arange(-128, 128), 4)
    a = None if plan.operand_fmt is None else np.tile(np.arange(-128, 128), 4)
    rs1, rs2 = pack_inputs(plan, 4, x, a)
    back_x, back_a = unpack_inputs(plan, 4, rs1, rs2)
    np.testing.assert_array_equal(back_x, x)
    if a is not None:
        np.testing.assert_array_equal(back_a, a)


@pytest.mark.parametrize("name", ["relu", "prelu", "glu", "crelu"])
def test_hdl_payload_is_the_layout(plans, name):
    plan = plans[name]
    layout = transfer_layout(plan, 2)
    shape = payload_layout(plan, 2)
    assert shape.size == layout.payload_bits
    if plan.operand_fmt is not None:
        assert {n: f.offset for n, f in shape} == {g.name: g.payload_offset for g in layout.inputs}


def test_bad_input_is_refused_in_one_line(plans):
    with pytest.raises(ValueError, match="lane count must be one of 1, 2, 4, not 3"):
        transfer_layout(plans["relu"], 3)
    with pytest.raises(ValueError, match="do not fit a 32-bit register"):
        transfer_layout(make_plan("relu", "s4.12", "s4.12"), 4)
    with pytest.raises(ValueError, match="do not fill whole transfers"):
        pack_inputs(plans["relu"], 4, [1, 2, 3])
    with pytest.raises(ValueError, match=r"must lie in -128\.\.127"):
        pack_inputs(plans["relu"], 1, [128])
    with pytest.raises(ValueError, match="takes 2 operand"):
        pack_inputs(plans["prelu"], 1, [1])
