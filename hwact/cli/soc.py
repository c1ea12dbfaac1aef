"""``hwact soc --board icebreaker|ulx3s -o DIR``: a board's SoC with the CFU, to a bitstream.

DIR receives ``cfu/`` (the CFU as ``hwact cfu`` writes it), ``firmware/`` (the proof firmware
built for the board), ``soc/`` (the yosys netlist, the nextpnr report and log), the bitstream
(``icebreaker.bin`` / ``ulx3s.bit``) and ``summary.md`` / ``summary.json`` (resources, Fmax,
timing margin; on the ECP5 also the same SoC with a stub CFU and the Fmax ratio). The work is
in :mod:`hwact.soc`.
"""

from __future__ import annotations

from pathlib import Path

from .options import add_output
from .progress import Progress

__all__ = ["COMMAND", "add_arguments", "add_parser", "run"]

COMMAND = "soc"


def add_arguments(parser) -> None:
    """The options of ``hwact soc``."""
    from ..soc import BOARDS

    parser.add_argument("--board", required=True, choices=sorted(BOARDS),
                        help="icebreaker: iCE40 UP5K, PicoRV32 + CfuPcpi, 12 MHz; "
                             "ulx3s: ECP5, VexRiscv_FullCfu + Cfu, 25 MHz")
    parser.add_argument("--config", type=Path, metavar="CONFIG.toml",
                        help="CFU units (default: the board's; the up5k configuration on the iCEBreaker, "
                             "the default CFU on the ULX3S)")
    parser.add_argument("--no-stub", action="store_true",
                        help="skip the second build with a stub CFU (the Fmax comparison; ULX3S)")
    add_output(parser, "the bitstream, the summary and every intermediate file")


def add_parser(commands) -> None:
    """Add the ``soc`` subcommand to the ``hwact`` parser."""
    parser = commands.add_parser(COMMAND, help="build a board's SoC with the CFU to a bitstream (yowasp tools)",
                                 description="Build the CFU, the proof firmware and a whole SoC for an FPGA "
                                             "board, then synthesize, place and route and pack it to a bitstream; "
                                             "write summary.md and summary.json (resources, Fmax, timing margin).")
    add_arguments(parser)


def run(args) -> int:
    """Run ``hwact soc``; print the summary's headline figures."""
    from ..soc import board as find_board
    from ..soc import default_config
    from ..soc.flow import build_board

    board = find_board(args.board)
    config = args.config if args.config is not None else default_config(board)
    if config is not None and not Path(config).is_file():
        raise ValueError(f"no CFU configuration at {config}")
    with Progress(f"building the {board.name} SoC") as progress:
        summary = build_board(board, config, args.output, compare_stub=False if args.no_stub else None,
                              progress=progress)
    failed = False
    for build in summary["builds"]:
        pnr = build["pnr"]
        if not pnr["placed"]:
            print(f"  {build['name']}: does not place ({pnr['error']})")
            failed = True
            continue
        used = ", ".join(f"{name} {use['used']}/{use['available']}" for name, use in pnr["utilization"].items()
                         if name in ("ICESTORM_LC", "ICESTORM_RAM", "ICESTORM_SPRAM", "ICESTORM_DSP",
                                     "TRELLIS_COMB", "TRELLIS_FF", "DP16KD", "MULT18X18D"))
        print(f"  {build['name']}: Fmax {pnr['fmax_mhz']} MHz (clock {pnr['target_mhz']:g} MHz, "
              f"margin {pnr['margin_percent']} %); {used}")
        failed |= not pnr["timing_met"]
    if "fmax_ratio" in summary:
        print(f"  Fmax ratio with / without the CFU: {summary['fmax_ratio']:.3f}")
    print(f"{board.name}: {summary['bitstream'] or 'no bitstream'}, summary.md and summary.json in {args.output}")
    return 1 if failed else 0
