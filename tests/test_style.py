"""The Python code passes the project's ruff configuration (ruff.toml: rules and 120 columns)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.model
def test_ruff_passes():
    # ruff is a dev dependency (pyproject.toml), installed by make's setup; run it as a module so
    # the venv's own copy is used.
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise", "."],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
