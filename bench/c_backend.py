"""The C backend: host throughput against the NumPy model, and rv32im flash per default unit.

For every default unit (the plans checked in under ``rtl/``):

* host throughput of ``hwact_<top>_array`` (gcc -O2, one core) and of
  :func:`hwact.model.evaluate` on the same 2**20 codes, in M codes/s;
* rv32im flash: ``riscv64-unknown-elf-gcc -march=rv32im -mabi=ilp32 -Os`` of a function that
  calls ``hwact_<top>_array``, ``.text`` + ``.rodata`` bytes from ``riscv64-unknown-elf-size -A``,
  next to a direct table with one entry per input code (per operand pair for two-operand units)
  in the output's storage type.

Prints a table and writes ``bench/results/c_backend.json``. Figures, not assertions.

    python bench/c_backend.py
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hwact.cgen import c_header, storage_type
from hwact.defaults import DEFAULT_UNITS, rtl_subdir
from hwact.model import evaluate
from hwact.plan import Plan

CODES = 1 << 20
REPEAT = 5
RV_CC, RV_SIZE = "riscv64-unknown-elf-gcc", "riscv64-unknown-elf-size"
RV_FLAGS = ["-march=rv32im", "-mabi=ilp32", "-Os", "-std=c99", "--specs=picolibc.specs", "-Wall", "-Wextra", "-Werror",
            "-ffunction-sections"]
_BYTES = {"int8_t": 1, "uint8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4, "uint32_t": 4}

_TIMER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "%TOP%.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void)
{
    size_t n = %N%, i;
    int r;
    double best = 1e30;
    unsigned long sum = 0;
    %XT% *x = malloc(n * sizeof *x);
    %AT% *a = malloc(n * sizeof *a);
    %OT% *y = malloc(%OUTS% * n * sizeof *y);
    if (!x || !a || !y) return 1;
    for (i = 0; i < n; ++i) {
        x[i] = (%XT%)(%XMIN% + (long long)((i * 2654435761u) %% %XCOUNT%));
        a[i] = (%AT%)(%AMIN% + (long long)((i * 40503u) %% %ACOUNT%));
    }
    for (r = 0; r < %REPEAT%; ++r) {
        double start = now(), took;
        %CALL%;
        took = now() - start;
        if (took < best) best = took;
        for (i = 0; i < %OUTS% * n; i += 4099) sum += (unsigned long)y[i];
    }
    printf("%.6f %lu\n", best, sum);
    free(x); free(a); free(y);
    return 0;
}
"""


def _plans() -> list[tuple[str, Plan, int]]:
    units = []
    for spec in DEFAULT_UNITS:
        manifest = json.loads((ROOT / "rtl" / rtl_subdir(spec.top) / f"{spec.top}.json").read_text())
        units.append((spec.top, Plan.from_dict(manifest["plan"]), manifest["lanes"]))
    return units


def _host_seconds(top: str, plan: Plan, work: Path) -> float:
    x_t, o_t = storage_type(plan.in_fmt), storage_type(plan.out_fmt)
    a_fmt = plan.operand_fmt or plan.in_fmt
    a_t = storage_type(a_fmt)
    call = (f"hwact_{top}_array(x, y, n)" if plan.operand_fmt is None else f"hwact_{top}_array(x, a, y, n)")
    source = _TIMER
    for key, value in {"%TOP%": top, "%N%": str(CODES), "%XT%": x_t, "%AT%": a_t, "%OT%": o_t,
                       "%OUTS%": str(plan.outputs), "%XMIN%": str(plan.in_fmt.min_code),
                       "%XCOUNT%": f"{plan.in_fmt.n_codes}ull", "%AMIN%": str(a_fmt.min_code),
                       "%ACOUNT%": f"{a_fmt.n_codes}ull", "%REPEAT%": str(REPEAT), "%CALL%": call}.items():
        source = source.replace(key, value)
    (work / f"{top}_bench.c").write_text(source.replace("%%", "%"))
    binary = work / f"{top}_bench"
    subprocess.run(["gcc", "-std=c99", "-O2", "-I", str(work), str(work / f"{top}_bench.c"), "-o", str(binary)],
                   check=True)
    return float(subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.split()[0])


def _model_seconds(plan: Plan) -> float:
    rng = np.random.default_rng(1)
    x = rng.integers(plan.in_fmt.min_code, plan.in_fmt.max_code, CODES, endpoint=True)
    a = None
    if plan.operand_fmt is not None:
        a = rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, CODES, endpoint=True)
    best = float("inf")
    for _ in range(REPEAT):
        start = time.perf_counter()
        evaluate(plan, x, a)
        best = min(best, time.perf_counter() - start)
    return best


def _flash_bytes(top: str, plan: Plan, work: Path) -> int:
    x_t, o_t = storage_type(plan.in_fmt), storage_type(plan.out_fmt)
    if plan.operand_fmt is None:
        body = f"void run(const {x_t} *x, {o_t} *y, size_t n) {{ hwact_{top}_array(x, y, n); }}"
    else:
        a_t = storage_type(plan.operand_fmt)
        body = f"void run(const {x_t} *x, const {a_t} *a, {o_t} *y, size_t n) {{ hwact_{top}_array(x, a, y, n); }}"
    source = work / f"{top}_flash.c"
    source.write_text(f'#include "{top}.h"\n{body}\n')
    obj = work / f"{top}_flash.o"
    subprocess.run([RV_CC, *RV_FLAGS, "-c", str(source), "-o", str(obj)], check=True)
    listing = subprocess.run([RV_SIZE, "-A", str(obj)], check=True, capture_output=True, text=True).stdout
    total = 0
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit() and parts[0].startswith((".text", ".rodata", ".srodata")):
            total += int(parts[1])
    return total


def _direct_table_bytes(plan: Plan) -> int:
    entries = plan.in_fmt.n_codes * (1 if plan.operand_fmt is None else plan.operand_fmt.n_codes)
    return entries * plan.outputs * _BYTES[storage_type(plan.out_fmt)]


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hwact-cbench-") as name:
        work = Path(name)
        for top, plan, lanes in _plans():
            (work / f"{top}.h").write_text(c_header(plan, top, lanes, error={
                "max_lsb": 0.0, "mean_lsb": 0.0, "rms_lsb": 0.0, "correctly_rounded_fraction": 0.0}))
            c_seconds, model_seconds = _host_seconds(top, plan, work), _model_seconds(plan)
            rows.append({
                "unit": top, "function": plan.function, "formats": f"{plan.in_fmt}->{plan.out_fmt}",
                "method": plan.method,
                "host_c_mcodes_per_s": round(CODES / c_seconds / 1e6, 1),
                "model_mcodes_per_s": round(CODES / model_seconds / 1e6, 1),
                "rv32im_flash_bytes": _flash_bytes(top, plan, work),
                "direct_table_bytes": _direct_table_bytes(plan),
            })
    header = ("unit", "function", "formats", "method", "host C Mcodes/s", "model Mcodes/s", "rv32im flash B",
              "direct table B")
    keys = ("unit", "function", "formats", "method", "host_c_mcodes_per_s", "model_mcodes_per_s",
            "rv32im_flash_bytes", "direct_table_bytes")
    table = [header, *[tuple(str(row[k]) for k in keys) for row in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    out = ROOT / "bench" / "results" / "c_backend.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "machine": {"python": platform.python_version(), "processor": platform.machine(),
                    "host_cc": subprocess.run(["gcc", "--version"], capture_output=True, text=True,
                                              check=False).stdout.splitlines()[0],
                    "rv_cc": subprocess.run([RV_CC, "--version"], capture_output=True, text=True,
                                            check=False).stdout.splitlines()[0]},
        "codes": CODES, "repeat": REPEAT, "host_flags": "-std=c99 -O2", "rv_flags": " ".join(RV_FLAGS),
        "units": rows,
    }, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
