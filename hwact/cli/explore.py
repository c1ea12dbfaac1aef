"""``hwact explore``: sweep plans for one function; measure error and synthesized cost; Pareto plot.

    hwact explore FUNC --in FMT --out FMT [--param NAME=VALUE] [--budgets 1,2,4] [--synth ice40|ecp5|none]
                  [--jobs 2] -o DIR

The sweep is :func:`hwact.report.explore.sweep`. Writes ``FUNC.explore.csv``,
``FUNC.explore.json`` and ``FUNC.pareto.png`` (max error against LUT4), all or nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import json

from .options import add_output, add_unit_arguments, spec_from_args
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "explore"


def _budgets(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes comma-separated positive numbers, not {text!r}") from None
    if not values or any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"takes comma-separated positive numbers, not {text!r}")
    return values


def add_parser(commands) -> None:
    """Add ``hwact explore`` to the command line."""
    from ..report.explore import DEFAULT_BUDGETS

    p = commands.add_parser(COMMAND, help="sweep plans for a function: error against synthesized cost, Pareto plot")
    p.add_argument("function", help="activation function to sweep (`hwact list` shows them)")
    add_unit_arguments(p, ("in_format", "out_format", "params", "stages"))
    p.add_argument("--budgets", type=_budgets, default=DEFAULT_BUDGETS, metavar="E,E,...",
                   help="error budgets (LSB) for auto (default 0.5,1,2,4)")
    p.add_argument("--synth", default="ice40", metavar="ice40|ecp5|none", help="part to synthesize for (default ice40)")
    p.add_argument("--jobs", type=int, default=2, metavar="N", help="parallel synthesis jobs (default 2)")
    add_output(p, "the CSV, JSON and Pareto plot")


def run(args) -> int:
    """Run the sweep and write CSV, JSON and the Pareto plot."""
    from ..artifacts import write_files
    from ..report.explore import COLUMNS, sweep
    from ..report.plots import pareto_plot
    from ..synth import TARGETS, tool_versions

    spec = spec_from_args(args, args.function)  # checks the function, formats and parameters' container
    params = dict(spec.params)
    target = None if args.synth == "none" else args.synth
    if target is not None and target not in TARGETS:
        raise ValueError(f"--synth takes one of {', '.join(TARGETS)} or none, not {args.synth!r}")
    if args.jobs < 1:
        raise ValueError(f"--jobs must be a positive count, not {args.jobs}")
    with Progress(f"explore {args.function}") as progress:
        rows = sweep(args.function, args.in_format, args.out_format, params, args.budgets, target, args.stages,
                     args.jobs, progress)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    data = {
        "function": args.function,
        "in_format": args.in_format,
        "out_format": args.out_format,
        "params": params,
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
    for path in write_files(args.output, files):
        print(f"  wrote {path}")
    front = sorted((r for r in rows if r.get(cost_key) is not None), key=lambda r: (r[cost_key], r["max_lsb"]))
    best = float("inf")
    for r in front:
        if r["max_lsb"] < best:
            best = r["max_lsb"]
            print(f"  Pareto: {r['label']:<24} {r['max_lsb']:8.4g} LSB  {r[cost_key]} {cost_key}")
    return 0
