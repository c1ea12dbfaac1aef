"""Run every `$ command` shown in the docs and check (or rewrite) the output printed under it.

    python bench/docs_examples.py [--write] [FILE.md ...]     (`make docs-figures` writes)

A documented example is an indented block of lines starting with ``$ ``, each followed by the
output it printed. Every file's examples run in order in a fresh directory (so ``-o out``
paths are what the reader sees), with this interpreter's ``bin`` first on ``PATH``. The output
shown must be the start of what the command prints now; times (``in 4.2 s``) are compared as
times, not digits. A shown line ``...`` ends the comparison there; a line ending in ``...``
is the start of a longer one. With ``--write``, each
block's output is replaced by what the commands print today, times included: every figure in
the docs' examples comes from a run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
_TIME = re.compile(r"\b\d+(\.\d+)? s\b")
TIMEOUT = 600


def examples(text: str) -> list[tuple[int, str, list[str]]]:
    """``(line index, command, shown output lines)`` for every ``    $ `` line of a Markdown text."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines):
        if not line.startswith("    $ "):
            continue
        command, rest = line[6:], lines[index + 1:]
        heredoc = re.search(r"<<\s*'?(\w+)'?", command)
        end = heredoc and next((k for k, follow in enumerate(rest) if follow.strip() == heredoc.group(1)), None)
        if end is not None and heredoc:  # the here-document's lines belong to the command
            command = "\n".join([command, *(follow[4:] for follow in rest[:end + 1])])
            rest = rest[end + 1:]
            index += end + 1
        shown = []
        for follow in rest:
            if not follow.startswith("    ") or follow.startswith("    $ "):
                break
            shown.append(follow[4:])
        found.append((index, command, shown))
    return found


def _normalized(line: str) -> str:
    return _TIME.sub("<time> s", line.rstrip())


def run_file(path: Path, write: bool) -> list[str]:
    """Run one file's examples; return the differences (and rewrite the file with ``write``)."""
    text = path.read_text()
    lines = text.splitlines()
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
               COLUMNS="100")
    problems, replacements = [], []
    with tempfile.TemporaryDirectory(prefix="hwact-docs-") as work:
        for index, command, shown in examples(text):
            if command.startswith(". ") or command.startswith("source "):
                continue  # activating the venv: this interpreter's bin is already first on PATH
            result = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True, text=True,
                                    timeout=TIMEOUT)
            printed = (result.stdout + result.stderr).splitlines()
            cut = shown.index("...") if "..." in shown else len(shown)
            # A shown line ending in "..." is the start of a longer line.
            same = len(printed) >= cut and all(
                _normalized(got).startswith(_normalized(want)[:-3]) if want.endswith("...") else
                _normalized(got) == _normalized(want) for want, got in zip(shown[:cut], printed))
            if not same:
                problems.append(
                    f"{path.name}:{index + 1}: `{command}` printed:\n    " + "\n    ".join(printed[: cut + 3])
                )
            if write and shown:
                new = printed if cut == len(shown) else [*printed[:cut], "..."]
                replacements.append((index + 1, len(shown), ["    " + line if line else "" for line in new]))
    if write and replacements:
        for start, count, new in reversed(replacements):
            lines[start : start + count] = new
        path.write_text("\n".join(lines) + "\n")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="replace the shown output with today's")
    parser.add_argument("files", nargs="*", default=DEFAULT_FILES, help="Markdown files (default: README and docs/)")
    args = parser.parse_args()
    problems = []
    for name in args.files:
        problems += run_file(ROOT / name, args.write)
    for problem in problems:
        print(problem)
    verb = "rewritten" if args.write else "checked"
    when = " (before rewriting)" if args.write else ""
    print(f"{len(args.files)} file(s) {verb}; {len(problems)} example(s) differ{when}")
    return 1 if problems and not args.write else 0


if __name__ == "__main__":
    sys.exit(main())
