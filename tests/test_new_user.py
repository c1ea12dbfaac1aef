"""What trying hwact as a new user found (issue 20): each defect pinned by a test that failed before its fix.

Fast: nothing here plans a 16-bit smooth unit or runs a core; the two signal tests start a
subprocess and stop it within seconds.
"""

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from hwact import evaluate, make_plan
from hwact.cfu.config import parse_config
from hwact.cli import main
from hwact.cli.sim import record_name

HWACT = [sys.executable, "-m", "hwact.cli"]
ROOT = Path(__file__).resolve().parent.parent


def unit(**extra):
    return {"name": "u", "function": "relu", "in_format": "s4.4", "out_format": "s4.4", **extra}


def toml(units: list[dict]) -> str:
    def value(v):
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return json.dumps(v)

    return "".join("[[unit]]\n" + "".join(f"{k} = {value(v)}\n" for k, v in u.items()) for u in units)


# 1. A unit named like one of the CFU's own files overwrote it.
@pytest.mark.model
@pytest.mark.parametrize("name", ["Cfu", "CfuPcpi", "cfu", "CFU", "hwact_cfu", "HWACT_Cfu"])
def test_a_unit_named_like_a_cfu_file_is_refused(name):
    with pytest.raises(ValueError, match=f"unit '{name}': name '{name}' would overwrite one of the CFU's own files"):
        parse_config({"unit": [unit(name=name)]})


# 4. Errors from a CFU configuration name the file, the unit and the key as the file spells it.
@pytest.mark.cli
@pytest.mark.parametrize("entry, words", [
    (unit(in_format="s4.x"), "unit 'u': bad format 's4.x'"),
    (unit(lanes=3), "unit 'u': lane count must be one of 1, 2, 4, not 3"),
    (unit(function="tanh", method="pwl", max_err_lsb=0.3), "give max_err_lsb above"),
    (unit(params={"alpha": 1}), "unit 'u': relu has no parameter 'alpha'"),
])
def test_config_errors_name_the_file_and_the_unit(tmp_path, capsys, entry, words):
    config = tmp_path / "mine.toml"
    config.write_text(toml([entry]))
    assert main(["cfu", str(config), "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hwact: error: {config}: ") and words in err and err.count("\n") == 1, err
    assert "--max-err-lsb" not in err and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def small_cfu(tmp_path_factory):
    """A CFU written with the old key spellings, one unit with a parameter: ``(config, out, stdout, stderr)``."""
    import contextlib
    import io

    work = tmp_path_factory.mktemp("small_cfu")
    config = work / "old.toml"
    config.write_text('[[unit]]\nname = "r"\nfunction = "relu6"\nin = "s4.4"\nout = "s4.4"\nlanes = 4\n'
                      + toml([unit(name="g", function="gelu", params={"approximate": "tanh"})]))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert main(["cfu", str(config), "-o", str(work / "out")]) == 0
    return config, work / "out", out.getvalue(), err.getvalue()


@pytest.mark.cli
def test_old_config_spellings_still_work_with_a_warning(small_cfu):
    config, _, _, err = small_cfu
    assert err.splitlines() == [
        f"hwact: warning: {config}: unit 'r': key 'in' is now spelled 'in_format' (the old spelling still works)",
        f"hwact: warning: {config}: unit 'r': key 'out' is now spelled 'out_format' (the old spelling still works)"]


@pytest.mark.cli
def test_a_unit_request_is_spelled_alike_everywhere(small_cfu):
    """One spelling per field: the manifest's keys, the configuration's keys, the Python arguments."""
    from dataclasses import fields

    from hwact.artifacts import UNIT_FIELDS, UnitSpec

    _, out, _, _ = small_cfu
    manifest = json.loads((out / "g.json").read_text())
    names = [f.name for f in UNIT_FIELDS]
    assert names == [f.name for f in fields(UnitSpec)]
    assert {"function", "in_format", "out_format", "method", "params", "lanes", "stages"} <= set(manifest)
    assert set(names) - set(manifest) == {"max_err_lsb", "name", "rounding", "overflow"}  # the plan holds them
    assert UnitSpec.from_mapping({k: manifest[k] for k in names if k in manifest and k != "method"}).in_format == "s4.4"


# 5. evaluate() truncated float codes silently.
@pytest.mark.model
def test_evaluate_refuses_codes_that_are_not_integers():
    plan = make_plan("relu", "s4.4", "s4.4")
    with pytest.raises(ValueError, match=r"input codes must be integers .*not 2\.7"):
        evaluate(plan, [2.7, 1.9999])
    assert list(evaluate(plan, np.array([2.0, -3.0]))) == [2, 0]  # whole numbers stored as floats are codes


# 6. Mismatch lines mixed hex and decimal: tests/test_cli.py (test_a_mismatch_fails_the_sim).


# 7. The Pareto plot of an exact function was an empty log-scale plot with a warning.
@pytest.mark.model
def test_pareto_plot_of_an_exact_function_has_no_warning():
    from hwact.report.plots import pareto_plot

    rows = [{"label": "auto 1 LSB", "method": "exact", "cost": 12, "max_lsb": 0.0},
            {"label": "auto 4 LSB", "method": "exact", "cost": 10, "max_lsb": 0.0}]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pareto_plot(rows, "relu6", "cost").startswith(b"\x89PNG")


# 8. SIGTERM left hwact-sim-* folders behind; Ctrl-C during the demo left partial output.
def _wait_for(predicate, timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.cli
def test_sigterm_removes_the_temporary_folders(tmp_path):
    assert main(["generate", "relu", "--in", "s4.12", "--out", "s4.12", "-o", str(tmp_path)]) == 0
    temp = tmp_path / "tmp"
    temp.mkdir()
    process = subprocess.Popen([*HWACT, "sim", str(tmp_path / "relu.json")], env={**os.environ, "TMPDIR": str(temp)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert _wait_for(lambda: any(temp.glob("hwact-sim-*"))), "the simulation never started"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err.strip() == "hwact: interrupted"
    assert list(temp.iterdir()) == []


@pytest.mark.cli
def test_an_interrupted_demo_leaves_no_output(tmp_path):
    out = tmp_path / "demo"
    process = subprocess.Popen([*HWACT, "demo", "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    assert _wait_for(lambda: any(p.name.startswith(".demo.") and any(p.iterdir()) for p in tmp_path.iterdir()))
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "hwact: interrupted" in err
    assert list(tmp_path.iterdir()) == []


# 10. The error plot hid the worst case (1,500 envelope bins in about 600 pixels).
@pytest.mark.model
def test_the_error_plot_marks_the_largest_error():
    from hwact.report.errors import samples
    from hwact.report.plots import ENVELOPE_BINS, error_figure

    plan = make_plan("gelu", "s6.7", "s4.8", method="lut")  # 8,192 codes: drawn as an envelope
    points = samples(plan)
    fig = error_figure(plan, points, [])
    ax = fig.axes[0]
    worst = float(np.abs(points.err).max())
    marks = [line for line in ax.get_lines() if line.get_label().startswith("largest:")]
    assert len(marks) == 1 and abs(abs(marks[0].get_ydata()[0]) - worst) < 1e-12
    assert f"{worst:.3g} LSB" in marks[0].get_label()
    width = ax.get_window_extent().width  # pixels at the figure's dpi; the PNG is saved at 110 dpi
    assert ENVELOPE_BINS <= width * 110 / fig.dpi


# 11. is in tests/test_cli.py (test_more_random_vectors_than_inputs_means_every_input).
# 12. `--rounding rnd` was refused; a misspelled function got no suggestion (and tests/test_bad_inputs.py).
@pytest.mark.cli
def test_modes_and_methods_ignore_case(tmp_path):
    assert main(["generate", "relu", "--in", "s2.2", "--out", "s2.2", "--rounding", "rnd_conv", "--overflow", "wrap",
                 "--method", "EXACT", "-o", str(tmp_path)]) == 0
    plan = json.loads((tmp_path / "relu.json").read_text())["plan"]
    assert (plan["output"]["rounding"], plan["output"]["overflow"], plan["method"]) == ("RND_CONV", "WRAP", "exact")


# 13. `--simulator verilator` overwrote the Icarus record (and tests/test_verilator.py).
@pytest.mark.model
def test_every_kind_of_run_has_its_own_record():
    manifest = Path("out/relu.json")
    names = {record_name(manifest, simulator, coverage, vectors).name
             for simulator in ("icarus", "verilator") for coverage, vectors in (("exhaustive", "exhaustive"),
                                                                                ("500 random", 500))}
    assert names == {"relu.sim.json", "relu.sim-verilator.json", "relu.sim-500.json", "relu.sim-500-verilator.json"}


# 14. isa.md and the CFU listing dropped parameters; explore merged budgets silently.
@pytest.mark.cli
def test_parameters_are_shown_wherever_a_unit_is_listed(small_cfu, tmp_path):
    _, out, printed, _ = small_cfu
    assert "gelu approximate=tanh s4.4 -> s4.4" in printed
    assert "| gelu approximate=tanh |" in (out / "isa.md").read_text()
    assert main(["report", str(out / "cfu.json"), "--format", "md", "-o", str(tmp_path / "r")]) == 0
    assert "| g | 1 | gelu approximate=tanh s4.4 → s4.4 |" in (tmp_path / "r" / "cfu.report.md").read_text()


@pytest.mark.model
def test_explore_says_which_budgets_share_a_plan():
    from hwact.report.explore import sweep

    rows = sweep("relu6", "s2.2", "s2.2", {}, (1.0, 2.0), None)
    assert [r["label"] for r in rows if r["label"].startswith("auto")] == ["auto 1, 2 LSB"]


# 16. Integer output formats collapsed to 0/1, and an unsigned output clipped half of tanh, silently.
@pytest.mark.cli
@pytest.mark.parametrize("function, fin, fout, words", [
    ("sigmoid", "int8", "int8", "the output takes only 2 values over all of s8.0"),
    ("tanh", "s4.4", "u0.8", "give tanh values outside what u0.8 holds (0 .. 0.996094; 50% below"),
])
def test_a_useless_output_format_is_flagged(tmp_path, capsys, function, fin, fout, words):
    assert main(["generate", function, "--in", fin, "--out", fout, "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("hwact: warning: ") and words in err, err


# 17. The docs: the compile line Debian's toolchain needs, no citations of a document not in the repository.
@pytest.mark.model
def test_the_docs_hold_what_a_new_user_needs():
    guide = (ROOT / "docs" / "guide.md").read_text()
    compile_lines = [line for line in guide.splitlines() if "riscv64-unknown-elf-gcc -march" in line
                     and "Werror" not in line]
    assert compile_lines and all("--specs=picolibc.specs" in line for line in compile_lines)
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        assert "design §" not in doc.read_text(), doc.name
    readme = (ROOT / "README.md").read_text()
    assert "## The two commands" not in readme or readme.split("## The two commands")[1].split("\n\n")[1].count(
        "    make ") == 2


# Issue 20, item 1: `hwact sim DIR/cfu.json` proves any CFU (the guide's walk-through runs the passing
# proof on both cores under tests/test_docs_examples.py); here, a check that cannot run fails the whole.
@pytest.mark.cli
def test_a_cfu_proof_that_cannot_run_fails_with_a_line_per_check(small_cfu):
    _, out, _, _ = small_cfu
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no iverilog, no RISC-V compiler
    result = subprocess.run([*HWACT, "sim", str(out / "cfu.json")], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("  FAIL  ") and "protocol" in line] == [
        "  FAIL  Cfu.v protocol (Icarus)", "  FAIL  CfuPcpi.v protocol (Icarus)"]
    assert sum(line.startswith("  FAIL  firmware on ") for line in lines) == 2
    assert sum(line.startswith("  FAIL  id ") for line in lines) == 2  # no unit passes without its cores
    assert lines[-2].endswith("0 of 4 checks passed on verilator in " + lines[-2].split(" in ")[-1])
    assert lines[-2].endswith(": FAIL")
    record = json.loads((out / "cfu.sim.json").read_text())
    assert record["passed"] is False and [c["passed"] for c in record["checks"]] == [False] * 4
    assert "iverilog" in record["checks"][0]["detail"]


# Issue 20, item 4: `--network` takes the user's own units (manifests or a cfu.json).
@pytest.mark.cli
def test_the_network_report_takes_the_users_units(tmp_path, small_cfu, monkeypatch):
    import hwact.report.network

    monkeypatch.setattr(hwact.report.network, "EPOCHS", 20)  # a trained network, in a fraction of the time
    assert main(["generate", "hardswish", "--in", "s4.4", "--out", "s4.4", "--name", "hs", "-o", str(tmp_path)]) == 0
    _, cfu_dir, _, _ = small_cfu
    assert main(["report", "--network", "digits", str(tmp_path / "hs.json"), str(cfu_dir / "cfu.json"),
                 "--format", "json", "-o", str(tmp_path / "net")]) == 0
    units = json.loads((tmp_path / "net" / "network-digits.report.json").read_text())["network"]["units"]
    assert [(u["unit"], u["activation"], u["in_format"]) for u in units] == [
        ("hs", "hardswish", "s4.4"), ("r", "relu6", "s4.4"), ("g", "gelu approximate=tanh", "s4.4")]
    for u in units:  # a trained network, and the unit's codes through it
        assert u["float_accuracy"] > 0.5 and u["accuracy"] > 0.5 and 0 <= u["changed"] <= 540


@pytest.mark.cli
def test_the_network_report_refuses_units_it_cannot_place(tmp_path, capsys):
    assert main(["generate", "glu", "--in", "s4.4", "--out", "s4.4", "-o", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["report", "--network", "digits", str(tmp_path / "glu.json"), "-o", str(tmp_path / "net")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hwact: error: unit 'glu' (glu) takes a second operand") and err.count("\n") == 1
    assert not (tmp_path / "net").exists()
