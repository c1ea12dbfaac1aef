"""Option helpers shared by the commands: the unit request's options (derived from
:data:`hwact.artifacts.UNIT_FIELDS`), ``--param``, ``--vectors`` and ``-o``."""

from __future__ import annotations

import argparse
from collections.abc import Collection
from pathlib import Path
from typing import Any

__all__ = ["UsageError", "add_output", "add_unit_arguments", "parse_params", "spec_from_args", "vectors"]


class UsageError(Exception):
    """A malformed command line (exit status 2)."""


def parse_params(pairs: list[str]) -> dict[str, str]:
    """``["alpha=0.1", ...]`` -> ``{"alpha": "0.1"}``; a pair without ``=`` is a :class:`UsageError`."""
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param takes NAME=VALUE, not {pair!r}")
        params[name.strip()] = value.strip()
    return params


def vectors(text: str) -> str | int:
    """``--vectors``: ``exhaustive`` or a positive count."""
    if text == "exhaustive":
        return text
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'exhaustive' or a positive count, not {text!r}") from None
    if count <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive count, not {count}")
    return count


def _upper(text: str) -> str:
    return text.upper()


def _lower(text: str) -> str:
    return text.lower()


def add_unit_arguments(parser: argparse.ArgumentParser, names: Collection[str] | None = None, *,
                       formats_required: bool = True, defaults: dict[str, Any] | None = None) -> None:
    """Add the options of a unit request (all of them, or those in ``names``) to ``parser``.

    Flags, help, choices and defaults come from :data:`~hwact.artifacts.UNIT_FIELDS` and
    :class:`~hwact.artifacts.UnitSpec`, so ``generate``, ``report`` and ``explore`` spell and
    check them alike. The function name (a positional argument) is the caller's to add.
    """
    from dataclasses import MISSING, fields

    from ..approx import METHODS
    from ..artifacts import UNIT_FIELDS, UnitSpec
    from ..fixed import OVERFLOW_MODES, ROUNDING_MODES

    spec_defaults = {f.name: f.default for f in fields(UnitSpec) if f.default is not MISSING}
    spec_defaults.update(defaults or {})
    extra: dict[str, dict[str, Any]] = {
        "in_format": {"required": formats_required},
        "out_format": {"required": formats_required},
        "method": {"type": _lower, "choices": METHODS},
        "max_err_lsb": {"type": float},
        "params": {"action": "append", "default": []},
        "lanes": {"type": int},
        "stages": {"type": int},
        "rounding": {"type": _upper, "choices": ROUNDING_MODES},
        "overflow": {"type": _upper, "choices": OVERFLOW_MODES},
    }
    for field in UNIT_FIELDS:
        if field.flag is None or (names is not None and field.name not in names):
            continue
        options = {"dest": field.name, "metavar": field.metavar, "help": field.help}
        if field.name in spec_defaults and field.name != "params":
            options["default"] = spec_defaults[field.name]
        options.update(extra.get(field.name, {}))
        parser.add_argument(field.flag, **options)


def spec_from_args(args: argparse.Namespace, function: str, **overrides: Any):
    """The :class:`~hwact.artifacts.UnitSpec` the parsed options describe (options not added keep defaults)."""
    from ..artifacts import UNIT_FIELDS, UnitSpec

    values = {f.name: getattr(args, f.name) for f in UNIT_FIELDS if f.flag is not None and hasattr(args, f.name)}
    values["params"] = parse_params(values.get("params", []))
    values.update(overrides)
    return UnitSpec(function=function, **values)


def add_output(parser: argparse.ArgumentParser, what: str, default: Path | None = None) -> None:
    """``-o/--output DIR`` (required unless there is a default)."""
    if default is None:
        parser.add_argument("-o", "--output", required=True, metavar="DIR", type=Path,
                            help=f"directory for {what} (created if missing)")
    else:
        parser.add_argument("-o", "--output", default=default, metavar="DIR", type=Path,
                            help=f"directory for {what} (default {default})")
