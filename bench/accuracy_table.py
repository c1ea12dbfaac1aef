"""Benchmark: accuracy and cost of every function at s4.12 -> s4.12 under ``--method auto``.

Every figure is measured on all 65,536 input codes against the float64 reference. Also
prints the comparisons docs/benchmarks.md sets as targets: PULP RNN ``pl.sig``/``pl.tanh`` (Q3.12,
max error about 0.018 / 0.0039) and TFLite-Micro's int16 sigmoid (1.29 LSB, 80 % correctly
rounded). The ``cr`` columns are the correctly rounded plan of the same function and formats
(``--method cr``, hwact.approx.cr): its segments, table bits, multipliers and planning time (the
plan cache off), or why there is none. Writes bench/results/accuracy_table.json and prints the
Markdown table docs/benchmarks.md shows.

    python bench/accuracy_table.py [--only NAME ...] [--no-cr] [--out JSON]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from hwact import PlanError, make_plan
from hwact.approx.cr import CROutOfReach, plan_cr
from hwact.cost import plan_cost
from hwact.fixed import Fmt
from hwact.functions import FUNCTIONS, get, resolve_params
from hwact.measure import measure

CASES = [(f.name, {}) for f in dict.fromkeys(FUNCTIONS.values()) if f.operands == 1] + [
    ("gelu", {"approximate": "tanh"}), ("gelu", {"approximate": "sigmoid"})]


def cr_column(name: str, params: dict, auto_plan) -> dict:
    """The correctly rounded plan's figures (``--method cr``, solved afresh), or why there is none."""
    if auto_plan.method == "exact" and measure(auto_plan).correctly_rounded_fraction == 1.0:
        return {"status": "exact"}  # the exact family is correctly rounded by its own plans
    fn = get(name)
    start = time.perf_counter()
    try:
        plan = plan_cr(fn, resolve_params(fn, params), Fmt.parse("s4.12"), Fmt.parse("s4.12"),
                       cost=lambda p: plan_cost(p).cost, cache=False)
    except (CROutOfReach, PlanError, ValueError) as error:
        return {"status": "none", "reason": str(error), "plan_seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    stats, cost = measure(plan), plan_cost(plan)
    return {"status": "ok", "segments": cost.segments, "table_bits": cost.table_bits,
            "multipliers": len(cost.multipliers), "max_lsb": stats.max_lsb,
            "correctly_rounded_fraction": stats.correctly_rounded_fraction, "plan_seconds": seconds}


def markdown(rows: list[dict]) -> str:
    """The table of docs/benchmarks.md (one row per function; the ``cr`` columns last)."""
    lines = ["| function | method | segments | table bits | max LSB | RMS LSB | correctly rounded | monotonic "
             "| plan s | `cr` segments | `cr` table bits | `cr` plan s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        cr = row.get("cr") or {}
        if cr.get("status") == "ok":
            tail = f"{cr['segments']} | {cr['table_bits']:,} | {cr['plan_seconds']:.0f}"
        elif cr.get("status") == "exact":
            tail = "(exact) | | "
        else:
            tail = "none | | " if cr else "| | "
        lines.append(f"| {row['function']} | {row['method']} | {row['segments']} | {row['table_bits']:,} | "
                     f"{row['max_lsb']:.3f} | {row['rms_lsb']:.3f} | {100 * row['correctly_rounded_fraction']:.1f} % "
                     f"| {'yes' if row['monotonic'] else 'no'} | {row['plan_seconds']:.1f} | {tail} |")
    return "\n".join(lines)


def main(out: Path = Path(__file__).parent / "results" / "accuracy_table.json") -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="function names (or labels, as gelu(tanh)) to run")
    parser.add_argument("--no-cr", action="store_true", help="skip the correctly rounded (cr) columns")
    parser.add_argument("--out", type=Path, default=out, help="the JSON to write")
    args = parser.parse_args()
    out = args.out
    rows = []
    print(f"{'function':<22} {'method':<6} {'segs':>5} {'table bits':>10} {'max LSB':>8} {'RMS LSB':>8} "
          f"{'CR %':>6} {'mono':>5} {'plan s':>6} {'cr segs':>7} {'cr bits':>7} {'cr s':>5}")
    for name, params in CASES:
        label = name + (f"({next(iter(params.values()))})" if params else "")
        if args.only and name not in args.only and label not in args.only:
            continue
        start = time.perf_counter()
        plan = make_plan(name, "s4.12", "s4.12", params=params)
        seconds = time.perf_counter() - start
        stats, cost = measure(plan), plan_cost(plan)
        cr = None if args.no_cr else cr_column(name, params, plan)
        rows.append({"function": label, "method": plan.method, "segments": cost.segments,
                     "table_bits": cost.table_bits, **stats.to_dict(), "plan_seconds": seconds, "cr": cr})
        cr_text = (f"{cr['segments']:>7} {cr['table_bits']:>7} {cr['plan_seconds']:>5.0f}"
                   if cr and cr["status"] == "ok" else f"{(cr or {}).get('status', '-'):>7}")
        print(
            f"{label:<22} {plan.method:<6} {cost.segments:>5} {cost.table_bits:>10} {stats.max_lsb:>8.3f} "
            f"{stats.rms_lsb:>8.3f} {100 * stats.correctly_rounded_fraction:>6.1f} "
            f"{stats.monotonic!s:>5} {seconds:>6.1f} {cr_text}", flush=True
        )
    print(markdown(rows))

    sig, tanh = measure(make_plan("sigmoid", "Q3.12", "Q3.12")), measure(make_plan("tanh", "Q3.12", "Q3.12"))
    sig16 = measure(make_plan("sigmoid", "s4.12", "u0.16"))
    versus = {
        "pulp_sigmoid": {"pulp_max_abs": 0.018, "hwact_max_abs": sig.max_abs, "ratio": 0.018 / sig.max_abs},
        "pulp_tanh": {"pulp_max_abs": 0.0039, "hwact_max_abs": tanh.max_abs, "ratio": 0.0039 / tanh.max_abs},
        "tflm_int16_sigmoid": {
            "tflm_max_lsb": 1.29,
            "tflm_correctly_rounded": 0.80,
            "hwact_max_lsb": sig16.max_lsb,
            "hwact_correctly_rounded": sig16.correctly_rounded_fraction,
        },
    }
    print(f"vs PULP pl.sig:  max |err| {sig.max_abs:.2e} vs 0.018  ({versus['pulp_sigmoid']['ratio']:.0f}x smaller)")
    print(f"vs PULP pl.tanh: max |err| {tanh.max_abs:.2e} vs 0.0039 ({versus['pulp_tanh']['ratio']:.0f}x smaller)")
    print(
        f"vs TFLM int16 sigmoid (s4.12 -> u0.16): {sig16.max_lsb:.3f} LSB, "
        f"{100 * sig16.correctly_rounded_fraction:.1f}% correctly rounded (TFLM: 1.29 LSB, 80%)"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "accuracy_table",
                "format": "s4.12 -> s4.12",
                "method": "auto",
                "rows": rows,
                "versus": versus,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
