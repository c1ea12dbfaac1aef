"""The CFU in LiteX: litex_sim (VexRiscv full+cfu, Verilator) with hwact's Cfu.v runs the board proof.

LiteX (2024.12 from PyPI) takes ``Cfu.v`` on VexRiscv's CfuPlugin bus (``--cpu-variant full+cfu
--cpu-cfu Cfu.v``). This script builds the board proof (hwact.soc.board_proof: every unit's edge
and random codes as commands, the discovery id, an id without a unit, the model's answers stored
beside them) as a program for litex_sim's main RAM (``sim/litex``), builds and runs litex_sim
with it (the BIOS boots it from RAM), reads the answers from the simulated UART, and checks them
against the model on the host too. Prints the result, writes bench/results/litex_sim.json.

LiteX is not one of hwact's dependencies: ``--python`` names an interpreter that has it (and
what litex_sim needs beside it: ``litescope``, ``pythondata-misc-tapcfg``,
``pythondata-software-picolibc``, ``pythondata-software-compiler_rt``, ``pythondata-cpu-vexriscv``,
``meson``, ``ninja``; Debian's ``verilator``, ``libevent-dev``, ``libjson-c-dev``; docs/fpga.md).

    python bench/litex_sim.py --python /path/to/litex-venv/bin/python [--cfu rtl/cfu] [--work DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hwact.cfu.firmware import compile_firmware
from hwact.cfu.sim import load_cfu
from hwact.soc.board_proof import board_commands, write_sources

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "litex_sim.json"
LITEX = ROOT / "sim" / "litex"
# -O0: the Verilator model builds in minutes (at litex_sim's default -O3 it took more than 25 on
# this 2-core machine) and still runs the proof in under a minute.
SOC_ARGS = ("--cpu-type", "vexriscv", "--cpu-variant", "full+cfu", "--integrated-main-ram-size", "0x10000",
            "--opt-level", "O0")


def litex_sim(python: str, work: Path, cfu_file: Path, *extra: str) -> subprocess.Popen:
    """Start ``litex_sim`` (build, then run) in ``work``; its output is a pipe, its stdin one too."""
    command = [python, "-m", "litex.tools.litex_sim", *SOC_ARGS, "--cpu-cfu", str(cfu_file), *extra]
    env = {**os.environ, "PATH": f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen(command, cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace", env=env, start_new_session=True)


def build_program(cfu, commands: dict, csr: Path, work: Path) -> Path:
    """The board proof as a main-RAM program for the SoC whose CSR map is ``csr`` (its csr.csv)."""
    data = write_sources(cfu, commands, work)
    registers = {row[1]: int(row[2], 16) for row in csv.reader(csr.open()) if row and row[0] == "csr_register"}
    defines = (f"-DUART_RXTX_ADDR={registers['uart_rxtx']:#x}u", f"-DUART_TXFULL_ADDR={registers['uart_txfull']:#x}u")
    compile_firmware(cfu.directory, work, main=LITEX / "main.c", extra_sources=(data,), defines=defines,
                     link_script=LITEX / "link.ld", array_sources=False, startup=LITEX / "crt0.S")
    return work / "firmware.bin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="a Python interpreter with LiteX installed")
    parser.add_argument("--cfu", type=Path, default=ROOT / "rtl" / "cfu", help="a directory hwact cfu wrote")
    parser.add_argument("--work", type=Path, help="build folder (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the build and the run")
    args = parser.parse_args()
    cfu = load_cfu(args.cfu)
    work = args.work or Path(tempfile.mkdtemp(prefix="hwact-litex-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    # 1. The SoC's CSR map, without building anything (the UART's registers for the program).
    map_only = litex_sim(args.python, work, args.cfu / "Cfu.v", "--no-compile")
    output, _ = map_only.communicate(timeout=args.timeout)
    csr = work / "build" / "sim" / "csr.csv"
    if map_only.returncode or not csr.exists():
        print(output[-2000:], file=sys.stderr)
        raise SystemExit("litex_sim did not write the CSR map")
    commands = board_commands(cfu)
    program = build_program(cfu, commands, csr, work)

    # 2. Build the SoC with the program in main RAM and run it until the program's last line.
    sim = litex_sim(args.python, work, args.cfu / "Cfu.v", "--ram-init", str(program), "--non-interactive")
    lines: list[str] = []
    status = None
    try:
        for line in sim.stdout:
            lines.append(line.rstrip("\r\n"))
            if lines[-1].startswith("=") and ">" in lines:
                status = int(lines[-1][1:3], 16)
                break
            if time.monotonic() - started > args.timeout:
                break
    finally:
        os.killpg(sim.pid, signal.SIGTERM)
        sim.wait()
    if status is None:
        print("\n".join(lines[-40:]), file=sys.stderr)
        raise SystemExit("litex_sim ended before the program's last line")
    answers = np.array([int(word, 16) for word in lines[lines.index(">") + 1:-1]], dtype=np.uint64)
    differing = np.nonzero(answers != commands["expected"])[0] if answers.size == commands["expected"].size else None
    result = {
        "cfu": str(args.cfu), "units": len(cfu.ops), "commands": int(commands["expected"].size),
        "answers": int(answers.size), "firmware_status": status,
        "differing_on_host": None if differing is None else int(differing.size),
        "passed": status == 0 and differing is not None and differing.size == 0,
        "seconds": round(time.monotonic() - started, 1),
        "litex": subprocess.run([args.python, "-c", "import importlib.metadata as m; print(m.version('litex'))"],
                                capture_output=True, text=True).stdout.strip(),
    }
    print(json.dumps(result, indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
