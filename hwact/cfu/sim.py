"""Simulation glue for the CFU: the model's answer to any command, protocol runs on Icarus, and
firmware runs on VexRiscv and PicoRV32 (the SoC wrappers, crt0 and firmware live in ``sim/``).

Nothing here plans: a built CFU directory (``cfu.json`` and the unit manifests, as ``hwact cfu``
writes them and ``rtl/cfu/`` holds them) says everything the model needs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..layout import pack_outputs, unpack_inputs
from ..model import evaluate
from ..requant import PerChannel, accumulator_range, fused_evaluate
from ..resources import sim_dir
from ..verify.runner import run_cocotb
from .build import ops_from_cfu_json
from .core import CfuOp

__all__ = ["SIM_DIR", "CfuCheck", "CfuProof", "LoadedCfu", "edge_codes", "load_cfu", "protocol_vectors", "prove_cfu",
           "response", "run_protocol"]

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
        if op.requant is not None:  # a fused op: rs1 is an int32 accumulator, rs2 the channel (per channel)
            acc = rs1[chosen].astype(np.int64)
            y = fused_evaluate(op.plan, op.requant, np.where(acc >= 1 << 31, acc - (1 << 32), acc),
                               rs2[chosen].astype(np.int64))
            out[chosen] = (y & 0xFFFFFFFF).astype(np.uint64)  # rd: the code's value, sign-extended
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
    for op in cfu.ops:  # fused ops: half of the accumulators where the requantized code is not saturated
        if op.requant is not None:
            lo, hi = accumulator_range(op.plan, op.requant)
            chosen = np.nonzero(function_id == op.function_id)[0][::2]
            rs1[chosen] = rng.integers(lo, hi, size=chosen.size, endpoint=True).astype(np.uint64) & 0xFFFFFFFF
            if isinstance(op.requant, PerChannel):  # and there channels that exist (the other half: any word)
                rs2[chosen] = rng.integers(0, len(op.requant.channels), size=chosen.size).astype(np.uint64)
    order = rng.permutation(function_id.size)
    function_id, rs1, rs2 = function_id[order], rs1[order], rs2[order]
    return {"function_id": function_id, "rs1": rs1, "rs2": rs2, "expected": response(cfu, function_id, rs1, rs2)}


def run_protocol(cfu: LoadedCfu, top: str = "Cfu", *, per_unit: int = 64, seed: int = 1,
                 work_dir: Path | None = None, testcase: str | None = None,
                 vectors: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Run the protocol benches of ``sim/cocotb/tb_cfu.py`` on ``Cfu.v`` or ``CfuPcpi.v`` (Icarus).

    ``vectors`` replaces :func:`protocol_vectors` (same keys: another choice of commands).

    Returns ``{"tests": n, "failures": n, "commands": n, "log": path}``; raises ``RuntimeError``
    when the simulator cannot be run.
    """
    if top not in ("Cfu", "CfuPcpi"):
        raise ValueError(f"top must be Cfu or CfuPcpi, not {top!r}")
    from cocotb_tools.runner import get_results

    owned = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="hwact-cfu-")) if owned else Path(work_dir).resolve()
    try:
        work.mkdir(parents=True, exist_ok=True)
        vectors = protocol_vectors(cfu, per_unit, seed) if vectors is None else vectors
        np.savez(work / "vectors.npz", **vectors)
        filters = {"Cfu": "bus_", "CfuPcpi": "pcpi_"}
        xml = run_cocotb(simulator="icarus", sources=[cfu.directory / f"{top}.v"], top=top,
                         bench_dir=SIM_DIR / "cocotb", test_module="tb_cfu", work=work, what=f"run of {top}.v",
                         testcase=testcase or None, test_filter=None if testcase else filters[top],
                         extra_env={"HWACT_CFU_VECTORS": str(work / "vectors.npz")})
        if not xml.exists():
            raise RuntimeError(f"the {top}.v bench did not finish: see {work / 'test.log'}")
        tests, failures = get_results(xml)
        log = (work / "test.log").read_text(errors="replace") if (work / "test.log").exists() else ""
        return {"tests": tests, "failures": failures, "commands": int(vectors["function_id"].size), "log": log}
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)


@dataclass
class CfuCheck:
    """One check of a CFU proof: what ran, what it covered, and whether it passed."""

    name: str
    detail: str
    passed: bool


@dataclass
class CfuProof:
    """Everything :func:`prove_cfu` ran on one built CFU (written as ``cfu.sim.json``)."""

    cfu: LoadedCfu
    simulator: str
    checks: list[CfuCheck]
    runs: dict[str, Any]  # core -> hwact.cfu.firmware.FirmwareRun (the ops other than fused ones)
    seconds: float
    #: core -> the fused requantize ops' runs (hwact.cfu.requant_firmware.FusedRun)
    fused_runs: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(check.passed for check in self.checks)

    def unit_verdicts(self) -> list[dict[str, Any]]:
        """Per unit: on each core, whether the instruction and the C fallback equal the model, and cycles.

        A fused op's cycles are those of the int8 dense layer ending in it (``fused``: true).
        """
        rows = []
        for op in self.cfu.ops:
            cores = {}
            for core, run in self.runs.items():
                for unit in run.units:
                    if unit.name == op.name:
                        cores[core] = {"codes": len(unit.x), "instruction_matches": unit.hw_matches,
                                       "fallback_matches": unit.sw_matches, "cycles_instruction": unit.cycles_hw,
                                       "cycles_fallback": unit.cycles_sw}
            for core, fused in self.fused_runs.items():
                for run in fused:
                    if run.name == op.name:
                        cores[core] = {"codes": len(run.acc),
                                       "instruction_matches": bool(np.array_equal(run.hw, run.expected)
                                                                   and np.array_equal(run.dense_hw,
                                                                                      run.dense_expected)),
                                       "fallback_matches": bool(np.array_equal(run.sw, run.expected)
                                                                and np.array_equal(run.dense_sw, run.dense_expected)),
                                       "cycles_instruction": run.cycles["dense_fused"],
                                       "cycles_fallback": run.cycles["dense_fallback"]}
            passed = len(cores) == 2 and all(c["instruction_matches"] and c["fallback_matches"]
                                             for c in cores.values())
            rows.append({"name": op.name, "function_id": op.function_id, "cores": cores, "passed": passed,
                         **({"fused": True} if op.requant is not None else {})})
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The JSON of ``cfu.sim.json``."""
        return {"passed": self.passed, "simulator": self.simulator, "seconds": round(self.seconds, 1),
                "checks": [{"name": c.name, "detail": c.detail, "passed": c.passed} for c in self.checks],
                "units": self.unit_verdicts(),
                "dense": {core: run.dense for core, run in self.runs.items()},
                **({"fused": {core: {run.name: run.cycles for run in fused} for core, fused in self.fused_runs.items()}}
                   if self.fused_runs else {})}


def prove_cfu(cfu: LoadedCfu, *, simulator: str = "verilator", seed: int = 1, count: int = 32,
              progress=None) -> CfuProof:
    """Prove a built CFU on both buses and both cores; return every check (never raises on a failed check).

    The protocol benches on ``Cfu.v`` and ``CfuPcpi.v`` (cocotb + Icarus: every function id
    once, then random operands on every unit, against :func:`response`), then the firmware on
    VexRiscv (CfuPlugin bus) and PicoRV32 (PCPI), simulated with ``simulator``: every unit's
    edge and random codes through the instruction and the bit-exact C fallback, both equal to
    the model, and an int8 dense layer followed by a unit. A check that cannot run (a missing
    tool, a trap) is a failed check with the reason. Temporary folders are removed, whatever
    happens (an interrupt included).
    """
    import time

    from .firmware import CORES, run_firmware
    from .requant_firmware import run_fused_firmware

    started = time.monotonic()
    checks: list[CfuCheck] = []
    for top in ("Cfu", "CfuPcpi"):
        if progress:
            progress(f"{top}.v protocol bench (Icarus)")
        try:
            result = run_protocol(cfu, top, seed=seed)
        except RuntimeError as error:
            checks.append(CfuCheck(f"{top}.v protocol (Icarus)", str(error).splitlines()[0], False))
            continue
        checks.append(CfuCheck(f"{top}.v protocol (Icarus)", f"{result['tests']} benches, {result['commands']} "
                               f"commands, {result['failures']} failed",
                               result["failures"] == 0 and result["tests"] > 0))
    runs, fused_runs = {}, {}
    plain = [op for op in cfu.ops if op.requant is None]
    fused = [op for op in cfu.ops if op.requant is not None]
    for core in sorted(CORES, key=lambda c: c != "vexriscv"):
        if plain:
            if progress:
                progress(f"firmware on {core} ({simulator})")
            with tempfile.TemporaryDirectory(prefix="hwact-sim-cfu-") as work:
                try:
                    run = run_firmware(cfu, core, Path(work), count=count, seed=seed, simulator=simulator)
                except RuntimeError as error:
                    checks.append(CfuCheck(f"firmware on {core}", str(error).splitlines()[0], False))
                    run = None
            if run is not None:
                runs[core] = run
                checks.append(CfuCheck(f"firmware on {core}", f"{len(run.units)} units x {len(run.units[0].x)} "
                                       f"codes, {run.cycles} cycles", run.passed))
        if fused:  # rs1 is an accumulator: their own firmware (accumulators, and a TFLite int8 dense layer)
            if progress:
                progress(f"fused-op firmware on {core} ({simulator})")
            with tempfile.TemporaryDirectory(prefix="hwact-sim-fused-") as work:
                try:
                    done = run_fused_firmware(cfu, core, Path(work), count=count, seed=seed, simulator=simulator)
                except RuntimeError as error:
                    checks.append(CfuCheck(f"fused-op firmware on {core}", str(error).splitlines()[0], False))
                    continue
            fused_runs[core] = done
            checks.append(CfuCheck(f"fused-op firmware on {core}", f"{len(done)} fused ops x {len(done[0].acc)} "
                                   "accumulators and an int8 dense layer each", all(r.passed for r in done)))
    return CfuProof(cfu, simulator, checks, runs, time.monotonic() - started, fused_runs)
