"""Benchmark: correctly rounded 16-bit plans (method ``cr``) and their frontier.

For sigmoid, tanh, GELU and SiLU at s4.12 (sigmoid and tanh also with TFLite's int16 output,
scale 2**-15, i.e. s1.15), every shape the cr planner builds (degree, guard bits, Horner shift)
is listed with its table bits, multipliers, segments and cost, and measured on all 65,536
codes; the cheapest is the plan ``hwact generate --method cr`` returns. Planning is timed
per function (one process, the cache off; wall clock and the process's CPU seconds, which the
load of other work on the machine inflates less), with the load average before and after.

    python bench/cr_frontier.py [--only NAME ...] [--write-plans] [--no-frontier]
    python bench/cr_frontier.py --markdown      (the tables docs/benchmarks.md shows, from the JSON)

Prints a table and writes bench/results/cr_frontier.json. ``--write-plans`` also writes the
chosen plans to tests/data/cr_plans/ (the plans the Verilog and C proofs run on, and that
a slow test re-plans and compares). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from hwact.approx.cr import CR_SHAPES, cr_candidates
from hwact.cost import plan_cost
from hwact.fixed import Fmt
from hwact.functions import get, resolve_params
from hwact.measure import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PLANS = ROOT / "tests" / "data" / "cr_plans"

#: (name, function, input, output): the issue's targets.
TARGETS = [
    ("sigmoid_u0_16", "sigmoid", "s4.12", "u0.16"),
    ("sigmoid_s1_15", "sigmoid", "s4.12", "s1.15"),
    ("tanh_s1_15", "tanh", "s4.12", "s1.15"),
    ("gelu_s4_12", "gelu", "s4.12", "s4.12"),
    ("silu_s4_12", "silu", "s4.12", "s4.12"),
]
#: Shapes outside the planner's own (CR_SHAPES), measured for the frontier only: a cubic, fewer
#: guard bits, the quadratic with more precise Horner shifts, and other origin alignments (0:
#: origins at the segment starts, as before origin_rom).
FRONTIER = ((3, 11, -4, 7), (2, 9, -4, 7), (2, 11, -1, 7), (2, 11, -4, 0), (2, 11, -4, 6), (2, 11, -4, 8))
#: TFLite-Micro's int16 kernels, measured on every code (docs/comparison.md): max LSB, CR share, table bits.
TFLITE = {"sigmoid": (1.016, 0.872, 256 * 16), "tanh": (1.476, 0.723, 256 * 16)}
#: The issue's targets: table bits and multipliers per lane.
TABLE_BITS, MULTIPLIERS = 4096, 2


def _cost(plan) -> int:
    return plan_cost(plan).cost


def markdown(rows: list[dict]) -> str:
    """The tables of docs/benchmarks.md: the chosen plan per request, then every shape built."""
    lines = ["| function | in → out | segments | table bits | multipliers | cost | max LSB | correctly rounded "
             "| ≤ 4,096 bits | plan s (wall / CPU) | load |", "| --- " * 11 + "|"]
    for row in rows:
        best = row["chosen"]
        load = row["load_average"]
        load = f"{load[0]:.0f}–{load[1]:.0f}" if isinstance(load, list) else f"{load:.0f}"
        lines.append(f"| {row['function']} | {row['in_format']} → {row['out_format']} | {best['segments']} | "
                     f"{best['table_bits']:,} | {best['multipliers']} | {best['cost']:,} | {best['max_lsb']:.4f} | "
                     f"{best['correctly_rounded_fraction']:.0%} | {'yes' if row['meets_table_bits'] else 'no'} | "
                     f"{row['planning_seconds']:.0f} / {row.get('planning_cpu_seconds', float('nan')):.0f} | {load} |")
    lines += ["", "| function | out | degree | guard | shift extra | origin align | segments | table bits "
              "| multipliers "
              "| cost |", "| --- " * 10 + "|"]
    for row in rows:
        for shape in sorted(row["shapes"], key=lambda sh: (sh["table_bits"], sh["cost"])):
            lines.append(f"| {row['function']} | {row['out_format']} | {shape['degree']} | {shape['guard']} | "
                         f"{shape['extra']} | {shape.get('align', 0)} | {shape['segments']} | "
                         f"{shape['table_bits']:,} | {shape['multipliers']} | {shape['cost']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="target names to run")
    parser.add_argument("--write-plans", action="store_true", help="write the chosen plans to tests/data/cr_plans")
    parser.add_argument("--no-frontier", action="store_true", help="only the planner's own shapes (CR_SHAPES)")
    parser.add_argument("--markdown", action="store_true", help="print the docs' tables from the last results")
    args = parser.parse_args()
    if args.markdown:
        rows = json.loads((RESULTS / "cr_frontier.json").read_text())["rows"]
        print(markdown(sorted(rows, key=lambda r: [t[0] for t in TARGETS].index(r["name"]))))
        return
    rows = []
    for name, function, fin, fout in TARGETS:
        if args.only and name not in args.only:
            continue
        fn = get(function)
        load_before, began, cpu = os.getloadavg()[0], time.monotonic(), time.process_time()
        found = cr_candidates(fn, resolve_params(fn, {}), Fmt.parse(fin), Fmt.parse(fout), cost=_cost)
        seconds, load_after, cpu = time.monotonic() - began, os.getloadavg()[0], time.process_time() - cpu
        others = [] if args.no_frontier else cr_candidates(fn, resolve_params(fn, {}), Fmt.parse(fin),
                                                            Fmt.parse(fout), shapes=FRONTIER, cost=_cost)
        shapes = []
        for plan, info in found + others:
            stats, cost = report(plan), plan_cost(plan)
            shapes.append({**info, "segments": cost.segments, "table_bits": cost.table_bits,
                           "multipliers": len(cost.multipliers), "multiplier_widths": cost.multipliers,
                           "comparators": cost.comparators, "cost": cost.cost, "max_lsb": stats.max_lsb,
                           "correctly_rounded_fraction": stats.correctly_rounded_fraction,
                           "monotonic": stats.monotonic})
        best = shapes[0] if found else None  # the planner's answer: the cheapest of its own shapes
        row = {"name": name, "function": function, "in_format": fin, "out_format": fout,
               "planning_seconds": round(seconds, 1), "planning_cpu_seconds": round(cpu, 1),
               "load_average": [load_before, load_after],
               "shapes_tried": len(CR_SHAPES), "shapes": shapes, "chosen": best,
               "meets_table_bits": bool(best and best["table_bits"] <= TABLE_BITS),
               "meets_multipliers": bool(best and best["multipliers"] <= MULTIPLIERS),
               "tflite_micro": TFLITE.get(function)}
        rows.append(row)
        if best:
            print(f"{name:15s} {fin}->{fout}: {best['segments']:3d} seg, degree {best['degree']}, guard "
                  f"{best['guard']}, {best['table_bits']:5d} table bits, {best['multipliers']} mult, cost "
                  f"{best['cost']}, max {best['max_lsb']:.4f} LSB, CR {best['correctly_rounded_fraction']:.2%}, "
                  f"{seconds:.1f} s wall, {cpu:.1f} s CPU (load {load_before:.1f} -> {load_after:.1f})", flush=True)
            for shape in shapes[1:]:
                print(f"{'':15s}   also: {shape['segments']:3d} seg, degree {shape['degree']}, guard "
                      f"{shape['guard']}, shift extra {shape['extra']}, align {shape['align']}, "
                      f"{shape['table_bits']:5d} bits, "
                      f"{shape['multipliers']} mult, cost {shape['cost']}", flush=True)
        else:
            print(f"{name}: no plan", flush=True)
        if args.write_plans and found:
            PLANS.mkdir(parents=True, exist_ok=True)
            (PLANS / f"{name}.json").write_text(found[0][0].to_json() + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "cr_frontier.json"
    previous = json.loads(out.read_text()) if out.exists() and args.only else {"rows": []}
    kept = [r for r in previous.get("rows", []) if r["name"] not in {row["name"] for row in rows}]
    out.write_text(json.dumps({"rows": kept + rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
