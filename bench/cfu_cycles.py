"""Benchmark: cycles per element of every default CFU unit on VexRiscv (simulated, Verilator).

For each unit of rtl/cfu: the custom instruction on pre-packed registers (one intrinsic per
transfer), the array helper of hwact_cfu.h (packing included), the same helper with the
bit-exact C fallback (HWACT_SOFTWARE), and plain float C with picolibc's libm (soft-float on
rv32im, -O2). Firmware: sim/firmware/cfu_bench.c, warm caches, cycle counter of the SoC.
Targets (docs/benchmarks.md): >= 5x fewer cycles than the fallback and >= 100x fewer than libm
for the 16-bit sigmoid, tanh and GELU. Prints a table, writes bench/results/cfu_cycles.json.

    python bench/cfu_cycles.py [--core vexriscv|picorv32] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from hwact.cfu.firmware import (
    CORE_DEFINES,
    compile_firmware,
    simulate_soc,
    write_unit_headers,
)
from hwact.cfu.header import c_type
from hwact.cfu.sim import SIM_DIR, load_cfu
from hwact.layout import pack_inputs

ROOT = Path(__file__).resolve().parent.parent
N_HW, N_SW, N_FLOAT = 256, 64, 16

#: Plain float C for each function (x: input, a: operand; the textbook formulas, libm calls).
FLOAT_C = {
    "relu6": "fminf(fmaxf(x, 0.0f), 6.0f)",
    "hardtanh": "fminf(fmaxf(x, -1.0f), 1.0f)",
    "hardsigmoid": "fminf(fmaxf(x / 6.0f + 0.5f, 0.0f), 1.0f)",
    "sigmoid": "1.0f / (1.0f + expf(-x))",
    "tanh": "tanhf(x)",
    "gelu": "0.5f * x * (1.0f + erff(x * 0.70710678f))",
    "silu": "x / (1.0f + expf(-x))",
    "glu": "a / (1.0f + expf(-x))",
    "prelu": "x >= 0.0f ? x : a * x",
}


def _array(ctype: str, name: str, values) -> str:
    body = ", ".join(repr(float(v)) + "f" if ctype == "float" else str(int(v)) for v in np.asarray(values).ravel())
    return f"const {ctype} {name}[] __attribute__((aligned(4))) = {{{body}}};\n"


def generate(cfu, work: Path) -> None:
    rng = np.random.default_rng(1)
    data, units, table = ['#include "fw_bench.h"\n'], [], []
    max_words = 0
    for index, op in enumerate(cfu.ops):
        plan = op.plan
        x = rng.integers(plan.in_fmt.min_code, plan.in_fmt.max_code, size=N_HW, endpoint=True)
        a = None if plan.operand_fmt is None else rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code,
                                                                size=N_HW, endpoint=True)
        rs1, rs2 = pack_inputs(plan, op.lanes, x, a)
        data.append(_array("uint32_t", f"rs1_{index}", rs1))
        if a is not None:  # one-operand units ignore rs2: they get rs1's words again
            data.append(_array("uint32_t", f"rs2_{index}", rs2))
        data.append(_array(c_type(plan.in_fmt), f"x_{index}", x))
        data.append(_array(c_type(plan.operand_fmt), f"a_{index}", a) if a is not None else "")
        data.append(_array("float", f"xf_{index}", x[:N_FLOAT] / 2 ** plan.in_fmt.frac_bits))
        data.append(_array("float", f"af_{index}", (a if a is not None else x)[:N_FLOAT]
                           / 2 ** (plan.operand_fmt or plan.in_fmt).frac_bits))
        table.append(
            f"    {{rs1_{index}, {'rs2' if a is not None else 'rs1'}_{index}, x_{index}, "
            f"{f'a_{index}' if a is not None else '0'}, "
            f"xf_{index}, af_{index}, {len(rs1)}u, {N_HW}u, {N_SW}u}},"
        )
        max_words = max(max_words, N_HW * plan.outputs)
        x_t, y_t = c_type(plan.in_fmt), c_type(plan.out_fmt)
        a_arg = f"(const {c_type(plan.operand_fmt)} *)a, " if a is not None else ""
        units.append(
            f"static void array_{op.name}(const void *x, const void *a, void *y, uint32_t n)\n{{\n"
            f"    (void)a;\n    hwact_cfu_{op.name}_array((const {x_t} *)x, {a_arg}({y_t} *)y, n);\n}}\n"
        )
    header = [
        "#ifndef FW_BENCH_H",
        "#define FW_BENCH_H",
        "#include <stdint.h>",
        "typedef void (*bench_fn)(const void *x, const void *a, void *y, uint32_t n);",
        (
            "struct bench_unit { const uint32_t *rs1, *rs2; const void *x, *a; const float *xf, *af;"
            " uint32_t transfers, n, n_sw; };"
        ),
        f"#define BENCH_UNITS {len(cfu.ops)}",
        f"#define BENCH_MAX_WORDS {max_words}",
        f"#define BENCH_N_FLOAT {N_FLOAT}",
        "extern const struct bench_unit BENCH_UNIT[];",
        "extern const bench_fn bench_single[], bench_array_hw[], bench_array_sw[], bench_float[];",
        "void bench_init(void);",
        "#endif",
        "",
    ]
    (work / "fw_bench.h").write_text("\n".join(header))
    data.append("const struct bench_unit BENCH_UNIT[] = {\n" + "\n".join(table) + "\n};\n")
    (work / "fw_bench_data.c").write_text("".join(data))
    hw = [
        '#include "hwact_cfu.h"',
        '#include "fw_bench.h"',
        "",
        *units,
        "const bench_fn BENCH_ARRAY[] = {",
        *(f"    array_{op.name}," for op in cfu.ops),
        "};",
        "#ifndef HWACT_SOFTWARE",
        "void bench_init(void) { hwact_cfu_enable(); }",
    ]
    for op in cfu.ops:  # one intrinsic per transfer on pre-packed registers
        hw.append(
            f"static void single_{op.name}(const void *x, const void *a, void *y, uint32_t n)\n{{\n"
            "    const uint32_t *r1 = x, *r2 = a;\n    uint32_t *out = y;\n"
            f"    for (uint32_t i = 0; i < n; i++)\n        out[i] = hwact_cfu_{op.name}(r1[i], r2[i]);\n}}"
        )
    hw += ["const bench_fn bench_single[] = {", *(f"    single_{op.name}," for op in cfu.ops), "};", "#endif", ""]
    (work / "fw_bench_units.c").write_text("\n".join(hw))
    flt = ["#include <math.h>", '#include "fw_bench.h"', ""]
    for op in cfu.ops:
        flt.append(
            f"static void float_{op.name}(const void *xs, const void *as, void *ys, uint32_t n)\n{{\n"
            "    const float *xv = xs, *av = as;\n    float *yv = ys;\n"
            "    for (uint32_t i = 0; i < n; i++) {\n        float x = xv[i], a = av[i];\n        (void)a;\n"
            f"        yv[i] = {FLOAT_C[op.plan.function]};\n    }}\n}}"
        )
    flt += ["const bench_fn bench_float[] = {", *(f"    float_{op.name}," for op in cfu.ops), "};", ""]
    (work / "fw_bench_float.c").write_text("\n".join(flt))


def run(core: str, work: Path) -> dict:
    cfu = load_cfu(ROOT / "rtl" / "cfu")
    generate(cfu, work)
    write_unit_headers(cfu, work)
    # The array helper twice: with the instruction, and with the fallback (HWACT_SOFTWARE).
    (work / "fw_bench_hw.c").write_text('#define BENCH_ARRAY bench_array_hw\n#include "fw_bench_units.c"\n')
    (work / "fw_bench_sw.c").write_text(
        '#define HWACT_SOFTWARE 1\n#define BENCH_ARRAY bench_array_sw\n#include "fw_bench_units.c"\n'
    )
    image, sizes = compile_firmware(
        cfu.directory,
        work,
        main=SIM_DIR / "firmware" / "cfu_bench.c",
        extra_sources=(
            work / "fw_bench_data.c",
            work / "fw_bench_hw.c",
            work / "fw_bench_sw.c",
            work / "fw_bench_float.c",
        ),
        defines=CORE_DEFINES[core],
    )
    status, _, lines = simulate_soc(core, cfu.directory, image, work, simulator="verilator", max_cycles=20_000_000)
    if status:
        raise RuntimeError(f"benchmark firmware ended with status {status:#x}")
    words = [int(v, 16) for v in lines]
    rows = []
    for index, op in enumerate(cfu.ops):
        c = words[8 * index : 8 * index + 8]
        single = c[0] / (c[1] * op.lanes)
        array, fallback, flt = c[2] / c[3], c[4] / c[5], c[6] / c[7]
        rows.append(
            {
                "unit": op.name,
                "function": op.plan.function,
                "in_format": str(op.plan.in_fmt),
                "lanes": op.lanes,
                "latency": op.latency,  # command register, the datapath, the response register
                "cycles_per_element": {
                    "instruction": round(single, 2),
                    "array_helper": round(array, 2),
                    "c_fallback": round(fallback, 2),
                    "float_libm": round(flt, 1),
                },
                "speedup_vs_fallback": round(fallback / array, 1),
                "speedup_vs_libm": round(flt / array, 1),
            }
        )
    return {
        "core": core,
        "simulator": "verilator",
        "elements": {"instruction": N_HW, "array_helper": N_HW, "c_fallback": N_SW, "float_libm": N_FLOAT},
        "firmware_bytes": sizes,
        "units": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", default="vexriscv", choices=("vexriscv", "picorv32"))
    parser.add_argument("--keep", type=Path, help="keep the build in DIR")
    args = parser.parse_args(argv)
    work = args.keep or Path(tempfile.mkdtemp(prefix="hwact-cfu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run(args.core, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"cycles per element on {args.core} (Verilator), warm caches")
    print(
        f"{'unit':<20} {'instr':>7} {'array':>7} {'C fallback':>11} {'float libm':>11} {'x fallback':>11} {'x libm':>8}"
    )
    for row in result["units"]:
        c = row["cycles_per_element"]
        print(
            f"{row['unit']:<20} {c['instruction']:>7.2f} {c['array_helper']:>7.2f} {c['c_fallback']:>11.1f} "
            f"{c['float_libm']:>11.1f} {row['speedup_vs_fallback']:>11.1f} {row['speedup_vs_libm']:>8.1f}"
        )
    out = (
        ROOT / "bench" / "results" / ("cfu_cycles.json" if args.core == "vexriscv" else f"cfu_cycles_{args.core}.json")
    )
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
