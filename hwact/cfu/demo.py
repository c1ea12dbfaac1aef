"""The CFU part of ``hwact demo``: build the default CFU, prove it, print a summary."""

from __future__ import annotations

import tempfile
from pathlib import Path

__all__ = ["demo_cfu"]


def demo_cfu(output: Path) -> int:
    """Build the default CFU into ``output``, prove it on both buses and both cores; return failures.

    Proof: the protocol benches on ``Cfu.v`` and ``CfuPcpi.v`` (cocotb + Icarus, every function
    id and random operands on every unit against the model), then the firmware on VexRiscv and
    PicoRV32 (instruction == C fallback == model for every unit, a dense layer + GELU).
    """
    from .command import build_and_write
    from .firmware import run_firmware
    from .sim import load_cfu, run_protocol

    _, written = build_and_write(None, output)
    cfu = load_cfu(output)
    failed = 0
    print(f"\nDefault CFU: {len(cfu.ops)} units, discovery id {cfu.discovery_id} -> 0x{cfu.discovery_value:08x}, "
          f"{len(written)} files in {output}")
    checks = []
    for top in ("Cfu", "CfuPcpi"):
        try:
            result = run_protocol(cfu, top)
        except RuntimeError as error:
            failed += 1
            checks.append((f"{top}.v protocol (Icarus)", str(error).splitlines()[0], "FAIL"))
            continue
        ok = result["failures"] == 0 and result["tests"] > 0
        failed += not ok
        checks.append((f"{top}.v protocol (Icarus)", f"{result['tests']} benches, {result['commands']} commands",
                       "PASS" if ok else "FAIL"))
    runs = {}
    for core in ("vexriscv", "picorv32"):
        with tempfile.TemporaryDirectory(prefix="hwact-demo-") as work:
            try:
                run = run_firmware(cfu, core, Path(work), simulator="verilator")
            except RuntimeError as error:
                failed += 1
                checks.append((f"firmware on {core}", str(error).splitlines()[0], "FAIL"))
                continue
        runs[core] = run
        failed += not run.passed
        checks.append((f"firmware on {core}", (f"{len(run.units)} units x {len(run.units[0].x)} codes, "
                                               f"{run.cycles} cycles"), "PASS" if run.passed else "FAIL"))
    header = ("id", "unit", "function", "formats", "lanes", "latency", "max LSB",
              *(f"{core}: cycles instr/C" for core in runs))
    rows = []
    for index, op in enumerate(cfu.ops):
        error = cfu.manifests[op.name]["error"]
        cells = [str(op.function_id), op.name, op.plan.function, f"{op.plan.in_fmt}->{op.plan.out_fmt}",
                 str(op.lanes), str(op.latency), f"{error['max_lsb']:.3f}"]
        for run in runs.values():
            unit = run.units[index]
            verdict = "ok" if unit.hw_matches and unit.sw_matches else "MISMATCH"
            cells.append(f"{unit.cycles_hw}/{unit.cycles_sw} cyc {verdict}")
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    print(f"  (cycles: {len(next(iter(runs.values())).units[0].x) if runs else 0} codes through the array helper, "
          "with the instruction / with the C fallback, cold caches)")
    for name, detail, verdict in checks:
        print(f"  {verdict}  {name}: {detail}")
    for core, run in runs.items():
        dense = run.dense
        print(f"  {core}: int8 dense 64->16 {dense['cycles_dense']} cycles + {dense['unit']} "
              f"{dense['cycles_activation']} cycles ({100 * dense['activation_share']:.1f} % in the activation; "
              f"C fallback {100 * dense['activation_share_sw']:.1f} %)")
    print(f"CFU: {'proven' if not failed else f'{failed} check(s) failed'}")
    return failed
