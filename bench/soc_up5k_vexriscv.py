"""Benchmark: does VexRiscv_FullCfu with the UP5K's CFU fit an iCE40 UP5K? (issue 17, item 3)

The ULX3S SoC top (sim/fpga/ulx3s_soc.v: VexRiscv_FullCfu + Cfu + block-RAM memory + the UART
console) synthesized with synth_ice40 for the UP5K, its memory cut to RAM_WORDS words (the
part has 30 SB_RAM40_4K and VexRiscv's caches take 24 of them), the CFU the iCEBreaker SoC
carries (hwact.soc.default_config), then nextpnr-ice40 --up5k: what it asks for against what
the part has, and by how much it misses. Prints a table, writes bench/results/soc_up5k_vexriscv.json.

    python bench/soc_up5k_vexriscv.py [--ram-words N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from hwact.cfu.build import build_and_write
from hwact.soc import BOARDS, default_config
from hwact.soc.flow import place_and_route, soc_sources, synthesize_soc
from hwact.synth import tool_versions

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ram-words", type=int, default=256, help="words of RAM (default 256: 1 KiB)")
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    args = parser.parse_args()
    up5k = BOARDS["icebreaker"]
    # The UP5K part and tools with the ECP5 SoC's top, core and CFU bus; pins left to nextpnr.
    board = dataclasses.replace(up5k, top="ulx3s_soc", core="vexriscv", cfu_file="Cfu.v", memory_param="RAM_WORDS",
                                memory_words=args.ram_words, link_script=None, constraints="none.pcf")
    work = args.keep or Path(tempfile.mkdtemp(prefix="hwact-up5k-vex-"))
    try:
        config = default_config(up5k)
        build_and_write(config, work / "cfu")
        (work / "empty.hex").write_text("00000000\n")
        progress = None
        cells = synthesize_soc(board, soc_sources(board, work / "cfu"), work / "empty.hex", work / "soc",
                               progress=progress)
        (work / "soc" / "none.pcf").write_text("")
        pnr = place_and_route(board, work / "soc", progress=progress, label=" (VexRiscv + CFU on the UP5K)",
                              extra=("--pcf-allow-unconstrained",))
        result = {"config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
                  "ram_words": args.ram_words, "cells": cells, "pnr": pnr, "tools": tool_versions()}
        print(f"VexRiscv_FullCfu + CFU ({result['config']}) on the iCE40 UP5K, {args.ram_words} words of RAM:")
        print(f"  placed: {pnr['placed']}" + (f" ({pnr.get('error')})" if not pnr["placed"] else ""))
        print(f"  {'resource':<16} {'used':>6} {'available':>9} {'over by':>8}")
        for name, use in pnr["utilization"].items():
            over = use["used"] - use["available"]
            print(f"  {name:<16} {use['used']:>6} {use['available']:>9} {over if over > 0 else '':>8}")
        print(f"  SB_LUT4 {cells.get('SB_LUT4', 0)}, SB_CARRY {cells.get('SB_CARRY', 0)}, "
              f"SB_RAM40_4K {cells.get('SB_RAM40_4K', 0)}, SB_MAC16 {cells.get('SB_MAC16', 0)}")
        out = ROOT / "bench" / "results" / "soc_up5k_vexriscv.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
