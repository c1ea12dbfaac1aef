"""hwact_cfu.h without the hardware: the array helpers with HWACT_SOFTWARE, compiled by the host
compiler with warnings as errors and the undefined-behaviour sanitizer, equal the model on
every input code of every default unit (two-operand units: every input code x 16 operands).
The same helpers with the instruction are proven on the cores by tests/test_firmware.py.
"""

import shutil
import subprocess

import numpy as np
import pytest
from test_cfu import RTL_CFU

from hwact.cfu.firmware import write_unit_headers
from hwact.cfu.header import c_type
from hwact.cfu.sim import edge_codes, load_cfu

pytestmark = pytest.mark.cgen

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "hwact_cfu.h"

static int32_t xs[1 << 20], as[1 << 20], ys[1 << 22];

int main(int argc, char **argv)
{
    int unit = argc > 1 ? atoi(argv[1]) : -1;
    size_t n = fread(xs, sizeof xs[0], sizeof xs / sizeof xs[0], stdin) / 2, i;
    for (i = 0; i < n; i++) as[i] = xs[n + i];
    switch (unit) {
%CASES%
    default: return 2;
    }
    fwrite(ys, sizeof ys[0], %OUTPUTS% * (2 * n - 1), stdout);
    return 0;
}
"""


def case(index, op):
    plan = op.plan
    x_t, y_t = c_type(plan.in_fmt), c_type(plan.out_fmt)
    lines = [f"    case {index}: {{", f"        static {x_t} x[1 << 20]; static {y_t} y[1 << 21], y2[1 << 21];"]
    if plan.operand_fmt is not None:
        lines.append(f"        static {c_type(plan.operand_fmt)} a[1 << 20];")
    lines.append(f"        for (i = 0; i < n; i++) x[i] = ({x_t})xs[i];")
    if plan.operand_fmt is not None:
        lines.append(f"        for (i = 0; i < n; i++) a[i] = ({c_type(plan.operand_fmt)})as[i];")
        lines.append(f"        hwact_cfu_{op.name}_array(x + 1, a + 1, y2, n - 1);  /* unaligned: the packing path */")
        lines.append(f"        hwact_cfu_{op.name}_array(x, a, y, n);")
    else:
        lines.append(f"        hwact_cfu_{op.name}_array(x + 1, y2, n - 1);  /* unaligned: the packing path */")
        lines.append(f"        hwact_cfu_{op.name}_array(x, y, n);")
    lines.append(f"        for (i = 0; i < {plan.outputs} * n; i++) ys[i] = y[i];")
    lines.append(f"        for (i = 0; i < {plan.outputs} * (n - 1); i++) ys[{plan.outputs} * n + i] = y2[i];")
    lines += ["        break;", "    }"]
    return "\n".join(lines)


def inputs(op):
    plan = op.plan
    x = plan.in_fmt.all_codes()
    if plan.operand_fmt is None:
        return x, None
    rng = np.random.default_rng(3)
    picks = np.unique(np.concatenate([edge_codes(plan.operand_fmt),
                                      rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, 8)]))[:16]
    xx, aa = np.meshgrid(x, picks)
    return xx.ravel(), aa.ravel()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no host C compiler (cc) on PATH")
    cfu = load_cfu(RTL_CFU)
    work = tmp_path_factory.mktemp("cfu_header")
    write_unit_headers(cfu, work)
    outputs = max(op.plan.outputs for op in cfu.ops)
    source = DRIVER.replace("%CASES%", "\n".join(case(i, op) for i, op in enumerate(cfu.ops)))
    source = source.replace("%OUTPUTS%", str(outputs))
    (work / "driver.c").write_text(source)
    binary = work / "driver"
    result = subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-pedantic",
                             "-fsanitize=undefined", "-fno-sanitize-recover=undefined", "-DHWACT_SOFTWARE",
                             f"-I{work}", f"-I{RTL_CFU}", str(work / "driver.c"), "-o", str(binary)],
                            check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return cfu, binary, outputs


@pytest.mark.parametrize("index", range(16))
def test_fallback_array_helper_equals_the_model(driver, index):
    from hwact.model import evaluate

    cfu, binary, _ = driver
    op = cfu.ops[index]
    x, a = inputs(op)
    feed = np.concatenate([x, a if a is not None else np.zeros_like(x)]).astype("<i4").tobytes()
    run = subprocess.run([str(binary), str(index)], input=feed, check=False, capture_output=True)
    assert run.returncode == 0, run.stderr.decode()[-500:]
    k = op.plan.outputs
    got = np.frombuffer(run.stdout, dtype="<i4")
    expected = np.asarray(evaluate(op.plan, x, a)).reshape(-1)
    aligned, unaligned = got[:k * len(x)], got[k * len(x):k * (2 * len(x) - 1)]
    bad = np.flatnonzero(aligned != expected)
    assert bad.size == 0, f"{op.name}: {bad.size} codes differ, first x={x[bad[0] // k]}"
    bad = np.flatnonzero(unaligned != expected[k:])
    assert bad.size == 0, f"{op.name} (unaligned arrays): {bad.size} codes differ, first x={x[1 + bad[0] // k]}"
