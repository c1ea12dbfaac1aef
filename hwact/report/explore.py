"""``hwact explore``: sweep methods, segment counts and error budgets; measure error and synthesized cost."""

from __future__ import annotations

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "explore"


def add_parser(commands) -> None:
    """Add ``hwact explore`` to the command line."""
    p = commands.add_parser("explore", help="sweep plans for a function: error against cost, Pareto plot")
    p.add_argument("function")


def run(args) -> int:
    raise ValueError("explore is not available yet")
