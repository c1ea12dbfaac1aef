"""What ``hwact cfu`` produces: ``Cfu.v``, ``CfuPcpi.v``, ``hwact_cfu.h``, ``isa.md``, ``cfu.json``,
``amaranth.vlt`` and every unit's own files, built in memory (written all or nothing by the caller).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .. import __version__
from ..artifacts import build_unit
from ..cost import plan_cost
from ..functions import describe
from ..hdl.export import to_verilog
from ..hdl.shared import shared_resources
from ..layout import transfer_layout
from ..plan import Plan
from ..requant import PerChannel, check_fusable, fused_error, requant_from_dict
from .config import CfuConfig, split_function_id
from .core import Cfu, CfuOp, CfuPcpi, discovery_word, group_name, shared_groups
from .header import cfu_header

__all__ = ["CfuBuild", "build_and_write", "build_cfu", "cfu_json", "isa_markdown", "ops_from_cfu_json"]


@dataclass(frozen=True)
class CfuBuild:
    """A built CFU: the ops (plans included), the unit manifests and every file's text."""

    config: CfuConfig
    ops: tuple[CfuOp, ...]
    manifests: dict[str, dict[str, Any]]
    files: dict[str, str]

    @property
    def discovery_value(self) -> int:
        return discovery_word(len(self.ops))


def op_resources(op: CfuOp, target: str) -> dict[str, int]:
    """DSP blocks and block RAMs of the op's own datapath on ``target`` (hwact.cost's estimate);
    none for an op on a shared datapath (:func:`group_resources` counts those)."""
    if op.shared is not None:
        return {"dsp": 0, "block_ram": 0}
    cost = plan_cost(op.plan)
    lanes = 1 if op.serial else op.lanes
    return {"dsp": cost.dsp_blocks(target, lanes * op.plan.outputs),
            "block_ram": cost.block_rams(target, lanes * op.plan.outputs, registered=op.stages > 0)}


def group_resources(ops: tuple[CfuOp, ...], members: list[int], target: str) -> dict[str, int]:
    """DSP blocks and block RAMs of one shared datapath (hwact.cost's estimate)."""
    first = ops[members[0]]
    return shared_resources([ops[i].plan for i in members], first.lanes, first.serial, target)


def cfu_json(config: CfuConfig, ops: tuple[CfuOp, ...]) -> dict[str, Any]:
    """The machine-readable description of the CFU (docs/isa.md)."""
    groups = shared_groups(ops)
    shared = [{
        "name": group_name(ops[members[0]]),
        "kind": ops[members[0]].shared,
        "units": [ops[i].name for i in members],
        "lanes": ops[members[0]].lanes,
        "serial": ops[members[0]].serial,
        "stages": ops[members[0]].pipeline_stages,
        "resources": {target: group_resources(ops, members, target) for target in ("ice40", "ecp5")},
    } for members in groups.values()]
    return {
        "units": [{
            "name": op.name,
            "function_id": op.function_id,
            "funct3": op.funct3,
            "funct7": op.funct7,
            "lanes": op.lanes,
            "stages": op.stages,
            "serial": op.serial,
            "shared": None if op.shared is None else group_name(op),
            "latency": op.latency,
            "interval": op.interval,
            "throughput": round(1 / op.interval, 6),
            "resources": {target: op_resources(op, target) for target in ("ice40", "ecp5")},
            "manifest": f"{op.name}.json",
            **({"requant": op.requant.to_dict()} if op.requant is not None else {}),
        } for op in ops],
        "discovery": {"function_id": config.discovery_id, "value": discovery_word(len(ops))},
        "unknown_value": config.unknown_value,
        "target": config.target,
        "shared": shared,
        "resources": {target: {key: sum(op_resources(op, target)[key] for op in ops)
                               + sum(group["resources"][target][key] for group in shared)
                               for key in ("dsp", "block_ram")} for target in ("ice40", "ecp5")},
    }


def ops_from_cfu_json(data: dict[str, Any], manifests: dict[str, dict[str, Any]]) -> tuple[CfuOp, ...]:
    """Rebuild the ops from ``cfu.json`` and the unit manifests (no planning needed)."""
    ops = []
    for unit in data["units"]:
        manifest = manifests[unit["name"]]
        requant = unit.get("requant")
        ops.append(CfuOp(unit["function_id"], unit["name"], Plan.from_dict(manifest["plan"]),
                         manifest["lanes"], manifest["stages"], None if requant is None else requant_from_dict(requant),
                         serial=bool(unit.get("serial", False)), share=unit.get("shared") is not None))
    return tuple(ops)


def _formats(op: CfuOp) -> str:
    """``s4.4 → s4.4``, or for two operands which register carries which (hwact.layout)."""
    plan = op.plan
    if isinstance(op.requant, PerChannel):
        requant = f"requant (rs2: channel, {len(op.requant.channels)} per-channel multipliers and shifts)"
        return f"rs1: int32 accumulator → {requant} → {plan.in_fmt} → {plan.out_fmt}"
    if op.requant is not None:
        requant = f"requant ({op.requant.multiplier}, {op.requant.shift})"
        return f"rs1: int32 accumulator → {requant} → {plan.in_fmt} → {plan.out_fmt}"
    if plan.operand_fmt is None:
        return f"{plan.in_fmt} → {plan.out_fmt}"
    layout = transfer_layout(plan, op.lanes)
    registers = ", ".join(
        f"{group.register}: {'x' if group.name == 'x' else 'a'} {group.fmt}" for group in layout.inputs
    )
    return f"{registers} → {plan.out_fmt}"


def isa_markdown(config: CfuConfig, ops: tuple[CfuOp, ...], manifests: dict[str, dict[str, Any]]) -> str:
    """``isa.md``: one row per instruction, then the discovery word and unknown ids."""
    lines = [
        "# CFU instruction set",
        "",
        f"Generated by hwact {__version__}. Every op is an R-type instruction on custom-0 (opcode 0x0B):",
        "`.insn r CUSTOM_0, funct3, funct7, rd, rs1, rs2`, with `function_id = funct7 << 3 | funct3`.",
        "rs1 holds the input lanes and rs2 the second operand's lanes (PReLU's slope, the GLU family's",
        "factor a in glu(a, x) = a·σ(x), whose gate input x is in rs1), lane 0 in the lowest bits.",
        "rd receives the output lanes, lane 0 lowest, unused high bits zero.",
        "Latency counts cycles from the command handshake to the response on the CFU bus. Interval",
        "counts cycles between commands to one unit back to back while responses are taken every cycle:",
        "1 for a unit with a datapath per lane; a serial unit (one lane of datapath, fed one lane per",
        "cycle) takes a command every `interval` cycles. A command for a combinational unit, the",
        "discovery id or an unknown id waits until older commands have answered.",
        "Datapath `own` is the unit's own pipeline; `shared_table_...` and `shared_horner_...` are one",
        "datapath shared by every unit naming it (one ROM by (unit, code), or one Horner pipeline whose",
        "coefficients are addressed by (unit, segment)): a unit answers as its own plan, with the shared",
        "datapath's stages; commands to its units may follow each other back to back in any mix.",
        "",
        "| function_id | funct3 | funct7 | mnemonic | function | lanes | formats | latency | interval "
        "| datapath | max error (LSB) | correctly rounded |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for op in ops:
        error = manifests[op.name].get("requant_error", manifests[op.name]["error"])
        lines.append(
            f"| {op.function_id} | {op.funct3} | {op.funct7} | `hwact.{op.name}` | "
            f"{describe(op.plan.function, op.plan.params)} | {op.lanes} | {_formats(op)} | {op.latency} | "
            f"{op.interval} | {'own' if op.shared is None else f'`{group_name(op)}`'} | "
            f"{error['max_lsb']:.3f} | {100 * error['correctly_rounded_fraction']:.1f} % |"
        )
    if any(op.requant is not None for op in ops):
        lines += [
            "",
            "**Fused requantize + activation ops** (formats starting `rs1: int32 accumulator`): rs1 is a TFLite "
            "int32 accumulator (bias included); the op applies TFLite's `MultiplyByQuantizedMultiplier` with the "
            "listed multiplier and shift, adds the input format's zero point, saturates to its codes, then the "
            "activation; rs2 is ignored, except by a per-channel op (`rs2: channel`), whose multiplier and shift "
            "are those of channel rs2 (its low bits; the table is padded to a power of two with multiplier 0, so a "
            "channel past the last requantizes to the zero point). rd holds the output code's value as a 32-bit "
            "integer (sign-extended "
            "for a signed output). Their error column is against the exact real value act(acc × real scale), "
            "the requantization's own rounding to the int8 grid included (hwact.requant.fused_error).",
        ]
    word = discovery_word(len(ops))
    discovery_f3, discovery_f7 = split_function_id(config.discovery_id)
    lines += [
        "",
        (
            f"**Discovery**: function_id {config.discovery_id} (funct3 {discovery_f3}, funct7 "
            f'{discovery_f7}) returns `0x{word:08x}`: magic `0x{word >> 16:04x}` ("HW") in bits 31..16, '
            f"version {(word >> 8) & 0xFF} in bits 15..8, {len(ops)} units in bits 7..0."
        ),
        "",
        (
            f"**Unknown ids**: every other function_id answers `0x{config.unknown_value:08x}` after one cycle; "
            "nothing hangs and no state changes."
        ),
        "",
        "**Fallback**: `hwact_cfu.h` compiled with `-DHWACT_SOFTWARE` computes the same bits in C.",
        "",
    ]
    return "\n".join(lines)


def build_cfu(config: CfuConfig, progress: Callable[[str], None] | None = None) -> CfuBuild:
    """Plan, build and measure every unit of ``config``; return every file's text, unwritten.

    A unit that cannot be built is a ``ValueError`` naming the configuration and the unit;
    ``progress`` (if given) hears of each unit before it is planned.
    """
    files: dict[str, str] = {}
    manifests: dict[str, dict[str, Any]] = {}
    ops = []
    for index, unit in enumerate(config.units):
        if progress:
            progress(f"unit {index + 1}/{len(config.units)}: {unit.name}")
        try:
            unit_files = dict(build_unit(unit.spec))
        except ValueError as error:  # formats, parameters, lanes, an unreachable budget
            raise ValueError(f"{config.source}: unit {unit.name!r}: {error}") from None
        manifest = json.loads(unit_files[f"{unit.name}.json"])
        plan = Plan.from_dict(manifest["plan"])
        if unit.requant is not None:  # a fused op: its manifest states the requantization and its error
            try:
                check_fusable(plan, unit.spec.lanes)
            except ValueError as error:
                raise ValueError(f"{config.source}: unit {unit.name!r}: {error}") from None
            manifest["requant"] = unit.requant.to_dict()
            manifest["requant_error"] = fused_error(plan, unit.requant)
            unit_files[f"{unit.name}.json"] = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        manifests[unit.name] = manifest
        files.update(unit_files)
        ops.append(CfuOp(unit.function_id, unit.name, plan, unit.spec.lanes, unit.spec.stages, unit.requant,
                         serial=unit.serial, share=config.share))
    ops_t = tuple(ops)
    return CfuBuild(config, ops_t, manifests, {**files, **cfu_files(config, ops_t, manifests)})


def cfu_files(config: CfuConfig, ops: tuple[CfuOp, ...], manifests: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The CFU's own files (not the units'): Verilog, header, ISA table and ``cfu.json``."""
    kwargs = {"discovery_id": config.discovery_id, "unknown_value": config.unknown_value}
    return {
        "Cfu.v": to_verilog(Cfu(ops, **kwargs), "Cfu", reset="reset"),
        "CfuPcpi.v": to_verilog(CfuPcpi(ops, **kwargs), "CfuPcpi", reset="reset"),
        "hwact_cfu.h": cfu_header(config, ops, manifests),
        "isa.md": isa_markdown(config, ops, manifests),
        "cfu.json": json.dumps(cfu_json(config, ops), indent=2, sort_keys=True) + "\n",
        # The Verilator waivers for Yosys idioms, beside the Verilog they apply to, so a user's
        # `verilator --lint-only -Wall amaranth.vlt Cfu.v` is as clean as hwact's own lint test.
        "amaranth.vlt": resources.files("hwact.verify").joinpath("amaranth.vlt").read_text(),
    }


def build_and_write(config_path: Path | str | None, output: Path | str,
                    progress: Callable[[str], None] | None = None) -> tuple[CfuBuild, list[Path]]:
    """Build the CFU of the configuration file ``config_path`` (None: the embedded default) and
    write every file into ``output``, all or nothing; return the build and the paths written."""
    from ..artifacts import write_files
    from .config import load_config
    from .fusesoc import core_files

    built = build_cfu(load_config(config_path), progress)
    return built, write_files(Path(output), {**built.files, **core_files(built)})  # + the FuseSoC kit
