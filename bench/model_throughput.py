"""Benchmark: golden-model throughput (codes per second).

1. Every exact-family plan at s4.12 -> s4.12 on 2**24 codes.
2. A 16-bit uniform ``pwl`` unit (softplus, s4.12 -> s4.12, bit-sliced segments) on 2**24
   codes, against the same datapath written with APyTypes (table look-up in NumPy, the
   multiply-add and the final rounding and saturation in APyFixedArray arithmetic). Both
   results are checked to be equal before anything is timed.

One vectorized call per repeat, best of 3. Prints a table and writes
bench/results/model_throughput.json. Figures, not assertions.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import apytypes
import numpy as np

from hwact import evaluate, make_plan
from hwact.functions import FUNCTIONS
from hwact.model import segment_of

CODES = 1 << 24
REPEATS = 3


def best_time(run) -> float:
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def inputs_for(plan) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.tile(plan.in_fmt.all_codes(), CODES // plan.in_fmt.n_codes)
    if plan.operand_fmt is None:
        return x, None
    rng = np.random.default_rng(0)
    return x, rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, x.size, endpoint=True)


def apytypes_pwl(plan, x: np.ndarray) -> np.ndarray:
    """The same degree-1 bit-sliced datapath with its arithmetic in APyTypes.

    Clamp, segment select and table look-up are integer indexing (NumPy in both versions);
    the multiply, the truncating Horner shift, the add and the final rounding and saturation
    are APyFixedArray operations.
    """
    assert plan.fold is None and plan.table.degree == 1
    clamped = np.clip(x, plan.clamp.lo, plan.clamp.hi) if plan.clamp else x
    segment, t = segment_of(plan, clamped)
    rows = np.asarray(plan.table.rows, dtype=np.int64)[segment]
    shift, wide = plan.horner[0].shift, 48

    def fixed(codes, frac_bits):  # integer codes scaled by 2**-frac_bits (exact in float64 here)
        return apytypes.APyFixedArray.from_float(np.ldexp(codes.astype(np.float64), -frac_bits),
                                                 int_bits=wide - frac_bits, frac_bits=frac_bits)

    product = fixed(rows[:, 1], shift) * fixed(t, 0)  # c1 * t, scaled down by the Horner shift
    acc = product.cast(int_bits=wide, frac_bits=0, quantization=apytypes.QuantizationMode.TO_NEG) + fixed(rows[:, 0], 0)
    scaled = apytypes.APyFixedArray.from_float(np.ldexp(np.asarray(acc.to_numpy()), -plan.output.shift),
                                               int_bits=wide, frac_bits=plan.output.shift)
    out = scaled.cast(int_bits=plan.out_fmt.width, frac_bits=0, quantization=apytypes.QuantizationMode.TIES_POS,
                      overflow=apytypes.OverflowMode.SAT)
    return np.asarray(out.to_numpy(), dtype=np.int64)


def main(out: Path = Path(__file__).parent / "results" / "model_throughput.json") -> None:
    rows = []
    for name in sorted({f.name for f in FUNCTIONS.values() if f.family == "exact"}):
        plan = make_plan(name, "s4.12", "s4.12")
        x, a = inputs_for(plan)
        rate = x.size / best_time(lambda plan=plan, x=x, a=a: evaluate(plan, x, a))
        rows.append({"function": name, "method": plan.method, "segments": plan.select.segments,
                     "degree": plan.table.degree, "codes_per_s": rate})
        shape = f"exact, {plan.select.segments} segment(s), degree {plan.table.degree}"
        print(f"{name:<14} {shape}: {rate / 1e6:7.1f} M codes/s")

    pwl = make_plan("softplus", "s4.12", "s4.12", method="pwl")
    if not hasattr(pwl.select, "shift"):  # the forced method may pick either segmentation; pin uniform
        from hwact.approx import PlanRequest
        from hwact.approx.segments import Uniform
        from hwact.approx.table import plan_table

        pwl = plan_table(PlanRequest.parse("softplus", pwl.in_fmt, pwl.out_fmt, method="pwl"), Uniform(6))
    x, _ = inputs_for(pwl)
    small = pwl.in_fmt.all_codes()
    assert np.array_equal(apytypes_pwl(pwl, small), evaluate(pwl, small)), "APyTypes datapath differs"
    ours = x.size / best_time(lambda: evaluate(pwl, x))
    theirs = x.size / best_time(lambda: apytypes_pwl(pwl, x))
    print(
        f"softplus pwl ({pwl.select.segments} uniform segments): hwact {ours / 1e6:.1f} M codes/s, "
        f"same datapath in APyTypes {theirs / 1e6:.1f} M codes/s ({ours / theirs:.1f}x)"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "benchmark": "model_throughput",
                "codes": CODES,
                "python": sys.version.split()[0],
                "numpy": np.__version__,
                "apytypes": apytypes.__version__,
                "machine": platform.machine(),
                "exact": rows,
                "pwl16": {
                    "function": "softplus",
                    "segments": pwl.select.segments,
                    "hwact_codes_per_s": ours,
                    "apytypes_codes_per_s": theirs,
                },
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
