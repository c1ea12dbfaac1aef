"""``hwact cfu [CONFIG.toml] -o DIR``: build a CFU and write all its files, all or nothing."""

from __future__ import annotations

from pathlib import Path

__all__ = ["COMMAND", "add_parser", "build_and_write", "run"]

COMMAND = "cfu"


def add_parser(commands) -> None:
    """Add the ``cfu`` subcommand to the ``hwact`` parser."""
    parser = commands.add_parser(
        COMMAND, help="build a RISC-V CFU (Cfu.v, CfuPcpi.v, hwact_cfu.h, isa.md, cfu.json, units)",
        description="Build the units of CONFIG (default: the embedded default CFU) behind the VexRiscv "
                    "CfuPlugin bus (Cfu.v) and PicoRV32's PCPI (CfuPcpi.v), with C intrinsics and their "
                    "bit-exact fallback (hwact_cfu.h), an ISA table (isa.md) and cfu.json.")
    parser.add_argument("config", nargs="?", type=Path, metavar="CONFIG.toml",
                        help="units to build: a TOML file, or an embedded configuration by name "
                             "(default, up5k; default: the embedded default)")
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="DIR",
                        help="directory for Cfu.v, CfuPcpi.v, hwact_cfu.h, isa.md, cfu.json and the units")
    parser.add_argument("--target", choices=("ice40", "ecp5", "generic"),
                        help="the FPGA cfu.json records and the summary counts DSP blocks and block RAM for "
                             "(default: the configuration's `target`, else generic)")


def build_and_write(config_path: Path | None, output: Path, target: str | None = None):
    """Build the CFU of ``config_path`` (None: the default) and write it into ``output``.

    ``target`` replaces the configuration's own ``target`` key when given.
    """
    import dataclasses

    from ..artifacts import write_files
    from .build import build_cfu
    from .config import load_config

    config = load_config(config_path)
    if target is not None:
        config = dataclasses.replace(config, target=target)
    built = build_cfu(config)
    return built, write_files(output, built.files)


def run(args) -> int:
    """Run ``hwact cfu``; print one line per unit and the files written."""
    from .build import op_resources

    built, written = build_and_write(args.config, args.output, getattr(args, "target", None))
    target = built.config.target
    for op in built.ops:
        error = built.manifests[op.name]["error"]
        print(f"  {op.function_id:4d}  {op.name:<22} {op.plan.function} {op.plan.in_fmt} -> {op.plan.out_fmt}, "
              f"{op.lanes} lane(s){' serial' if op.serial else ''}, latency {op.latency}, "
              f"max error {error['max_lsb']:.3g} LSB")
    print(f"CFU with {len(built.ops)} units; discovery id {built.config.discovery_id} -> "
          f"0x{built.discovery_value:08x}; {len(written)} files in {args.output}")
    if target != "generic":
        dsp = sum(op_resources(op, target)["dsp"] for op in built.ops)
        bram = sum(op_resources(op, target)["block_ram"] for op in built.ops)
        print(f"{target} estimate (hwact/cost.py): {dsp} DSP blocks, {bram} block RAMs")
    return 0
