"""The design-space sweep behind ``hwact explore``: plans for one function, their measured error
and synthesized cost.

The sweep: ``auto`` at each error budget; ``pwl`` and ``pwl2`` with uniform segments of
``2**shift`` codes (segment counts from 4 up to 256 over the folded input range) and with the
accumulator's guard bits below the output LSB (the coefficient widths) at 2, 4 and 6; and a
direct table (``lut``) for inputs up to 12 bits. Every plan is measured on every input code
(:func:`hwact.measure.report`) and, unless ``--synth none``, synthesized (yosys + nextpnr,
inputs and outputs registered) in ``jobs`` parallel jobs. ``hwact explore`` (:mod:`hwact.cli.explore`)
writes the rows as CSV and JSON with a Pareto plot.
"""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMNS", "DEFAULT_BUDGETS", "sweep"]

GUARDS = (2, 4, 6)
SEGMENT_COUNTS = (4, 8, 16, 32, 64, 128, 256)
DEFAULT_BUDGETS = (0.5, 1.0, 2.0, 4.0)
MAX_EXPLORE_LUT_BITS = 12


def _candidates(function: str, in_fmt, out_fmt, params: dict, budgets: tuple[float, ...], progress):
    """``(label, options, plan)`` for every point of the sweep (identical plans kept once)."""
    from dataclasses import replace

    from .. import PlanError
    from ..approx import PlanRequest
    from ..approx.segments import Uniform
    from ..approx.table import plan_table
    from ..functions import Family
    from ..model import reach
    from ..plan import Method
    from ..plan_cache import cached_make_plan

    request = PlanRequest.parse(function, in_fmt, out_fmt, params=params)
    fn, in_fmt = request.function, request.in_fmt
    seen: dict[str, tuple[str, dict, Any]] = {}

    def add(label: str, options: dict, plan) -> None:
        key = plan.to_json()
        if key not in seen:
            seen[key] = (label, options, plan)
        elif label.startswith("auto ") and seen[key][0].startswith("auto "):
            # Two budgets that give the same plan share one row, and its label says so ("auto 1, 2 LSB").
            first, first_options, first_plan = seen[key]
            seen[key] = (f"{first.removesuffix(' LSB')}, {label.removeprefix('auto ')}", first_options, first_plan)

    for budget in budgets:
        if progress:
            progress(f"planning auto within {budget:g} LSB")
        try:
            add(f"auto {budget:g} LSB", {"method": "auto", "budget": budget},
                cached_make_plan(function, in_fmt, out_fmt, max_err_lsb=budget, params=params))
        except PlanError:
            continue
    if fn.family != Family.SMOOTH:
        return list(seen.values())
    if in_fmt.width <= MAX_EXPLORE_LUT_BITS:
        add("lut", {"method": "lut"}, plan_table(replace(request, method=Method.LUT)))
    for method in (Method.PWL, Method.PWL2):
        probe = plan_table(replace(request, method=method), Uniform(max(in_fmt.width - 3, 0)))
        span = reach(probe)[1] - reach(probe)[0] + 1
        for count in SEGMENT_COUNTS:
            shift = max(span // count, 1).bit_length() - 1
            if shift < 1:
                continue
            for guard in GUARDS:
                if progress:
                    progress(f"planning {method}, 2^{shift}-code segments, guard {guard}")
                try:
                    plan = plan_table(replace(request, method=method), Uniform(shift), guard=guard)
                except ValueError:
                    continue
                add(f"{method} {plan.select.segments} seg g{guard}",
                    {"method": method, "shift": shift, "guard": guard}, plan)
    return list(seen.values())


def sweep(function: str, in_fmt: str, out_fmt: str, params: dict, budgets: tuple[float, ...], target: str | None,
          stages: int = 0, jobs: int = 2, progress=None) -> list[dict[str, Any]]:
    """Measure (and synthesize) every candidate; one row per plan."""
    from concurrent.futures import ThreadPoolExecutor

    from ..cost import plan_cost
    from ..fixed import Fmt
    from ..hdl import ActivationUnit, to_verilog
    from ..measure import report

    fin, fout = Fmt.parse(in_fmt), Fmt.parse(out_fmt)
    rows = []
    for index, (label, options, plan) in enumerate(_candidates(function, fin, fout, params, budgets, progress)):
        stats = report(plan)
        cost = plan_cost(plan)
        rows.append(
            {
                "label": label,
                "shift": None,
                "guard": None,
                "budget": None,
                **options,
                "method": plan.method,
                "segments": cost.segments,
                "degree": plan.table.degree,
                "table_bits": cost.table_bits,
                "multipliers": " ".join(f"{a}x{b}" for a, b in cost.multipliers),
                "cost": cost.cost,
                "max_lsb": stats.max_lsb,
                "rms_lsb": stats.rms_lsb,
                "mean_lsb": stats.mean_lsb,
                "correctly_rounded_fraction": stats.correctly_rounded_fraction,
                "monotonic": stats.monotonic,
                "_plan": plan,
                "_name": f"x{index}",
            }
        )
    if target:
        from ..synth import synthesize

        def one(row):
            unit = ActivationUnit(row["_plan"], lanes=1, stages=stages)
            name = row["_name"]
            return row, synthesize({f"{name}.v": to_verilog(unit, name)}, name, target)

        with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
            for done, (row, result) in enumerate(pool.map(one, rows), 1):
                row.update(
                    {
                        "lut4": result["lut4"],
                        "dsp": result["dsp"],
                        "bram": result["bram"],
                        "ff": result["ff"],
                        "fmax_mhz": result.get("fmax_mhz"),
                        "target": target,
                    }
                )
                if progress:
                    progress(f"synthesized {done}/{len(rows)} ({row['label']}: {result['lut4']} LUT4)")
    for row in rows:
        row.pop("_plan")
        row.pop("_name")
    return rows


COLUMNS = (
    "label",
    "method",
    "budget",
    "shift",
    "guard",
    "segments",
    "degree",
    "table_bits",
    "multipliers",
    "cost",
    "max_lsb",
    "rms_lsb",
    "mean_lsb",
    "correctly_rounded_fraction",
    "monotonic",
    "target",
    "lut4",
    "dsp",
    "bram",
    "ff",
    "fmax_mhz",
)
