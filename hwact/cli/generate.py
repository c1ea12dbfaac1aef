"""``hwact generate FUNC --in FMT --out FMT [...] -o DIR``: plan a unit, write NAME.v, NAME.json, NAME.h."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .options import add_output, add_unit_arguments, spec_from_args
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "generate", "run"]

COMMAND = "generate"


def add_parser(commands) -> None:
    """Add ``hwact generate`` to the command line."""
    from ..artifacts import UNIT_FIELDS

    gen = commands.add_parser(COMMAND, help="plan a unit and write NAME.v, NAME.json and NAME.h")
    gen.add_argument("function", help=UNIT_FIELDS[0].help)
    add_unit_arguments(gen)
    add_output(gen, "NAME.v, NAME.json and NAME.h")


def generate(spec, output: Path, progress=None) -> dict[str, Path]:
    """Build and write one unit; return ``{role: path}`` (roles of ``artifacts.UnitFiles``)."""
    from ..artifacts import build_unit, write_files

    if progress:
        progress(f"planning {spec.top}")
    files = build_unit(spec)
    write_files(output, files)
    return {role: Path(output) / files.name(role) for role in files.ROLES}


def run(args) -> int:
    """Generate; print the unit's summary and the files written."""
    spec = spec_from_args(args, args.function)
    with Progress(f"planning {spec.function} {spec.in_format} -> {spec.out_format}"):
        written = generate(spec, args.output)
    manifest = json.loads(written["manifest"].read_text())
    for warning in manifest.get("warnings", []):
        print(f"hwact: warning: {warning}", file=sys.stderr)
    error = manifest["error"]
    print(
        f"{spec.top}: {manifest['function']} {manifest['in_format']} -> {manifest['out_format']}, "
        f"{manifest['lanes']} lane(s), latency {manifest['latency']}; max error {error['max_lsb']:.4g} LSB, "
        f"{100 * error['correctly_rounded_fraction']:.2f}% correctly rounded"
    )
    for path in written.values():
        print(f"  wrote {path}")
    return 0
