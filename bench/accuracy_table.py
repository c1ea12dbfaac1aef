"""Benchmark: accuracy and cost of every function at s4.12 -> s4.12 under ``--method auto``.

Every figure is measured on all 65,536 input codes against the float64 reference. Also
prints the comparisons docs/benchmarks.md sets as targets: PULP RNN ``pl.sig``/``pl.tanh`` (Q3.12,
max error about 0.018 / 0.0039) and TFLite-Micro's int16 sigmoid (1.29 LSB, 80 % correctly
rounded). Writes bench/results/accuracy_table.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from hwact import make_plan
from hwact.cost import plan_cost
from hwact.functions import FUNCTIONS
from hwact.measure import measure

CASES = [(f.name, {}) for f in dict.fromkeys(FUNCTIONS.values()) if f.operands == 1] + [
    ("gelu", {"approximate": "tanh"}), ("gelu", {"approximate": "sigmoid"})]


def main(out: Path = Path(__file__).parent / "results" / "accuracy_table.json") -> None:
    rows = []
    print(f"{'function':<22} {'method':<6} {'segs':>5} {'table bits':>10} {'max LSB':>8} {'RMS LSB':>8} "
          f"{'CR %':>6} {'mono':>5} {'plan s':>6}")
    for name, params in CASES:
        start = time.perf_counter()
        plan = make_plan(name, "s4.12", "s4.12", params=params)
        seconds = time.perf_counter() - start
        stats, cost = measure(plan), plan_cost(plan)
        label = name + (f"({next(iter(params.values()))})" if params else "")
        rows.append({"function": label, "method": plan.method, "segments": cost.segments,
                     "table_bits": cost.table_bits, **stats.to_dict(), "plan_seconds": seconds})
        print(
            f"{label:<22} {plan.method:<6} {cost.segments:>5} {cost.table_bits:>10} {stats.max_lsb:>8.3f} "
            f"{stats.rms_lsb:>8.3f} {100 * stats.correctly_rounded_fraction:>6.1f} "
            f"{stats.monotonic!s:>5} {seconds:>6.1f}"
        )

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
