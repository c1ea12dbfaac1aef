"""``hwact sim DIR/NAME.json`` proves a unit; ``hwact sim DIR/cfu.json`` proves a whole CFU.

A unit: every input code (or ``--vectors N``) through ``NAME.v`` on Icarus or Verilator against
the model; writes ``NAME.sim.json`` (``NAME.sim-verilator.json`` on Verilator,
``NAME.sim-N.json`` for a spot check, so no run replaces another's record).

A CFU (any ``hwact cfu`` output): the protocol benches on ``Cfu.v`` and ``CfuPcpi.v`` and the
firmware on VexRiscv and PicoRV32; one verdict line per unit; writes ``cfu.sim.json``.
Either way the exit status is 0 only if everything agrees.
"""

from __future__ import annotations

import json
from pathlib import Path

from .options import vectors
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "record_name", "run", "simulate_unit"]

COMMAND = "sim"


def add_parser(commands) -> None:
    """Add ``hwact sim`` to the command line."""
    from ..verify.runner import SIMULATORS

    sim = commands.add_parser(COMMAND, help="prove NAME.v equals the model (NAME.sim.json), or a whole CFU "
                              "on both buses and both cores (cfu.sim.json)")
    sim.add_argument("manifest", type=Path, metavar="NAME.json|cfu.json",
                     help="a unit manifest (`hwact generate`) or the cfu.json of a CFU (`hwact cfu`)")
    sim.add_argument("--simulator", choices=SIMULATORS, type=str.lower,
                     help="Verilog simulator: a unit's (default icarus), or the cores' for a CFU (default "
                          "verilator; its protocol benches always run on Icarus)")
    sim.add_argument("--vectors", default="exhaustive", type=vectors, metavar="exhaustive|N",
                     help="every input code (default; the proof, NAME.sim.json) or N random codes plus every "
                          "segment edge (a spot check, NAME.sim-N.json); units only")
    sim.add_argument("--seed", type=int, default=1, help="seed for random vectors, operands and stream gaps")


def record_name(manifest_path: Path, simulator: str, coverage: str, vectors) -> Path:
    """Where a run's result goes: one file per kind of run, so none replaces another's."""
    stem = manifest_path.name.removesuffix(".json") + ".sim"
    if coverage != "exhaustive":
        stem += f"-{vectors}"
    if simulator != "icarus":
        stem += f"-{simulator}"
    return manifest_path.with_name(stem + ".json")


def simulate_unit(manifest_path: Path, simulator: str, vectors, seed: int, progress=None):
    """Simulate one unit and write its record; return ``(manifest, result, record path)``."""
    from ..artifacts import load_manifest, write_files
    from ..verify import simulate

    manifest, plan = load_manifest(manifest_path)
    verilog = manifest_path.parent / manifest["files"]["verilog"]
    if not verilog.exists():
        raise ValueError(f"{verilog} does not exist (the manifest names it)")
    if progress:
        progress(f"simulating {manifest['top']} on {simulator}")
    result = simulate(plan, verilog, manifest["top"], lanes=manifest["lanes"], stages=manifest["stages"],
                      simulator=simulator, vectors=vectors, seed=seed)
    out = record_name(manifest_path, simulator, result.coverage, vectors)
    write_files(out.parent, {out.name: json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"})
    return manifest, result, out


def _hex(value) -> str:
    return f"{value:#x}" if isinstance(value, int) else str(value)


def run(args) -> int:
    """Prove a unit or a CFU; print the verdict; exit 0 only if everything agrees."""
    data = _read(args.manifest)
    if isinstance(data, dict) and "units" in data and "discovery" in data:
        return _run_cfu(args)
    simulator = args.simulator or "icarus"
    with Progress(f"simulating {args.manifest.name} on {simulator}"):
        manifest, result, out = simulate_unit(args.manifest, simulator, args.vectors, args.seed)
    verdict = "PASS" if result.passed else "FAIL"
    print(f"{manifest['top']}: {result.vectors} vectors ({result.coverage}), {result.mismatches} mismatches "
          f"on {result.simulator} in {result.seconds:.1f} s: {verdict}")
    for problem in result.protocol_errors[:3]:
        print(f"  stream rule broken: {problem}")
    for miss in result.first_mismatches[:3]:  # register words: hexadecimal throughout
        print(f"  transfer {miss['transfer']}: input {_hex(miss['input'])} expected {_hex(miss['expected'])} "
              f"got {_hex(miss['got'])}")
    print(f"  wrote {out}")
    return 0 if result.passed else 1


def _read(path: Path):
    from ..artifacts import read_json

    return read_json(path, "manifest")


def _run_cfu(args) -> int:
    from ..artifacts import write_files
    from ..cfu.sim import load_cfu, prove_cfu

    if args.vectors != "exhaustive":
        raise ValueError("--vectors is for a unit; a CFU proof runs its own commands and codes")
    cfu = load_cfu(args.manifest.parent)
    simulator = args.simulator or "verilator"
    with Progress(f"proving the CFU in {args.manifest.parent}") as progress:
        proof = prove_cfu(cfu, simulator=simulator, seed=args.seed, progress=progress)
    out = args.manifest.with_name("cfu.sim.json")
    write_files(out.parent, {out.name: json.dumps(proof.to_dict(), indent=2, sort_keys=True) + "\n"})
    print_cfu_proof(proof)
    print(f"  wrote {out}")
    return 0 if proof.passed else 1


def print_cfu_proof(proof) -> None:
    """One line per unit (both cores), one per bus and core check, and the verdict."""
    codes = sorted({c["codes"] for unit in proof.unit_verdicts() for c in unit["cores"].values()})
    if codes:
        print(f"  per unit, {'/'.join(map(str, codes))} codes: cycles with the instruction / the C fallback, by core")
    for unit in proof.unit_verdicts():
        cells = []
        for core, c in unit["cores"].items():
            wrong = [what for what, ok in (("instruction", c["instruction_matches"]),
                                           ("C fallback", c["fallback_matches"])) if not ok]
            cells.append(f"{core} {c['cycles_instruction']}/{c['cycles_fallback']}"
                         + (f" ({' and '.join(wrong)} differ from the model)" if wrong else ""))
        missing = [core for core in ("vexriscv", "picorv32") if core not in unit["cores"]]
        cells += [f"{core} not run" for core in missing]
        print(f"  {'PASS' if unit['passed'] else 'FAIL'}  id {unit['function_id']:<4d} {unit['name']:<20} "
              f"{', '.join(cells)}" + (" (fused: accumulators; cycles of an int8 dense layer)" if unit.get("fused")
                                       else ""))
    for check in proof.checks:
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    cfu = proof.cfu
    verdict = "PASS" if proof.passed else "FAIL"
    print(f"CFU in {cfu.directory}: {len(cfu.ops)} units, {sum(c.passed for c in proof.checks)} of "
          f"{len(proof.checks)} checks passed on {proof.simulator} in {proof.seconds:.1f} s: {verdict}")
