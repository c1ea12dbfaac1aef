"""``hwact demo [-o DIR]``: the default units generated and proven, then the default CFU built and
proven on both buses and both cores, with a summary.

Everything is made in a hidden folder beside ``DIR`` and moved into ``DIR`` only at the end, so
an interrupted demo (Ctrl-C, SIGTERM) leaves no partial output.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from .options import add_output
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "demo"


def add_parser(commands) -> None:
    """Add ``hwact demo`` to the command line."""
    demo = commands.add_parser(COMMAND, help="generate, simulate and summarize the default units and CFU")
    add_output(demo, "the units and the CFU", default=Path("out/demo"))


def _publish(staging: Path, output: Path) -> None:
    """Move every file made in ``staging`` to the same place under ``output``."""
    for source in sorted(staging.rglob("*")):
        if source.is_file():
            target = output / source.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)


def _table(header, rows) -> list[str]:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *rows)]


def run(args) -> int:
    """Run the demo; exit 0 only if every unit and the CFU are proven."""
    from ..artifacts import write_files
    from ..cfu.build import build_cfu
    from ..cfu.config import load_config
    from ..cfu.sim import load_cfu, prove_cfu
    from ..defaults import DEFAULT_UNITS
    from .generate import generate
    from .sim import simulate_unit

    output = Path(args.output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    except OSError as error:
        raise OSError(f"cannot create output directory {output}: {error.strerror or error}") from None
    try:
        rows, failed = [], 0
        with Progress("hwact demo") as progress:
            for index, spec in enumerate(DEFAULT_UNITS):
                progress(f"unit {index + 1}/{len(DEFAULT_UNITS)}: {spec.top}")
                written = generate(spec, staging)
                manifest, result, _ = simulate_unit(written["manifest"], "icarus", "exhaustive", 1)
                failed += not result.passed
                error = manifest["error"]
                rows.append((spec.top, spec.function, f"{spec.in_format}->{spec.out_format}", spec.lanes, spec.stages,
                             f"{error['max_lsb']:.3f}", f"{100 * error['correctly_rounded_fraction']:.1f}",
                             result.vectors, result.mismatches, f"{result.seconds:.1f}"))
            progress("building the default CFU")
            built = build_cfu(load_config(None), progress=lambda step: progress(f"default CFU {step}"))
            write_files(staging / "cfu", built.files)
            cfu = load_cfu(staging / "cfu")
            proof = prove_cfu(cfu, progress=lambda step: progress(f"default CFU: {step}"))
        cfu_failed = not proof.passed
        _publish(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    header = ("unit", "function", "formats", "lanes", "stages", "max LSB", "CR %", "vectors", "mismatches", "sim s")
    print("\n".join(_table(header, rows)))
    print(f"{len(rows) - failed} of {len(rows)} units proven bit-exact on every input code; files in {output}")
    print(f"\nDefault CFU: {len(cfu.ops)} units, discovery id {cfu.discovery_id} -> 0x{cfu.discovery_value:08x}, "
          f"{len(built.files)} files in {output / 'cfu'}")
    runs = proof.runs
    header = ("id", "unit", "function", "formats", "lanes", "latency", "max LSB",
              *(f"{core}: cycles instr/C" for core in runs))
    cfu_rows = []
    for index, op in enumerate(cfu.ops):
        error = cfu.manifests[op.name]["error"]
        cells = [str(op.function_id), op.name, op.plan.function, f"{op.plan.in_fmt}->{op.plan.out_fmt}",
                 str(op.lanes), str(1 + op.stages), f"{error['max_lsb']:.3f}"]
        for run_ in runs.values():
            unit = run_.units[index]
            verdict = "ok" if unit.hw_matches and unit.sw_matches else "MISMATCH"
            cells.append(f"{unit.cycles_hw}/{unit.cycles_sw} cyc {verdict}")
        cfu_rows.append(cells)
    print("\n".join(_table(header, cfu_rows)))
    codes = len(next(iter(runs.values())).units[0].x) if runs else 0
    print(f"  (cycles: {codes} codes through the array helper, with the instruction / with the C fallback, "
          "cold caches)")
    for check in proof.checks:
        print(f"  {'PASS' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    for core, run_ in runs.items():
        dense = run_.dense
        print(f"  {core}: int8 dense 64->16 {dense['cycles_dense']} cycles + {dense['unit']} "
              f"{dense['cycles_activation']} cycles ({100 * dense['activation_share']:.1f} % in the activation; "
              f"C fallback {100 * dense['activation_share_sw']:.1f} %)")
    failing = sum(not c.passed for c in proof.checks)
    print(f"CFU: {'proven' if not cfu_failed else f'{failing} check(s) failed'}")
    return 1 if failed or cfu_failed else 0
