"""``hwact list [--json]``: the functions, their families, methods and parameters."""

from __future__ import annotations

import json

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "list"


def add_parser(commands) -> None:
    """Add ``hwact list`` to the command line."""
    listing = commands.add_parser(COMMAND, help="list the functions and their parameters")
    listing.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    """Print the functions, one line each (or JSON)."""
    from ..approx import methods_for
    from ..functions import FUNCTIONS, Family

    # Families in the order a reader meets them (the enum's); registration order within a family.
    order = list(Family)
    seen = sorted(dict.fromkeys(FUNCTIONS.values()), key=lambda f: order.index(f.family))
    if args.json:
        print(json.dumps([{
            "name": f.name,
            "family": f.family,
            "summary": f.summary,
            "operands": f.operands,
            "methods": list(methods_for(f.family)),
            "aliases": list(f.aliases),
            "params": [{"name": p.name, "default": p.default, "kind": p.kind, "choices": list(p.choices),
                        "doc": p.doc} for p in f.params],
            "notes": f.notes,
        } for f in seen], indent=2))
        return 0

    def shown(value) -> str:
        return "auto" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    for f in seen:
        params = " ".join(f"{p.name}={shown(p.default)}" for p in f.params)
        print(f"{f.name:<14} {f.family:<6} {f.summary}" + (f"  [{params}]" if params else ""))
    return 0
