"""``hwact explore``: sweep plans for one function; measure error and synthesized cost; Pareto plot.

    hwact explore FUNC --in FMT --out FMT [--param NAME=VALUE] [--budgets 1,2,4] [--synth ice40|ecp5|none]
                  [--jobs 2] -o DIR

The sweep: ``auto`` at each error budget; ``pwl`` and ``pwl2`` with uniform segments of
``2**shift`` codes (segment counts from 4 up to 256 over the folded input range) and with the
accumulator's guard bits below the output LSB (the coefficient widths) at 2, 4 and 6; and a
direct table (``lut``) for inputs up to 12 bits. Every plan is measured on every input code
(:func:`hwact.measure.report`) and, unless ``--synth none``, synthesized (yosys + nextpnr,
inputs and outputs registered) in ``--jobs`` parallel jobs. Writes ``FUNC.explore.csv``,
``FUNC.explore.json`` and ``FUNC.pareto.png`` (max error against LUT4), all or nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["COMMAND", "add_parser", "run", "sweep"]

COMMAND = "explore"

GUARDS = (2, 4, 6)
SEGMENT_COUNTS = (4, 8, 16, 32, 64, 128, 256)
DEFAULT_BUDGETS = (0.5, 1.0, 2.0, 4.0)
MAX_EXPLORE_LUT_BITS = 12


def _budgets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes comma-separated positive numbers, not {text!r}") from None
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"takes comma-separated positive numbers, not {text!r}")
    return values


def add_parser(commands) -> None:
    """Add ``hwact explore`` to the command line."""
    p = commands.add_parser("explore", help="sweep plans for a function: error against synthesized cost, Pareto plot")
    p.add_argument("function", help="activation function to sweep (`hwact list` shows them)")
    p.add_argument("--in", dest="in_format", required=True, metavar="FMT", help="input format")
    p.add_argument("--out", dest="out_format", required=True, metavar="FMT", help="output format")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="function parameter")
    p.add_argument("--budgets", type=_budgets, default=DEFAULT_BUDGETS, metavar="E,E,...",
                   help="error budgets (LSB) for auto (default 0.5,1,2,4)")
    p.add_argument("--synth", default="ice40", metavar="ice40|ecp5|none", help="part to synthesize for (default ice40)")
    p.add_argument("--stages", type=int, default=0, metavar="N", help="pipeline registers of each unit (default 0)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="parallel synthesis jobs (default 2)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", type=Path,
                   help="directory for the CSV, JSON and Pareto plot (created if missing)")


def _candidates(function: str, in_fmt, out_fmt, params: dict, budgets: tuple[float, ...], progress):
    """``(label, options, plan)`` for every point of the sweep (identical plans kept once)."""
    from .. import PlanError, make_plan
    from ..approx.table import plan_table
    from ..functions import get, resolve_params
    from ..model import reach

    fn = get(function)
    values = resolve_params(fn, params)
    seen: dict[str, tuple[str, dict, Any]] = {}

    def add(label: str, options: dict, plan) -> None:
        key = plan.to_json()
        if key not in seen:
            seen[key] = (label, options, plan)

    for budget in budgets:
        if progress:
            progress(f"planning auto within {budget:g} LSB")
        try:
            add(f"auto {budget:g} LSB", {"method": "auto", "budget": budget},
                make_plan(function, in_fmt, out_fmt, max_err_lsb=budget, params=params))
        except PlanError:
            continue
    if fn.family != "smooth":
        return list(seen.values())
    if in_fmt.width <= MAX_EXPLORE_LUT_BITS:
        add("lut", {"method": "lut"}, plan_table(fn, values, in_fmt, out_fmt, method="lut"))
    for method in ("pwl", "pwl2"):
        probe = plan_table(fn, values, in_fmt, out_fmt, method=method, shift=max(in_fmt.width - 3, 0))
        span = reach(probe)[1] - reach(probe)[0] + 1
        for count in SEGMENT_COUNTS:
            shift = max(span // count, 1).bit_length() - 1
            if shift < 1:
                continue
            for guard in GUARDS:
                if progress:
                    progress(f"planning {method}, 2^{shift}-code segments, guard {guard}")
                try:
                    plan = plan_table(fn, values, in_fmt, out_fmt, method=method, shift=shift, guard=guard)
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
        from .synth import synthesize

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


def run(args) -> int:
    """Run the sweep and write CSV, JSON and the Pareto plot."""
    from ..cli import _parse_params
    from ..fixed import Fmt
    from ..functions import get
    from .document import write_outputs
    from .plots import pareto_plot
    from .synth import TARGETS, terminal_progress, tool_versions

    get(args.function)
    Fmt.parse(args.in_format), Fmt.parse(args.out_format)
    target = None if args.synth == "none" else args.synth
    if target is not None and target not in TARGETS:
        raise ValueError(f"--synth takes one of {', '.join(TARGETS)} or none, not {args.synth!r}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be a positive count, not {args.jobs}")
    show = terminal_progress(f"explore {args.function} ")
    rows = sweep(
        args.function,
        args.in_format,
        args.out_format,
        _parse_params(args.param),
        args.budgets,
        target,
        args.stages,
        args.jobs,
        show,
    )
    if show:
        print(file=sys.stderr)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = {
        "function": args.function,
        "in_format": args.in_format,
        "out_format": args.out_format,
        "params": _parse_params(args.param),
        "target": target,
        "rows": rows,
        "tools": tool_versions() if target else None,
    }
    cost_key = "lut4" if target else "cost"
    title = f"{args.function} {args.in_format} -> {args.out_format}: max error against " + (
        f"{target} LUT4" if target else "plan cost"
    )
    stem = args.function
    files = {
        f"{stem}.explore.csv": buffer.getvalue(),
        f"{stem}.explore.json": json.dumps(data, indent=2, sort_keys=True) + "\n",
        f"{stem}.pareto.png": pareto_plot(rows, title, cost_key),
    }
    for path in write_outputs(args.output, files):
        print(f"  wrote {path}")
    front = sorted((r for r in rows if r.get(cost_key) is not None), key=lambda r: (r[cost_key], r["max_lsb"]))
    best = float("inf")
    for r in front:
        if r["max_lsb"] < best:
            best = r["max_lsb"]
            print(f"  Pareto: {r['label']:<24} {r['max_lsb']:8.4g} LSB  {r[cost_key]} {cost_key}")
    return 0
