"""Regenerate the report gallery under docs/reports/ (Markdown, JSON and PNG, checked in).

    .venv/bin/python bench/report_gallery.py [--no-synth]

Each entry is made by the same code as ``hwact report`` / ``hwact explore``; docs/reports.md
links them and explains how to read each figure. Synthesis results are cached (see
``hwact.synth``), so a second run only re-measures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hwact.cli import main as hwact

GALLERY = ROOT / "docs" / "reports"

#: (directory, function, input, output, stages, synthesize)
UNITS = (
    ("gelu_s4.12", "gelu", "s4.12", "s4.12", 3, True),
    ("sigmoid_s4.4", "sigmoid", "s4.4", "u0.8", 1, True),
    ("tanh_s4.12", "tanh", "s4.12", "s1.15", 2, False),
    ("silu_s4.12", "silu", "s4.12", "s4.12", 2, False),
)


def _clean(directory: Path, keep: tuple[str, ...] = (".md", ".png", ".json", ".csv")) -> None:
    """Keep only what the gallery checks in (the report's own files, not the unit's Verilog and header)."""
    for path in directory.iterdir():
        if path.suffix not in keep or (path.suffix == ".json" and not path.name.endswith((".report.json",
                                                                                          ".explore.json"))):
            path.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-synth", action="store_true", help="skip synthesis (error figures only)")
    parser.add_argument("only", nargs="*", help="regenerate only these entries (directory names; default all)")
    args = parser.parse_args()
    synth = not args.no_synth
    wanted = set(args.only) or {u[0] for u in UNITS} | {"cfu", "explore_tanh"}
    for name in wanted:
        if (GALLERY / name).exists():
            shutil.rmtree(GALLERY / name)
    for directory, function, fin, fout, stages, with_synth in UNITS:
        if directory not in wanted:
            continue
        out = GALLERY / directory
        argv = ["report", function, "--in", fin, "--out", fout, "--stages", str(stages), "--format", "md,json",
                "-o", str(out)]
        if synth and with_synth:
            argv += ["--synth", "ice40,ecp5"]
        print("hwact " + " ".join(argv), file=sys.stderr)
        if hwact(argv):
            return 1
        _clean(out)
    argv = ["report", str(ROOT / "rtl" / "cfu" / "cfu.json"), "--format", "md,json", "-o", str(GALLERY / "cfu")]
    if synth:
        argv += ["--synth", "ice40,ecp5"]
    print("hwact " + " ".join(argv), file=sys.stderr)
    if "cfu" in wanted and hwact(argv):
        return 1
    if "explore_tanh" not in wanted:
        return 0
    argv = ["explore", "tanh", "--in", "s3.9", "--out", "s1.11", "--budgets", "0.5,1,2,4",
            "--synth", "ice40" if synth else "none", "-o", str(GALLERY / "explore_tanh")]
    print("hwact " + " ".join(argv), file=sys.stderr)
    if hwact(argv):
        return 1
    print(f"gallery written to {GALLERY}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
