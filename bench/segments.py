"""Benchmark: uniform vs non-uniform segment counts at equal maximum error (GELU, SiLU).

For each function and degree (pwl, pwl2) at s4.12 -> s4.12: the non-uniform plans the
planner makes at a range of fit tolerances, and for each, the fewest uniform (bit-sliced,
power-of-two) segments of the same degree that reach the same measured maximum error.
Writes bench/results/segments.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from hwact import Fmt, make_plan
from hwact.approx.table import plan_table
from hwact.functions import get, resolve_params
from hwact.measure import measure

FMT = Fmt(4, 12)


def fewest_uniform(fn, params, method, error):
    for shift in range(FMT.width - 1, -1, -1):
        plan = plan_table(fn, params, FMT, FMT, method=method, shift=shift)
        reached = measure(plan).max_lsb
        if reached <= error:
            return plan.select.segments, reached
    return None, None


def main(out: Path = Path(__file__).parent / "results" / "segments.json") -> None:
    rows = []
    for name in ("gelu", "silu"):
        fn = get(name)
        params = resolve_params(fn)
        auto = make_plan(name, FMT, FMT)
        auto_stats = measure(auto)
        uniform, reached = fewest_uniform(fn, params, auto.method, auto_stats.max_lsb)
        print(f"{name} auto: {auto.method}, {auto.select.segments} segments, {auto_stats.max_lsb:.3f} LSB, "
              f"{100 * auto_stats.correctly_rounded_fraction:.1f}% CR; uniform {auto.method} needs {uniform} "
              f"({uniform / auto.select.segments:.2f}x)")
        rows.append({"function": name, "plan": "auto", "method": auto.method, "segments": auto.select.segments,
                     "max_lsb": auto_stats.max_lsb, "uniform_segments": uniform, "uniform_max_lsb": reached})
        for method in ("pwl", "pwl2"):
            for tolerance in (0.4, 0.2, 0.1):
                plan = plan_table(fn, params, FMT, FMT, method=method, tolerance=tolerance)
                error = measure(plan).max_lsb
                uniform, reached = fewest_uniform(fn, params, method, error)
                ratio = uniform / plan.select.segments if uniform else None
                print(f"  {method:<4} tolerance {tolerance:<4}: non-uniform {plan.select.segments:>4} segments at "
                      f"{error:.3f} LSB; uniform {uniform} at {reached:.3f} ({ratio:.2f}x)")
                rows.append({"function": name, "plan": f"tolerance {tolerance}", "method": method,
                             "segments": plan.select.segments, "max_lsb": error,
                             "uniform_segments": uniform, "uniform_max_lsb": reached})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "segments", "format": "s4.12 -> s4.12", "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
