"""``hwact cfu [CONFIG.toml] -o DIR``: build a CFU and write all its files, all or nothing."""

from __future__ import annotations

from pathlib import Path

from .options import add_output
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "cfu"


def add_parser(commands) -> None:
    """Add the ``cfu`` subcommand to the ``hwact`` parser."""
    parser = commands.add_parser(
        COMMAND, help="build a RISC-V CFU (Cfu.v, CfuPcpi.v, hwact_cfu.h, isa.md, cfu.json, units)",
        description="Build the units of CONFIG (default: the embedded default CFU) behind the VexRiscv "
                    "CfuPlugin bus (Cfu.v) and PicoRV32's PCPI (CfuPcpi.v), with C intrinsics and their "
                    "bit-exact fallback (hwact_cfu.h), an ISA table (isa.md) and cfu.json. "
                    "`hwact sim DIR/cfu.json` proves it on both cores.")
    parser.add_argument("config", nargs="?", type=Path, metavar="CONFIG.toml",
                        help="units to build: a TOML file, or an embedded configuration by name (default, up5k)")
    add_output(parser, "Cfu.v, CfuPcpi.v, hwact_cfu.h, isa.md, cfu.json and the units")


def run(args) -> int:
    """Run ``hwact cfu``; print one line per unit and the files written."""
    from ..cfu.build import build_and_write
    from ..functions import describe

    with Progress(f"building the CFU of {args.config or 'the default configuration'}") as progress:
        built, written = build_and_write(args.config, args.output, progress)
    for op in built.ops:
        manifest = built.manifests[op.name]
        error = manifest["error"]
        print(f"  {op.function_id:4d}  {op.name:<22} {describe(op.plan.function, op.plan.params)} {op.plan.in_fmt} -> "
              f"{op.plan.out_fmt}, {op.lanes} lane(s), latency {op.latency}, max error {error['max_lsb']:.3g} LSB")
    print(f"CFU with {len(built.ops)} units; discovery id {built.config.discovery_id} -> "
          f"0x{built.discovery_value:08x}; {len(written)} files in {args.output}")
    return 0

