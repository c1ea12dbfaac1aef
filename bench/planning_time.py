"""Benchmark: planning time (``make_plan``, wall clock) against the design bounds.

Bounds (docs/benchmarks.md): every 16-bit plan within 10 s, every plan with inputs of up to 24
bits within 60 s. Measured: every function at s4.12 (auto method, default budget; the
sigmoid and tanh outputs also at their natural formats), and the wide formats the docs cite.
Each plan is made in a fresh process (no cache shared between rows), one at a time; the
machine's load average is recorded with the figures, since other work on it slows every row.

    python bench/planning_time.py [--only NAME ...] [--skip-wide | --wide-only]

Each row also records the CPU seconds of the planning process (less sensitive to the load
than the wall clock the bounds are about), the plan's cost, measured error and a hash of its JSON (outside the timed
part), so a change to the planners shows what it did to the plans as well as to the time.

Prints a table and writes bench/results/planning_time.json (planning_time_wide.json for
``--wide-only``). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from hwact.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LIMIT_16, LIMIT_24 = 10.0, 60.0
#: Longest a single row may run before it is recorded as "over" (seconds).
TIMEOUT = 900

NAMES = list(dict.fromkeys(f.name for f in FUNCTIONS.values()))
ROWS = [(name, "s4.12", "s4.12", {}) for name in NAMES] + [
    ("sigmoid", "s4.12", "u0.16", {}), ("tanh", "s4.12", "s1.15", {}),
    ("gelu", "s4.12", "s4.12", {"approximate": "tanh"}), ("gelu", "s4.12", "s4.12", {"approximate": "sigmoid"}),
]
#: The wide formats the docs cite (guide, approximation, benchmarks).
WIDE = [("sigmoid", "s8.16", "u0.16", {}), ("tanh", "s8.16", "s1.15", {}), ("gelu", "s8.16", "s8.16", {}),
        ("exp2", "s6.18", "u8.16", {}), ("glu", "s8.16", "s8.16", {}), ("leaky_relu", "s12.12", "s12.12", {})]

MEASURE = """
import json, sys, time
start = time.perf_counter()
from hwact import make_plan
imported, cpu = time.perf_counter(), time.process_time()
name, fmt_in, fmt_out, params = json.loads(sys.argv[1])
try:
    plan = make_plan(name, fmt_in, fmt_out, params=params)
    outcome = {"method": plan.method, "segments": plan.select.segments}
except ValueError as error:
    plan, outcome = None, {"error": str(error)}
seconds, cpu = time.perf_counter() - imported, time.process_time() - cpu
if plan is not None:  # quality and identity, outside the timed part
    import hashlib
    from hwact.measure import report
    from hwact.cost import plan_cost
    stats = report(plan)
    outcome |= {"cost": plan_cost(plan).cost, "max_lsb": round(stats.max_lsb, 6),
                "correctly_rounded_fraction": round(stats.correctly_rounded_fraction, 6),
                "plan_sha256": hashlib.sha256(plan.to_json().encode()).hexdigest()[:16]}
print(json.dumps({"seconds": seconds, "cpu_seconds": round(cpu, 2), **outcome}))
"""


def measure(row) -> dict:
    name, fmt_in, fmt_out, params = row
    load = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(row)], capture_output=True, text=True,
                              timeout=TIMEOUT, cwd=ROOT)
        result = json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else {
            "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    except subprocess.TimeoutExpired:
        result = {"seconds": None, "error": f"over {TIMEOUT} s"}
    bits = int(fmt_in[1:].split(".")[0]) + int(fmt_in.split(".")[1])
    limit = LIMIT_16 if bits <= 16 else LIMIT_24
    seconds = result.get("seconds")
    return {"function": name, "params": params, "in": fmt_in, "out": fmt_out, "input_bits": bits, **result,
            "wall_seconds": round(time.perf_counter() - started, 2), "limit_seconds": limit,
            "within": seconds is not None and seconds <= limit, "load_before": round(load, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="functions to measure (default: all)")
    parser.add_argument("--skip-wide", action="store_true", help="leave out the wide formats")
    parser.add_argument("--wide-only", action="store_true", help="only the wide formats")
    args = parser.parse_args()
    rows = WIDE if args.wide_only else ROWS + ([] if args.skip_wide else WIDE)
    if args.only:
        rows = [row for row in rows if row[0] in args.only]
    measured = []
    print(f"{'function':<24} {'in -> out':<18} {'seconds':>8} {'cpu':>6}  {'limit':>5}  {'load':>5}  method / note")
    for row in rows:
        entry = measure(row)
        measured.append(entry)
        label = entry["function"] + ("" if not entry["params"] else f" {entry['params']}")
        seconds = "-" if entry.get("seconds") is None else f"{entry['seconds']:.1f}"
        note = entry.get("error") or (f"{entry['method']}, {entry['segments']} segments, cost {entry['cost']}, "
                                      f"max {entry['max_lsb']:.3f} LSB, {entry['correctly_rounded_fraction']:.1%} CR")
        flag = "" if entry["within"] else "  OVER"
        cpu = "-" if entry.get("cpu_seconds") is None else f"{entry['cpu_seconds']:.1f}"
        formats = entry["in"] + " -> " + entry["out"]
        print(f"{label:<24} {formats:<18} {seconds:>8} {cpu:>6}  {entry['limit_seconds']:>5.0f}  "
              f"{entry['load_before']:>5.1f}  {note}{flag}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("planning_time_wide.json" if args.wide_only else "planning_time.json")
    previous = json.loads(out.read_text()) if out.exists() and args.only else None
    if previous:  # a partial run updates its rows and keeps the others
        def row_key(r: dict) -> tuple:
            return r["function"], r["in"], r["out"], json.dumps(r["params"], sort_keys=True)

        done = {row_key(m) for m in measured}
        keep = [r for r in previous["rows"] if row_key(r) not in done]
        measured = keep + measured
    out.write_text(json.dumps({"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform()},
                               "rows": measured}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
