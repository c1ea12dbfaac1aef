"""Benchmark: the correctly rounded planner (``cr``) against a direct table at 10- to 12-bit inputs.

Both are correctly rounded on every code; the question is which is smaller. For sigmoid, tanh,
GELU and SiLU at 10, 11 and 12 input bits (sigmoid to u0.N and tanh to s1.(N-1), GELU and
SiLU to the input's format), the direct table (``--method lut``) and the cheapest ``cr`` plan
are built and their table bits, multipliers and costs (:func:`hwact.cost.plan_cost`) listed, with
what ``auto`` returns at ``--max-err-lsb 0.5`` and at the default 1 LSB. Planning is timed with
the plan cache off; the machine's load average is recorded beside it.

    python bench/cr_small_inputs.py [--only FUNCTION ...]

Prints a table (Markdown, as docs/benchmarks.md shows it) and writes
bench/results/cr_small_inputs.json. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from hwact import make_plan
from hwact.approx.cr import plan_cr
from hwact.cost import plan_cost
from hwact.fixed import Fmt
from hwact.functions import get, resolve_params
from hwact.measure import report

RESULTS = Path(__file__).resolve().parent / "results"

#: (function, input, output) per input width.
CASES = [
    (name, f"s4.{bits - 4}", out)
    for bits in (10, 11, 12)
    for name, out in (("sigmoid", f"u0.{bits}"), ("tanh", f"s1.{bits - 1}"), ("gelu", f"s4.{bits - 4}"),
                      ("silu", f"s4.{bits - 4}"))
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="function names to run")
    args = parser.parse_args()
    rows = []
    for name, fin, fout in CASES:
        if args.only and name not in args.only:
            continue
        fn = get(name)
        lut = make_plan(name, fin, fout, method="lut")
        load_before, began = os.getloadavg()[0], time.monotonic()
        cr = plan_cr(fn, resolve_params(fn, {}), Fmt.parse(fin), Fmt.parse(fout), cost=lambda p: plan_cost(p).cost,
                     cache=False)
        seconds = time.monotonic() - began
        stats = report(cr)
        lut_cost, cr_cost = plan_cost(lut), plan_cost(cr)
        auto = {str(budget): make_plan(name, fin, fout, max_err_lsb=budget).method for budget in (0.5, 1.0)}
        row = {"function": name, "in_format": fin, "out_format": fout,
               "lut": {"table_bits": lut_cost.table_bits, "cost": lut_cost.cost},
               "cr": {"segments": cr_cost.segments, "table_bits": cr_cost.table_bits,
                      "multipliers": len(cr_cost.multipliers), "cost": cr_cost.cost,
                      "correctly_rounded_fraction": stats.correctly_rounded_fraction, "plan_seconds": round(seconds, 1),
                      "load_average": [load_before, os.getloadavg()[0]]},
               "smaller": "cr" if cr_cost.cost < lut_cost.cost else "lut", "auto": auto}
        rows.append(row)
        print(f"{name:8s} {fin}->{fout}: lut {lut_cost.table_bits:6d} bits (cost {lut_cost.cost:6d}); cr "
              f"{cr_cost.segments:3d} seg {cr_cost.table_bits:5d} bits {len(cr_cost.multipliers)} mult (cost "
              f"{cr_cost.cost:5d}, CR {stats.correctly_rounded_fraction:.2%}, {seconds:.1f} s); auto 0.5 -> "
              f"{auto['0.5']}, 1.0 -> {auto['1.0']}", flush=True)
    print("\n| function | in → out | direct table bits | `cr` segments | `cr` table bits | `cr` multipliers "
          "| cost lut / cr | smaller | `auto` at 0.5 / 1 LSB | `cr` plan s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['function']} | {r['in_format']} → {r['out_format']} | {r['lut']['table_bits']:,} | "
              f"{r['cr']['segments']} | {r['cr']['table_bits']:,} | {r['cr']['multipliers']} | "
              f"{r['lut']['cost']:,} / {r['cr']['cost']:,} | {r['smaller']} | "
              f"{r['auto']['0.5']} / {r['auto']['1.0']} | "
              f"{r['cr']['plan_seconds']:.1f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "cr_small_inputs.json"
    out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
