"""Benchmark: golden-model throughput (codes per second) for every exact-family function.

Each plan is evaluated on 2**24 input codes (the 16-bit code space, 256 times over) in one
vectorized call; the best of a few repeats counts. Prints a table and writes
bench/results/model_throughput.json. Figures, not assertions: nothing here can fail a build.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from hwact import evaluate, make_plan
from hwact.functions import FUNCTIONS

CODES = 1 << 24
REPEATS = 3


def throughput(plan) -> float:
    x = np.tile(plan.in_fmt.all_codes(), CODES // plan.in_fmt.n_codes)
    operand = None
    if plan.operand_fmt is not None:
        rng = np.random.default_rng(0)
        operand = rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, x.size, endpoint=True)
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        evaluate(plan, x, operand)
        best = min(best, time.perf_counter() - start)
    return x.size / best


def main(out: Path = Path(__file__).parent / "results" / "model_throughput.json") -> None:
    names = sorted({f.name for f in FUNCTIONS.values() if f.family == "exact"})
    rows = []
    for name in names:
        plan = make_plan(name, "s4.12", "s4.12")
        rate = throughput(plan)
        rows.append({"function": name, "format": "s4.12 -> s4.12", "segments": plan.select.segments,
                     "degree": plan.table.degree, "codes_per_s": rate})
        print(f"{name:<14} {plan.select.segments} segment(s), degree {plan.table.degree}: {rate / 1e6:7.1f} M codes/s")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "model_throughput", "codes": CODES, "python": sys.version.split()[0],
                               "numpy": np.__version__, "machine": platform.machine(), "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
