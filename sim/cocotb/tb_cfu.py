"""cocotb testbenches for the generated CFU: ``Cfu.v`` on the CFU bus, ``CfuPcpi.v`` on PCPI.

The pytest side (``tests/test_cfu_protocol.py``) writes the commands and the model's expected
responses to an ``.npz`` named by ``HWACT_CFU_VECTORS`` (arrays ``function_id``, ``rs1``,
``rs2``, ``expected``). Per cycle the bench changes inputs just after the falling edge and
reads the settled handshake in the read-only phase: what the next rising edge samples.

Bus rules checked (docs/isa.md): the command is captured in its handshake cycle (the
payload is scrambled right after it), the response is held while ``rsp_ready`` is low (long
low stretches included), responses arrive in command order whatever the units' latencies,
every function id answers, and a reset in the middle of operations leaves nothing behind.
"""

from __future__ import annotations

import os
import random

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

#: A response must come this many cycles after the last command at the latest.
TIMEOUT = 64


def _load():
    vectors = np.load(os.environ["HWACT_CFU_VECTORS"])
    return [tuple(int(v) for v in row) for row in zip(vectors["function_id"], vectors["rs1"], vectors["rs2"],
                                                        vectors["expected"])]


async def _start(dut, reset):
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    reset.value = 1
    await ClockCycles(dut.clk, 3)
    reset.value = 0


async def _run_bus(dut, commands, rng, idle, stall_every, stall_length):
    """Stream ``commands`` through the CFU bus; return the responses in arrival order.

    The payload changes right after every handshake (the next command, or random bits while
    ``cmd_valid`` is low), so a CFU that reads it later than the handshake cycle is caught.
    """
    sent = 0
    offering = False
    responses = []
    held = None
    stall = 0
    quiet = 0
    while len(responses) < len(commands):
        await FallingEdge(dut.clk)
        if not offering:
            if sent < len(commands) and rng.random() >= idle:
                offering = True
                fid, rs1, rs2, _ = commands[sent]
            else:
                fid, rs1, rs2 = rng.getrandbits(10), rng.getrandbits(32), rng.getrandbits(32)
            dut.cmd_payload_function_id.value = fid
            dut.cmd_payload_inputs_0.value = rs1
            dut.cmd_payload_inputs_1.value = rs2
        dut.cmd_valid.value = offering
        if stall:
            stall -= 1
        elif stall_every and rng.random() < 1 / stall_every:
            stall = stall_length
        taking = not stall and rng.random() >= idle
        dut.rsp_ready.value = taking
        await ReadOnly()
        quiet += 1
        assert quiet < TIMEOUT + 2 * stall_length, f"no response for {quiet} cycles ({len(responses)} received)"
        if dut.rsp_valid.value:
            value = int(dut.rsp_payload_outputs_0.value)
            assert held is None or value == held, "response changed while rsp_ready was low"
            if taking:
                responses.append(value)
                held = None
                quiet = 0
            else:
                held = value
        else:
            assert held is None, "response withdrawn before it was taken"
        if offering and dut.cmd_ready.value:
            sent += 1
            offering = False
    return responses


def _check(commands, responses):
    bad = [(i, c, r) for i, (c, r) in enumerate(zip(commands, responses)) if c[3] != r]
    assert not bad, (f"{len(bad)} of {len(commands)} responses differ from the model; first: command {bad[0][0]} "
                     f"function_id {bad[0][1][0]} rs1 {bad[0][1][1]:#010x} rs2 {bad[0][1][2]:#010x}: "
                     f"expected {bad[0][1][3]:#010x}, got {bad[0][2]:#010x}")


@cocotb.test()
async def bus_back_to_back(dut):
    """Every command at full rate, the response always taken: order across latencies."""
    commands = _load()
    dut.cmd_valid.value = 0
    dut.rsp_ready.value = 0
    await _start(dut, dut.reset)
    _check(commands, await _run_bus(dut, commands, random.Random(1), idle=0.0, stall_every=0, stall_length=0))


@cocotb.test()
async def bus_random_gaps_and_long_stalls(dut):
    """Random gaps on both sides and rsp_ready low for 40 cycles at a time; payload scrambled."""
    commands = _load()
    dut.cmd_valid.value = 0
    dut.rsp_ready.value = 0
    await _start(dut, dut.reset)
    _check(commands, await _run_bus(dut, commands, random.Random(2), idle=0.3, stall_every=50, stall_length=40))


@cocotb.test()
async def bus_reset_in_flight(dut):
    """Reset with commands in flight and a response waiting: afterwards nothing stale comes out."""
    commands = _load()
    rng = random.Random(3)
    dut.cmd_valid.value = 0
    dut.rsp_ready.value = 0
    await _start(dut, dut.reset)
    # Fill the pipelines with rsp_ready low.
    for fid, rs1, rs2, _ in commands[:8]:
        await FallingEdge(dut.clk)
        dut.cmd_payload_function_id.value = fid
        dut.cmd_payload_inputs_0.value, dut.cmd_payload_inputs_1.value = rs1, rs2
        dut.cmd_valid.value = 1
    await FallingEdge(dut.clk)
    dut.cmd_valid.value = 0
    await ClockCycles(dut.clk, 4)
    await FallingEdge(dut.clk)
    dut.reset.value = 1
    await FallingEdge(dut.clk)
    dut.reset.value = 0
    await ReadOnly()
    assert not dut.rsp_valid.value, "a response survived the reset"
    dut_rest = commands[8:200]
    _check(dut_rest, await _run_bus(dut, dut_rest, rng, idle=0.2, stall_every=30, stall_length=10))


async def _pcpi_issue(dut, insn, rs1, rs2, rng):
    """Drive one instruction the way PicoRV32 does; return (rd or None, cycles until ready)."""
    await FallingEdge(dut.clk)
    dut.pcpi_valid.value = 1
    dut.pcpi_insn.value = insn
    dut.pcpi_rs1.value = rs1
    dut.pcpi_rs2.value = rs2
    for cycle in range(1, 17):  # PicoRV32 traps an instruction nobody claims within 16 cycles
        await ReadOnly()
        if dut.pcpi_ready.value:
            assert dut.pcpi_wr.value, "pcpi_ready without pcpi_wr"
            rd = int(dut.pcpi_rd.value)
            await FallingEdge(dut.clk)
            dut.pcpi_valid.value = 0
            dut.pcpi_insn.value = rng.getrandbits(32)
            return rd, cycle
        waiting = bool(dut.pcpi_wait.value)
        await FallingEdge(dut.clk)
        if not waiting and cycle >= 3:
            break
    dut.pcpi_valid.value = 0
    return None, 0


def _insn(function_id, rng):
    """A custom-0 R-type instruction word with random register fields."""
    f3, f7 = function_id & 7, function_id >> 3
    return f7 << 25 | rng.getrandbits(5) << 20 | rng.getrandbits(5) << 15 | f3 << 12 | rng.getrandbits(5) << 7 | 0x0B


@cocotb.test()
async def pcpi_every_command(dut):
    """Every command as a PicoRV32 would issue it, answered once, in time, equal to the model."""
    commands = _load()
    rng = random.Random(4)
    dut.pcpi_valid.value = 0
    await _start(dut, dut.reset)
    slowest = 0
    responses = []
    for index, (fid, rs1, rs2, _) in enumerate(commands):
        rd, cycles = await _pcpi_issue(dut, _insn(fid, rng), rs1, rs2, rng)
        assert rd is not None, f"command {index} (function_id {fid}) was not answered"
        slowest = max(slowest, cycles)
        responses.append(rd)
        if rng.random() < 0.3:
            await ClockCycles(dut.clk, rng.randrange(1, 4))
    _check(commands, responses)
    assert slowest < 16, f"an answer took {slowest} cycles"
    dut._log.info(f"slowest answer: {slowest} cycles")


@cocotb.test()
async def pcpi_other_instructions_left_alone(dut):
    """Non-custom-0 instructions get neither pcpi_wait nor pcpi_ready (the core's MUL/DIV or trap)."""
    rng = random.Random(5)
    dut.pcpi_valid.value = 0
    await _start(dut, dut.reset)
    for opcode in (0x33, 0x2B, 0x5B, 0x7B, 0x13):
        await FallingEdge(dut.clk)
        dut.pcpi_valid.value = 1
        dut.pcpi_insn.value = rng.getrandbits(25) << 7 | opcode
        for _ in range(20):
            await ReadOnly()
            assert not dut.pcpi_ready.value and not dut.pcpi_wait.value, f"opcode {opcode:#x} was claimed"
            await FallingEdge(dut.clk)
        dut.pcpi_valid.value = 0


@cocotb.test()
async def pcpi_reset_in_flight(dut):
    """A reset while an instruction waits: the next instruction gets its own answer."""
    commands = _load()
    rng = random.Random(6)
    dut.pcpi_valid.value = 0
    await _start(dut, dut.reset)
    slow = max(commands, key=lambda c: c[0] % 1024)  # any command; it is cut off by the reset
    await FallingEdge(dut.clk)
    dut.pcpi_valid.value = 1
    dut.pcpi_insn.value = _insn(slow[0], rng)
    dut.pcpi_rs1.value, dut.pcpi_rs2.value = slow[1], slow[2]
    await FallingEdge(dut.clk)
    dut.reset.value = 1
    dut.pcpi_valid.value = 0
    await FallingEdge(dut.clk)
    dut.reset.value = 0
    await ReadOnly()
    assert not dut.pcpi_ready.value, "an answer survived the reset"
    responses = []
    for fid, rs1, rs2, _ in commands[:50]:
        rd, _ = await _pcpi_issue(dut, _insn(fid, rng), rs1, rs2, rng)
        responses.append(rd)
    _check(commands[:50], responses)
