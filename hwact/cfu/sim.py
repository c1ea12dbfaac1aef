"""Simulation glue for the CFU: the model's answer to any command, protocol runs on Icarus, and
firmware runs on VexRiscv and PicoRV32 (the SoC wrappers, crt0 and firmware live in ``sim/``).

Nothing here plans: a built CFU directory (``cfu.json`` and the unit manifests, as ``hwact cfu``
writes them and ``rtl/cfu/`` holds them) says everything the model needs.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..layout import pack_outputs, unpack_inputs
from ..model import evaluate
from ..resources import sim_dir
from .build import ops_from_cfu_json
from .core import CfuOp

__all__ = ["SIM_DIR", "LoadedCfu", "edge_codes", "load_cfu", "protocol_vectors", "response", "run_protocol"]

#: The top-level ``sim/`` directory of the repository (SoC wrappers, firmware, cocotb benches).
SIM_DIR = sim_dir()


@dataclass(frozen=True)
class LoadedCfu:
    """A built CFU read back from its directory."""

    directory: Path
    description: dict[str, Any]
    ops: tuple[CfuOp, ...]
    manifests: dict[str, dict[str, Any]]

    @property
    def discovery_id(self) -> int:
        return self.description["discovery"]["function_id"]

    @property
    def discovery_value(self) -> int:
        return self.description["discovery"]["value"]

    @property
    def unknown_value(self) -> int:
        return self.description["unknown_value"]

    def op(self, name: str) -> CfuOp:
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(name)


def load_cfu(directory: Path | str) -> LoadedCfu:
    """Read ``cfu.json`` and the unit manifests of a built CFU."""
    directory = Path(directory)
    try:
        description = json.loads((directory / "cfu.json").read_text())
        manifests = {unit["name"]: json.loads((directory / unit["manifest"]).read_text())
                     for unit in description["units"]}
    except (OSError, KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{directory} does not hold a built CFU (cfu.json and unit manifests): {error}") from None
    return LoadedCfu(directory, description, ops_from_cfu_json(description, manifests), manifests)


def response(cfu: LoadedCfu, function_id: np.ndarray, rs1: np.ndarray, rs2: np.ndarray) -> np.ndarray:
    """The model's ``rd`` for each command (the discovery word, ``unknown_value``, or the unit's output)."""
    function_id = np.asarray(function_id, dtype=np.int64)
    rs1 = np.asarray(rs1, dtype=np.uint64)
    rs2 = np.asarray(rs2, dtype=np.uint64)
    out = np.full(function_id.shape, cfu.unknown_value, dtype=np.uint64)
    out[function_id == cfu.discovery_id] = cfu.discovery_value
    for op in cfu.ops:
        chosen = function_id == op.function_id
        if not chosen.any():
            continue
        x, a = unpack_inputs(op.plan, op.lanes, rs1[chosen], rs2[chosen])
        y = evaluate(op.plan, x, a)
        out[chosen] = pack_outputs(op.plan, op.lanes, y)
    return out


def edge_codes(fmt) -> np.ndarray:
    """Codes where datapaths break: the extremes, zero, +-1 LSB, +-1.0 and the sign boundary."""
    one = 1 << fmt.frac_bits
    picks = [fmt.min_code, fmt.min_code + 1, fmt.max_code, fmt.max_code - 1, 0, 1, -1, one, -one, one // 2, -one // 2]
    return np.unique(np.clip(np.array(picks, dtype=np.int64), fmt.min_code, fmt.max_code))


def protocol_vectors(cfu: LoadedCfu, per_unit: int = 64, seed: int = 1) -> dict[str, np.ndarray]:
    """Commands and expected responses: every function id once, then random words on every unit.

    Random ``rs1``/``rs2`` words use all 32 bits (the bits above the lanes must be ignored);
    the whole list is shuffled so latencies mix back to back.
    """
    rng = np.random.default_rng(seed)
    ids = [np.arange(1024, dtype=np.int64)]
    ids += [np.full(per_unit, op.function_id, dtype=np.int64) for op in cfu.ops]
    function_id = np.concatenate(ids)
    rs1 = rng.integers(0, 1 << 32, size=function_id.size, dtype=np.uint64)
    rs2 = rng.integers(0, 1 << 32, size=function_id.size, dtype=np.uint64)
    order = rng.permutation(function_id.size)
    function_id, rs1, rs2 = function_id[order], rs1[order], rs2[order]
    return {"function_id": function_id, "rs1": rs1, "rs2": rs2, "expected": response(cfu, function_id, rs1, rs2)}


class _BenchPath:
    """Put ``sim/cocotb`` on ``sys.path`` for a run (cocotb's runner hands ``sys.path`` to the simulator)."""

    def __enter__(self):
        sys.path.insert(0, str(SIM_DIR / "cocotb"))

    def __exit__(self, *exc):
        sys.path.remove(str(SIM_DIR / "cocotb"))


def run_protocol(cfu: LoadedCfu, top: str = "Cfu", *, per_unit: int = 64, seed: int = 1,
                 work_dir: Path | None = None, testcase: str | None = None,
                 vectors: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Run the protocol benches of ``sim/cocotb/tb_cfu.py`` on ``Cfu.v`` or ``CfuPcpi.v`` (Icarus).

    ``vectors`` (as :func:`protocol_vectors` makes them) replaces the default commands.
    Returns ``{"tests": n, "failures": n, "commands": n, "log": path}``; raises ``RuntimeError``
    when the simulator cannot be run.
    """
    if top not in ("Cfu", "CfuPcpi"):
        raise ValueError(f"top must be Cfu or CfuPcpi, not {top!r}")
    for tool in ("iverilog", "vvp"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"the protocol test needs `{tool}` on PATH (Debian package iverilog)")
    from cocotb_tools.runner import get_runner

    owned = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="hwact-cfu-")) if owned else Path(work_dir)
    try:
        vectors = protocol_vectors(cfu, per_unit, seed) if vectors is None else vectors
        np.savez(work / "vectors.npz", **vectors)
        runner = get_runner("icarus")
        runner.build(sources=[(cfu.directory / f"{top}.v").resolve()], hdl_toplevel=top, build_dir=work / "build",
                     always=True, timescale=("1ns", "1ps"), log_file=work / "build.log")
        filters = {"Cfu": "bus_", "CfuPcpi": "pcpi_"}
        xml = work / "results.xml"
        with _BenchPath(), contextlib.suppress(SystemExit):  # a failing bench exits; its results file says how
            runner.test(test_module="tb_cfu", hdl_toplevel=top, build_dir=work / "build", test_dir=work,
                              testcase=testcase or None, test_filter=None if testcase else filters[top],
                              extra_env={"HWACT_CFU_VECTORS": str(work / "vectors.npz")},
                              results_xml=str(work / "results.xml"), log_file=work / "test.log",
                              timescale=("1ns", "1ps"))
        from cocotb_tools.runner import get_results

        if not xml.exists():
            raise RuntimeError(f"the {top}.v bench did not finish: see {work / 'test.log'}")
        tests, failures = get_results(xml)
        log = (work / "test.log").read_text(errors="replace") if (work / "test.log").exists() else ""
        return {"tests": tests, "failures": failures, "commands": int(vectors["function_id"].size), "log": log}
    except subprocess.CalledProcessError as error:
        raise RuntimeError(f"icarus run of {top}.v failed: {error}") from None
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
