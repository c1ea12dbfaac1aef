"""The command line behaves as a user expects: help, version, pipes, messages, warnings, progress."""

import io
import json
import subprocess
import sys

import pytest

from hwact.cli import build_parser, main
from hwact.cli.progress import Progress

pytestmark = pytest.mark.cli

HWACT = [sys.executable, "-m", "hwact.cli"]


def run(*args, **kwargs):
    return subprocess.run([*HWACT, *args], capture_output=True, text=True, **kwargs)


def test_bare_hwact_prints_help_and_version_prints_the_version():
    bare = run()
    assert bare.returncode == 0 and "usage: hwact" in bare.stdout and "generate" in bare.stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("hwact ")


def test_a_closed_pipe_ends_quietly():
    process = subprocess.Popen([*HWACT, "list", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.read(100)
    process.stdout.close()  # the reader goes away, as `| head -c 100` does
    assert process.wait(timeout=60) == 0
    assert process.stderr.read() == b""


def test_every_argument_of_every_command_has_help():
    parser = build_parser()
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    missing = [f"{name} {action.dest}" for name, sub in commands.choices.items() for action in sub._actions
               if action.dest != "help" and not action.help]
    assert not missing


def test_function_names_are_case_insensitive(tmp_path, capsys):
    assert main(["generate", "ReLU6", "--in", "s2.2", "--out", "s2.2", "-o", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "relu6.json").read_text())["function"] == "relu6"


@pytest.mark.parametrize("argv, message", [
    (["generate", "relu6", "--in", "s4.4", "--out", "s4.4", "--name", "module"],
     "hwact: error: module name must not be a Verilog keyword, not 'module'\n"),
    (["generate", "relu6", "--in", "s4.4", "--out", "s4.4", "--lanes", "3"],
     "hwact: error: lane count must be one of 1, 2, 4, not 3\n"),
    (["generate", "tanh", "--in", "s4.4", "--out", "s4.4", "--method", "pwl", "--max-err-lsb", "0.3"],
     "with error at most 0.3 LSB; tried method pwl only (auto also tries lut, pwl2, cr)"),
    (["generate", "glu", "--in", "s16.16", "--out", "s16.16"],
     "hwact: error: glu at s16.16 -> s16.16: the gate sigmoid(b) would need 36 bits"),
])
def test_messages_speak_of_what_the_user_asked_for(tmp_path, capsys, argv, message):
    assert main([*argv, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert "s2.34" not in err
    assert not (tmp_path / "out").exists()


def test_a_strict_budget_says_so(tmp_path, capsys):
    assert main(["generate", "tanh", "--in", "s4.4", "--out", "s4.4", "--method", "lut", "--max-err-lsb", "0.6",
                 "--rounding", "TRN", "-o", str(tmp_path / "o")]) == 1
    assert "below 0.6 LSB (the bound is strict)" in capsys.readouterr().err


def test_a_degenerate_unit_is_flagged(tmp_path, capsys):
    assert main(["generate", "exp", "--in", "UQ0.8", "--out", "UQ0.8", "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("hwact: warning: every output is 0.996094 (code 255)")
    manifest = json.loads((tmp_path / "exp.json").read_text())
    assert manifest["warnings"] and manifest["cost"]["table_bits"] == 0  # no table spent on a constant


def test_progress_shows_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet, shown = io.StringIO(), Terminal()
    Progress.AFTER = 0.0
    try:
        import time

        with Progress("planning", quiet):
            time.sleep(0.6)
        with Progress("planning", shown):
            time.sleep(1.2)
    finally:
        Progress.AFTER = 2.0
    assert quiet.getvalue() == ""
    assert "planning ... " in shown.getvalue() and shown.getvalue().endswith("\r\033[K")


def test_progress_names_the_current_step_and_keeps_output_apart():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    shown, out = Terminal(), io.StringIO()
    Progress.AFTER = 0.0
    try:
        import time

        with Progress("hwact demo", shown) as progress:
            progress("unit 3/13: tanh_q12")
            time.sleep(0.7)
            progress.echo("a line of output", out)
    finally:
        Progress.AFTER = 2.0
    assert "\r\033[Khwact demo: unit 3/13: tanh_q12 ... " in shown.getvalue()
    assert out.getvalue() == "a line of output\n" and shown.getvalue().endswith("\r\033[K")


def test_every_long_command_shows_progress():
    """Each command but `list` runs its work inside the one progress helper (on a terminal only)."""
    import importlib
    import inspect

    from hwact.cli import COMMANDS

    for name in COMMANDS:
        source = inspect.getsource(importlib.import_module(f"hwact.cli.{name}"))
        assert ("with Progress(" in source) == (name != "listing"), name


@pytest.mark.icarus
def test_a_spot_check_does_not_replace_the_proof(tmp_path, capsys):
    assert main(["generate", "relu", "--in", "s2.2", "--out", "s2.2", "-o", str(tmp_path)]) == 0
    assert main(["sim", str(tmp_path / "relu.json")]) == 0
    assert main(["sim", str(tmp_path / "relu.json"), "--vectors", "5"]) == 0
    proof = json.loads((tmp_path / "relu.sim.json").read_text())
    spot = json.loads((tmp_path / "relu.sim-5.json").read_text())
    assert proof["coverage"] == "exhaustive" and proof["vectors"] == 16
    assert spot["coverage"] != "exhaustive"


def test_nothing_below_the_command_line_imports_it():
    """The command line sits on top: no module outside hwact/cli imports it, and it uses no private names."""
    import ast
    from pathlib import Path

    package = Path(__file__).resolve().parent.parent / "hwact"
    offenders = []
    for path in package.rglob("*.py"):
        inside = path.parent.name == "cli" and path.parent.parent == package
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = "." * node.level + (node.module or "")
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Import):
                module, names = "", [alias.name for alias in node.names]
            else:
                continue
            if not inside and ("cli" in module.split(".") or any(n == "hwact.cli" or n == "cli" for n in names)):
                offenders.append(f"{path.relative_to(package)} imports the command line")
            if inside and module.startswith("..") and any(n.startswith("_") and not n.startswith("__") for n in names):
                offenders.append(f"{path.relative_to(package)} imports private {names} from {module}")
    assert not offenders
