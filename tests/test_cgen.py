"""The C backend, proven: every header compiled with sanitizers and run on every input code.

Each test compiles ONE program that includes many headers (compiling is the cost), then runs
it once per unit and mode, with codes passed in bulk through files of int64. The program's
outputs must equal :func:`hwact.model.evaluate` on every code, through the scalar function,
``_packed`` (register form, :mod:`hwact.layout`) and ``_array``; UBSan and ASan abort the run
on any undefined behaviour (``-fno-sanitize-recover=all``). Every default unit is also
cross-compiled for rv32im.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwact.cgen import c_header, storage_type
from hwact.defaults import DEFAULT_UNITS
from hwact.fixed import Fmt
from hwact.functions import FUNCTIONS
from hwact.layout import pack_inputs, unpack_outputs
from hwact.measure import segment_edges
from hwact.model import evaluate
from hwact.plan import CoefTable, HornerStep, OutputStage, Plan, SegmentSelect

pytestmark = pytest.mark.cgen

CC = shutil.which("gcc") or shutil.which("cc")
HOST_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Wconversion", "-Werror", "-pedantic", "-O1", "-g",
              "-fsanitize=undefined,address", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
RV_CC = "riscv64-unknown-elf-gcc"
RV_FLAGS = ["-march=rv32im", "-mabi=ilp32", "-O2", "-std=c99", "-Wall", "-Wextra", "-Wconversion", "-Werror",
            "-pedantic", "-Wmissing-prototypes"]
RTL = Path(__file__).resolve().parent.parent / "rtl"
FUNCTION_NAMES = sorted({f.name for f in FUNCTIONS.values()})


# -- the test program -------------------------------------------------------------------------

_MAIN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t *load(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    long size;
    int64_t *data;
    if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) exit(3);
    data = (int64_t *)malloc((size_t)size + sizeof(int64_t));
    *n = (size_t)size / sizeof(int64_t);
    if (!data || fread(data, sizeof(int64_t), *n, f) != *n) exit(3);
    fclose(f);
    return data;
}

static void save(const char *path, const int64_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, sizeof(int64_t), n, f) != n) exit(3);
    fclose(f);
}

int main(int argc, char **argv)
{
    size_t n, i;
    int64_t *in, *out;
    int unit;
    char mode;
    if (argc != 5) return 2;
    unit = atoi(argv[1]);
    mode = argv[2][0];
    in = load(argv[3], &n);
    out = (int64_t *)calloc(2 * n + 1, sizeof(int64_t));
    if (!out) return 3;
    switch (unit) {
%CASES%
    default: return 2;
    }
    save(argv[4], out, %OUTCOUNT%);
    free(in);
    free(out);
    return 0;
}
"""


def _case(index: int, top: str, plan: Plan) -> str:
    """The dispatch of one unit: mode s (scalar), p (packed: rs1, rs2 pairs) or a (array)."""
    two = plan.operand_fmt is not None
    x_s, o_s = storage_type(plan.in_fmt), storage_type(plan.out_fmt)
    per = 2 if two else 1
    if plan.mirror:
        scalar = (f"for (i = 0; i < n; ++i) {{ int32_t y[2]; hwact_{top}((int32_t)in[i], y); "
                  f"out[2 * i] = y[0]; out[2 * i + 1] = y[1]; }}")
    elif two:
        scalar = f"for (i = 0; i + 1 < n; i += 2) out[i / 2] = hwact_{top}((int32_t)in[i], (int32_t)in[i + 1]);"
    else:
        code_type = "uint32_t" if not plan.in_fmt.signed and plan.in_fmt.width == 32 else "int32_t"
        scalar = f"for (i = 0; i < n; ++i) out[i] = hwact_{top}(({code_type})in[i]);"
    packed = f"for (i = 0; i + 1 < n; i += 2) out[i / 2] = hwact_{top}_packed((uint32_t)in[i], (uint32_t)in[i + 1]);"
    outs = 2 if plan.mirror else 1
    if two:
        a_s = storage_type(plan.operand_fmt)
        array = (
            f"{{ size_t m = n / 2; {x_s} *xs = ({x_s} *)malloc(m * sizeof *xs + 1); "
            f"{a_s} *as = ({a_s} *)malloc(m * sizeof *as + 1); {o_s} *ys = ({o_s} *)malloc(m * sizeof *ys + 1); "
            f"for (i = 0; i < m; ++i) {{ xs[i] = ({x_s})in[2 * i]; as[i] = ({a_s})in[2 * i + 1]; }} "
            f"hwact_{top}_array(xs, as, ys, m); for (i = 0; i < m; ++i) out[i] = ys[i]; "
            f"free(xs); free(as); free(ys); }}"
        )
    else:
        array = (
            f"{{ {x_s} *xs = ({x_s} *)malloc(n * sizeof *xs + 1); "
            f"{o_s} *ys = ({o_s} *)malloc({outs} * n * sizeof *ys + 1); "
            f"for (i = 0; i < n; ++i) xs[i] = ({x_s})in[i]; hwact_{top}_array(xs, ys, n); "
            f"for (i = 0; i < {outs} * n; ++i) out[i] = ys[i]; free(xs); free(ys); }}"
        )
    del per
    return (
        f"    case {index}:\n        if (mode == 's') {scalar}\n        else if (mode == 'p') {packed}\n"
        f"        else {array}\n        break;"
    )


class Program:
    """One compiled program holding the headers of many units."""

    def __init__(self, units: list[tuple[str, Plan, int]], work: Path):
        self.units = {top: (index, plan, lanes) for index, (top, plan, lanes) in enumerate(units)}
        self.work = work
        includes = []
        for top, plan, lanes in units:
            (work / f"{top}.h").write_text(c_header(plan, top, lanes, error=_NO_ERROR))
            includes.append(f'#include "{top}.h"')
        cases = "\n".join(_case(index, top, plan) for index, (top, plan, _) in enumerate(units))
        source = "\n".join(includes) + _MAIN.replace("%CASES%", cases).replace(
            "%OUTCOUNT%", "(mode == 's' || mode == 'a') ? 2 * n : n / 2 + 1"
        )
        (work / "main.c").write_text(source)
        self.binary = work / "main"
        result = subprocess.run(
            [CC, *HOST_FLAGS, "-I", str(work), str(work / "main.c"), "-o", str(self.binary)],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        self._runs = 0

    def run(self, top: str, mode: str, values: np.ndarray) -> np.ndarray:
        index = self.units[top][0]
        self._runs += 1
        source, target = self.work / f"in{self._runs}.bin", self.work / f"out{self._runs}.bin"
        np.ascontiguousarray(values, dtype="<i8").tofile(source)
        result = subprocess.run(
            [str(self.binary), str(index), mode, str(source), str(target)], check=False, capture_output=True, text=True
        )
        assert result.returncode == 0 and not result.stderr, f"{top} ({mode}): {result.stderr[-3000:]}"
        return np.fromfile(target, dtype="<i8")

    def check(self, top: str, x: np.ndarray, a: np.ndarray | None = None, modes: str = "spa") -> int:
        """Compare every mode with the model on codes ``x`` (and ``a``); return the codes checked."""
        _, plan, lanes = self.units[top]
        expected = evaluate(plan, x, a)
        n = len(x)
        if "s" in modes or "a" in modes:
            stream = x if a is None else np.stack([x, a], axis=1).ravel()
            for mode in "sa":
                if mode in modes:
                    got = self.run(top, mode, stream)
                    got = got[: 2 * n].reshape(n, 2) if plan.mirror else got[:n]
                    mismatches = np.flatnonzero(np.any((got != expected).reshape(n, -1), axis=1))
                    assert mismatches.size == 0, (
                        f"{top} ({mode}): {mismatches.size} mismatches, first x="
                        f"{x[mismatches[0]]} expected {expected[mismatches[0]]} "
                        f"got {got[mismatches[0]]}"
                    )
        if "p" in modes:
            pad = (-n) % lanes
            xp = np.concatenate([x, x[:pad]])
            ap = None if a is None else np.concatenate([a, a[:pad]])
            rs1, rs2 = pack_inputs(plan, lanes, xp, ap)
            words = self.run(top, "p", np.stack([rs1, rs2], axis=1).astype(np.int64).ravel())[: len(rs1)]
            got = unpack_outputs(plan, lanes, words)[:n]
            assert np.array_equal(got, expected), (
                f"{top} (packed): {np.sum(np.any((got != expected).reshape(n, -1), axis=1))} mismatches"
            )
        return n


#: Headers for the proofs skip the comment's error measurement (the comment is tested apart).
_NO_ERROR = {"max_lsb": 0.0, "mean_lsb": 0.0, "rms_lsb": 0.0, "correctly_rounded_fraction": 0.0, "monotonic": None}


def _lanes_for(plan: Plan) -> int:
    widest = max(f.width for f in (plan.in_fmt, plan.out_fmt, plan.operand_fmt) if f is not None)
    return max(lanes for lanes in (1, 2, 4) if lanes * widest <= 32 and lanes * plan.outputs * plan.out_fmt.width <= 32)


def _all_pairs(x_fmt: Fmt, a_fmt: Fmt) -> tuple[np.ndarray, np.ndarray]:
    xx, aa = np.meshgrid(x_fmt.all_codes(), a_fmt.all_codes())
    return xx.ravel(), aa.ravel()


def _random_pairs(x_fmt: Fmt, a_fmt: Fmt, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.concatenate([x_fmt.all_codes(), rng.integers(x_fmt.min_code, x_fmt.max_code, count, endpoint=True)])
    a = np.concatenate(
        [
            np.resize([a_fmt.min_code, a_fmt.max_code, 0, 1, -1], x_fmt.n_codes),
            rng.integers(a_fmt.min_code, a_fmt.max_code, count, endpoint=True),
        ]
    )
    return x, np.clip(a, a_fmt.min_code, a_fmt.max_code)


# -- the proofs -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["s4.4", "s4.12"])
def test_every_function_matches_the_model_on_every_code(cached_plan, fmt, tmp_path):
    """Every function of ``hwact list``; scalar, array and packed (4 lanes at 8 bits, 2 at 16)."""
    units = [(f"{name}_{fmt.replace('.', '_')}", cached_plan(name, fmt, fmt)) for name in FUNCTION_NAMES]
    program = Program([(top, plan, _lanes_for(plan)) for top, plan in units], tmp_path)
    in_fmt = Fmt.parse(fmt)
    for top, plan in units:
        if plan.operand_fmt is None:
            program.check(top, in_fmt.all_codes())
        elif in_fmt.width + plan.operand_fmt.width <= 16:  # every operand pair at 8 bits
            program.check(top, *_all_pairs(in_fmt, plan.operand_fmt))
        else:  # every input code (with the extreme and small operands), then random pairs
            program.check(top, *_random_pairs(in_fmt, plan.operand_fmt, 1 << 16, seed=len(top)))


def test_rounding_and_overflow_modes(cached_plan, tmp_path):
    """Every output rounding and overflow mode of hwact.fixed, on exact and table plans."""
    units = []
    for rounding in ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_CONV"):
        # truncating outputs cannot promise 1 LSB: a budget of 2 lets every mode plan
        units.append(
            (f"hs_{rounding.lower()}", cached_plan("hardswish", "s4.8", "s3.5", rounding=rounding, max_err_lsb=2.0))
        )
        units.append(
            (
                f"tanh_{rounding.lower()}",
                cached_plan("tanh", "s4.8", "s2.6", method="pwl2", rounding=rounding, max_err_lsb=2.0),
            )
        )
    for mode in ("SAT", "SAT_SYM", "WRAP"):
        units.append((f"id_{mode.lower()}", cached_plan("identity", "s6.6", "s3.5", overflow=mode)))
        units.append((f"lr_{mode.lower()}", cached_plan("leaky_relu", "s8.4", "s4.4", overflow=mode, method="exact")))
        units.append((f"silu_{mode.lower()}", cached_plan("silu", "s4.8", "s2.6", overflow=mode, method="pwl")))
        units.append((f"glu_{mode.lower()}", cached_plan("glu", "s3.3", "s2.4", overflow=mode)))
    program = Program([(top, plan, 1) for top, plan in units], tmp_path)
    for top, plan in units:
        if plan.operand_fmt is None:
            program.check(top, plan.in_fmt.all_codes())
        else:
            program.check(top, *_all_pairs(plan.in_fmt, plan.operand_fmt))
    assert {plan.output.rounding for _, plan in units} == {"TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_CONV"}


def _s16_16_plans() -> list[tuple[str, Plan]]:
    """32-bit plans built by hand, for corners the planners do not reach on their own.

    A ReLU, a leaky ReLU whose slope 0.01 has 30 fraction bits (its product spans 62 bits), and
    identities of unsigned 32-bit codes.
    """
    fmt = Fmt(16, 16)
    relu = Plan(
        function="relu",
        params={},
        method="exact",
        in_fmt=fmt,
        out_fmt=fmt,
        select=SegmentSelect((0,)),
        table=CoefTable(((0, 0), (0, 1)), (16, 0)),
        horner=(HornerStep(0),),
        output=OutputStage(0, "RND", "SAT"),
    )
    slope = round(0.01 * 2**30)
    leaky = Plan(
        function="leaky_relu",
        params={},
        method="exact",
        in_fmt=fmt,
        out_fmt=Fmt(8, 16),
        select=SegmentSelect((0,)),
        table=CoefTable(((0, slope), (0, 1 << 30)), (46, 30)),
        horner=(HornerStep(0),),
        output=OutputStage(30, "RND_CONV", "SAT_SYM"),
    )
    # unsigned 32-bit codes and left-shifting output stages (saturating, and wrapping)
    unsigned = Fmt(16, 16, signed=False)
    identity = Plan(
        function="identity",
        params={},
        method="exact",
        in_fmt=unsigned,
        out_fmt=Fmt(0, 32, signed=False),
        select=SegmentSelect(()),
        table=CoefTable(((0, 1),), (16, 0)),
        horner=(HornerStep(0),),
        output=OutputStage(-16, "RND", "SAT"),
    )
    wrapped = replace(identity, out_fmt=Fmt(8, 24), output=OutputStage(-8, "RND", "WRAP"))
    return [("relu_w32", relu), ("leaky_w32", leaky), ("identity_u32", identity), ("wrap_w32", wrapped)]


def test_wide_formats(cached_plan, tmp_path):
    """24- and 32-bit codes (int64 intermediates where the widths need them), sampled densely."""
    units = [
        ("relu_w24", cached_plan("relu", "s8.16", "s8.16")),
        ("sigmoid_w24", cached_plan("sigmoid", "s8.16", "u0.16", method="pwl2")),
        # 32-bit units as the planner makes them
        ("leaky_w32_planned", cached_plan("leaky_relu", "s16.16", "s16.16")),
        ("hardsigmoid_w32_planned", cached_plan("hardsigmoid", "s16.16", "s16.16")),
        *_s16_16_plans(),
    ]
    program = Program([(top, plan, 1) for top, plan in units], tmp_path)
    rng = np.random.default_rng(7)
    for top, plan in units:
        fmt = plan.in_fmt
        edges = [fmt.min_code, fmt.min_code + 1, -1, 0, 1, fmt.max_code - 1, fmt.max_code]
        # random codes, every code near zero (where the segments are short), every segment edge
        x = np.concatenate(
            [
                rng.integers(fmt.min_code, fmt.max_code, 1 << 17, endpoint=True),
                np.arange(-(1 << 16), 1 << 16) if fmt.signed else np.arange(1 << 17),
                [e + d for e in segment_edges(plan) for d in (-1, 0, 1)],
            ]
        )
        x = np.clip(np.concatenate([x, edges]), fmt.min_code, fmt.max_code)
        program.check(top, x, modes="sp")
    assert "int64_t p0" in c_header(dict(units)["leaky_w32"], "leaky_w32", 1, error=_NO_ERROR)


def test_gated_units_at_16_bits_on_random_pairs(cached_plan, tmp_path):
    units = [(name, cached_plan(name, "s4.12", "s4.12")) for name in ("glu", "gtu", "swiglu")]
    program = Program([(top, plan, 2) for top, plan in units], tmp_path)
    for top, plan in units:
        program.check(top, *_random_pairs(plan.in_fmt, plan.operand_fmt, 1 << 17, seed=3), modes="sp")


def test_headers_are_deterministic_self_contained_and_includable_together(cached_plan, tmp_path):
    plan = cached_plan("gelu", "s4.12", "s4.12")
    text = c_header(plan, "gelu", 2)
    assert text == c_header(plan, "gelu", 2)
    assert "#ifndef HWACT_GELU_H" in text and "#endif /* HWACT_GELU_H */" in text
    assert "float" not in text and "double" not in text and "math.h" not in text
    assert [line for line in text.splitlines() if line.startswith("#include")] == [
        "#include <stddef.h>",
        "#include <stdint.h>",
    ]
    assert "function: gelu" in text and "hwact 0.1.0" in text and "correctly rounded" in text
    # two units of the same plan, and the same header twice, in one translation unit
    (tmp_path / "gelu.h").write_text(text)
    (tmp_path / "gelu_b.h").write_text(c_header(plan, "gelu_b", 1))
    (tmp_path / "t.c").write_text(
        '#include "gelu.h"\n#include "gelu.h"\n#include "gelu_b.h"\n'
        "int main(void) { return (int)hwact_gelu(0) + (int)hwact_gelu_b(0); }\n"
    )
    result = subprocess.run(
        [CC, *HOST_FLAGS, str(tmp_path / "t.c"), "-o", str(tmp_path / "t")], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_int32_where_the_widths_allow_and_int64_only_where_needed(cached_plan):
    relu = c_header(cached_plan("relu", "s4.12", "s4.12"), "relu", 2, error=_NO_ERROR)
    assert "int64_t" not in relu.split("#define HWACT_RELU_OUT_FRAC_BITS")[1]
    wide = c_header(cached_plan("hardswish", "s4.12", "s4.12"), "hs", 1, error=_NO_ERROR)
    assert "int64_t" in wide.split("#define HWACT_HS_OUT_FRAC_BITS")[1]


def test_bad_names_and_lanes_are_refused(cached_plan):
    plan = cached_plan("relu", "s4.4", "s4.4")
    with pytest.raises(ValueError, match="C identifier"):
        c_header(plan, "my-unit", 1, error=_NO_ERROR)
    with pytest.raises(ValueError, match="do not fit a 32-bit register"):
        c_header(cached_plan("relu", "s4.12", "s4.12"), "relu", 4, error=_NO_ERROR)
    with pytest.raises(TypeError, match=r"hwact\.plan\.Plan"):
        c_header("relu", "relu", 1)


def test_default_units_cross_compile_for_rv32im(tmp_path):
    """The checked-in headers of the default units (rtl/, proven current by test_rtl), hosted and freestanding."""
    tops = [spec.top for spec in DEFAULT_UNITS]
    include = ["-I", str(RTL), "-I", str(RTL / "cfu")]  # the CFU's units live once, in rtl/cfu
    includes = "\n".join(f'#include "{top}.h"' for top in tops)
    calls = " ^ ".join(f"hwact_{top}_packed(rs1, rs2)" for top in tops)
    (tmp_path / "all.c").write_text(
        f"{includes}\nuint32_t all(uint32_t rs1, uint32_t rs2);\n"
        f"uint32_t all(uint32_t rs1, uint32_t rs2) {{ return {calls}; }}\n"
    )
    for flavour in (["--specs=picolibc.specs"], ["-ffreestanding"]):
        result = subprocess.run(
            [RV_CC, *RV_FLAGS, *flavour, *include, "-c", str(tmp_path / "all.c"), "-o", str(tmp_path / "all.o")],
            check=False,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        assert (tmp_path / "all.o").stat().st_size > 0


def test_generate_writes_the_header_next_to_the_verilog(tmp_path, capsys):
    from hwact.artifacts import UnitFiles, UnitSpec, build_unit, load_manifest
    from hwact.cli import main

    assert (
        main(
            ["generate", "prelu", "--in", "s4.4", "--out", "s4.4", "--lanes", "4", "--name", "pr", "-o", str(tmp_path)]
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pr.h", "pr.json", "pr.v"]
    assert f"wrote {tmp_path / 'pr.h'}" in capsys.readouterr().out
    manifest, plan = load_manifest(tmp_path / "pr.json")
    assert manifest["files"] == {"verilog": "pr.v", "c_header": "pr.h"}
    assert (tmp_path / "pr.h").read_text() == c_header(plan, "pr", 4, error=manifest["error"])
    files = build_unit(UnitSpec("relu", "s4.4", "s4.4", name="r"))
    assert isinstance(files, UnitFiles) and list(files) == ["r.v", "r.h", "r.json"]
    assert files["r.h"] == files.c_header == files.text("c_header") and files.name("manifest") == "r.json"
    with pytest.raises(ValueError, match="role must be one of"):
        files.name("vhdl")
