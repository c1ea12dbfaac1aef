"""Benchmark helper: the SHA-256 of the plan JSON of a representative set of requests.

A refactor of the planners must not change a plan. Run this before and after, and compare:

    python bench/plan_hashes.py -o before.json            # on the old code
    python bench/plan_hashes.py --compare before.json     # on the new code: exit 1 on any difference

The set: every function at 8 bits with ``auto`` and every method that applies to it; every
function at 16 bits (s4.12 -> s1.15 for the bounded ones, s4.12 otherwise) with ``auto``,
``pwl``, ``pwl2`` and ``lut`` (the exact family: ``auto`` and ``exact``; gated units: ``auto``);
other rounding and overflow modes, budgets, affine formats and parameters; a few 24-bit inputs.
A request no plan meets records its error message instead (a change there shows as well).
Writes bench/results/plan_hashes.json unless ``-o`` says otherwise. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from hwact.approx import PlanError, make_plan, methods_for
from hwact.functions import FUNCTIONS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

NAMES = sorted({f.name: f for f in FUNCTIONS.values()})
BOUNDED = {"sigmoid", "tanh", "softsign"}


def cases() -> list[dict]:
    """Every request of the set, as keyword arguments of ``make_plan`` (plus ``function`` and formats)."""
    rows: list[dict] = []

    def add(function: str, fin: str, fout: str, **options) -> None:
        rows.append({"function": function, "in_fmt": fin, "out_fmt": fout, **options})

    for name in NAMES:
        family = FUNCTIONS[name].family
        for method in ("auto", *methods_for(family)):
            if method != "cr":
                add(name, "s4.4", "s4.4", method=method)
    for name in NAMES:
        family = FUNCTIONS[name].family
        out = "s1.15" if name in BOUNDED else "s4.12"
        methods = {"exact": ("auto", "exact"), "gated": ("auto",)}.get(family, ("auto", "pwl", "pwl2", "lut"))
        for method in methods:
            add(name, "s4.12", out, method=method)
    # Modes, budgets, formats and parameters the default requests do not reach.
    for rounding in ("TRN", "TRN_ZERO", "RND_CONV", "RND_INF"):
        add("sigmoid", "s4.4", "u0.8", rounding=rounding)
        add("tanh", "s4.12", "s1.15", method="pwl", rounding=rounding, max_err_lsb=1.5)
        add("hardsigmoid", "s4.4", "u0.8", rounding=rounding)
    for overflow in ("WRAP", "SAT_SYM"):
        add("gelu", "s4.4", "s2.6", overflow=overflow)
        add("tanh", "s4.12", "s1.15", method="pwl2", overflow=overflow)
        add("leaky_relu", "s4.4", "s2.6", overflow=overflow)
    for budget in (0.5, 2.0, 4.0):
        add("sigmoid", "s4.12", "u0.16", max_err_lsb=budget)
        add("silu", "s4.12", "s4.12", method="pwl2", max_err_lsb=budget)
        add("glu", "s4.4", "s4.4", max_err_lsb=budget)
    add("sigmoid", "int8(scale=0.0235, zp=-3)", "tflite:logistic")
    add("tanh", "int8(scale=0.05, zp=0)", "tflite:tanh", method="pwl")
    add("gelu", "s4.12", "s4.12", params={"approximate": "tanh"}, method="pwl2")
    add("silu", "s4.12", "s4.12", params={"beta": 1.5})
    add("hardsigmoid", "s4.12", "u0.16", params={"variant": "keras"})
    add("prelu", "s4.4", "s4.4", params={"slope_format": "s1.7"})
    add("swiglu", "s4.12", "s4.12", method="pwl2")
    add("gelu", "s4.12", "s4.12", method="cr", max_err_lsb=0.5)
    # Wide inputs: probe sets instead of every code.
    add("sigmoid", "s8.16", "u0.16", method="pwl")
    add("tanh", "s8.16", "s1.15")
    add("gelu", "s8.16", "s8.16", method="pwl2")
    add("exp2", "s6.18", "u8.16")
    add("leaky_relu", "s12.12", "s12.12")
    return rows


def key(case: dict) -> str:
    return json.dumps(case, sort_keys=True)


def plan_hash(case: dict) -> tuple[str, str, float]:
    """``(key, sha256 of the plan JSON or of the error message, seconds)`` of one request."""
    start = time.perf_counter()
    options = dict(case)
    try:
        plan = make_plan(options.pop("function"), options.pop("in_fmt"), options.pop("out_fmt"), **options)
        text = plan.to_json()
    except PlanError as error:
        text = f"PlanError: {error}"
    return key(case), hashlib.sha256(text.encode()).hexdigest(), time.perf_counter() - start


def cost_rank(case: dict) -> tuple:
    """Cheap requests first, so a run cut short still compares many: by input width, then method."""
    from hwact.fixed import Fmt

    order = {"lut": 0, "exact": 0, "auto": 1, "pwl": 2, "pwl2": 3, "cr": 4}
    return Fmt.parse(case["in_fmt"]).width, order.get(case.get("method", "auto"), 5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=RESULTS / "plan_hashes.json")
    parser.add_argument("--compare", type=Path, help="hashes written by an earlier run: exit 1 on any difference")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    todo = sorted(cases(), key=cost_rank)
    start = time.perf_counter()
    hashes: dict[str, str] = {}
    slowest = (0.0, "")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) as pool:
        # Written after every plan, so a run cut short (a loaded machine) still leaves what it found.
        for k, digest, seconds in pool.map(plan_hash, todo):
            hashes[k] = digest
            slowest = max(slowest, (seconds, k))
            found = {"plans": dict(sorted(hashes.items())), "complete": len(hashes) == len(todo),
                     "seconds": round(time.perf_counter() - start, 1)}
            args.output.write_text(json.dumps(found, indent=1) + "\n")
    total = time.perf_counter() - start
    print(f"{len(hashes)} plans in {total:.0f} s (slowest: {slowest[0]:.1f} s, {slowest[1]})")
    if args.compare is None:
        return 0
    before = json.loads(args.compare.read_text())["plans"]
    changed = sorted(k for k in before.keys() & hashes.keys() if before[k] != hashes[k])
    missing = sorted(before.keys() ^ hashes.keys())
    for k in changed:
        print(f"changed: {k}")
    for k in missing:
        print(f"only in one run: {k}")
    same = len(before.keys() & hashes.keys()) - len(changed)
    print(f"{same} identical, {len(changed)} changed, {len(missing)} in one run only")
    return 1 if changed or missing else 0


if __name__ == "__main__":
    sys.exit(main())
