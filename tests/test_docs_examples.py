"""Every command the README and the guides show prints what they say it prints (times aside)."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parent.parent
FILES = ["README.md", "docs/guide.md", "docs/numerics.md"]


@pytest.mark.parametrize("name", FILES)
def test_documented_commands_print_what_the_docs_show(name):
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "docs_examples.py"), name],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checker_notices_a_wrong_figure(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("    $ hwact generate relu --in s2.2 --out s2.2 -o out\n"
                   "    relu: relu s2.2 -> s2.2, 1 lane(s), latency 0; max error 0.25 LSB, 100.00% correctly rounded\n")
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from docs_examples import run_file
    finally:
        sys.path.pop(0)
    problems = run_file(doc, write=False)
    assert len(problems) == 1 and "max error 0 LSB" in problems[0]
    run_file(doc, write=True)
    assert run_file(doc, write=False) == []
