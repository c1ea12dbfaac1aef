"""Fused requantize + activation ops on a real core: firmware that proves them and times a dense layer.

For every fused op of a built CFU the firmware (generated here, compiled by
:func:`~hwact.cfu.firmware.compile_firmware`) sends accumulators through the instruction
(``hwact_cfu_NAME_acc``) and through the bit-exact C fallback (the same source compiled with
``HWACT_SOFTWARE``), and runs an int8 dense layer (TFLite's fully connected kernel: int8 inputs
with an input offset, int8 weights, int32 bias) three ways: ending in the fused instruction,
in the C fallback, and storing the raw accumulator (the kernel without any output stage). The
difference to the last, per output, is what the output stage costs. A per-channel op gets
element i's index as its channel (past the table's end too) and output o's in the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..requant import PerChannel, accumulator_range, fused_evaluate
from .firmware import CORE_DEFINES, compile_firmware, simulate_soc, write_unit_headers
from .sim import LoadedCfu

__all__ = ["FusedRun", "dense_inputs", "run_fused_firmware"]

DENSE_IN, DENSE_OUT = 64, 32
_KERNELS = r"""
#include <stdint.h>
#include "hwact_cfu.h"
#include "fw_fused.h"

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

%UNITS%
"""


@dataclass
class FusedRun:
    """One fused op on the core: accumulators, the instruction's and the fallback's outputs, cycles."""

    name: str
    acc: np.ndarray
    hw: np.ndarray
    sw: np.ndarray
    expected: np.ndarray
    dense_expected: np.ndarray
    dense_hw: np.ndarray
    dense_sw: np.ndarray
    cycles: dict[str, int]

    @property
    def passed(self) -> bool:
        return all(np.array_equal(a, b) for a, b in ((self.hw, self.expected), (self.sw, self.expected),
                                                      (self.dense_hw, self.dense_expected),
                                                      (self.dense_sw, self.dense_expected)))


def dense_inputs(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """int8 inputs, int8 weights, int32 biases and the input offset of a TFLite fully connected layer."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, size=DENSE_IN, endpoint=True)
    w = rng.integers(-127, 127, size=(DENSE_OUT, DENSE_IN), endpoint=True)
    b = rng.integers(-20000, 20000, size=DENSE_OUT, endpoint=True)
    return x, w, b, int(rng.integers(-20, 20))


def _dense_acc(x, w, b, offset) -> np.ndarray:
    return w.astype(np.int64) @ (x.astype(np.int64) + offset) + b


def _array(ctype: str, name: str, values) -> str:
    return f"const {ctype} {name}[] __attribute__((aligned(4))) = {{{', '.join(str(int(v)) for v in values)}}};"


def _sources(cfu: LoadedCfu, fused, accs, dense, work: Path) -> Path:
    x, w, b, offset = dense
    header = ["#ifndef FW_FUSED_H", "#define FW_FUSED_H", "#include <stdint.h>",
              f"#define FW_N {len(accs[0])}", f"#define FW_IN {DENSE_IN}", f"#define FW_OUT {DENSE_OUT}",
              f"#define FW_OFFSET {offset}", "extern const int32_t fw_acc[];", "extern const int8_t fw_x[];",
              "extern const int8_t fw_w[];", "extern const int32_t fw_b[];"]
    data = ['#include "fw_fused.h"', _array("int32_t", "fw_acc", np.concatenate(accs)),
            _array("int8_t", "fw_x", x), _array("int8_t", "fw_w", w.reshape(-1)), _array("int32_t", "fw_b", b)]
    units, main_calls = [], []
    for k, op in enumerate(fused):
        t = "int8_t" if op.plan.out_fmt.signed else "uint8_t"
        # A per-channel op takes the channel in rs2: element i of the list, output o of the layer.
        per_channel = isinstance(op.requant, PerChannel)
        channel_i, channel_o = (", i", ", o") if per_channel else ("", "")
        header += [f"void fw_{op.name}_acc_hw(const int32_t *acc, {t} *y, uint32_t n);",
                   f"void fw_{op.name}_acc_sw(const int32_t *acc, {t} *y, uint32_t n);",
                   f"void fw_{op.name}_dense_hw({t} *y);", f"void fw_{op.name}_dense_sw({t} *y);"]
        units.append(f"""
void CAT(fw_{op.name}_acc_, FW_SUFFIX)(const int32_t *acc, {t} *y, uint32_t n)
{{
    for (uint32_t i = 0; i < n; i++) y[i] = hwact_cfu_{op.name}_acc(acc[i]{channel_i});
}}

/* TFLite's int8 fully connected kernel, its output stage the fused op. */
void CAT(fw_{op.name}_dense_, FW_SUFFIX)({t} *y)
{{
    for (uint32_t o = 0; o < FW_OUT; o++) {{
        const int8_t *row = fw_w + o * FW_IN;
        int32_t acc = fw_b[o];
        for (uint32_t i = 0; i < FW_IN; i++) acc += ((int32_t)fw_x[i] + FW_OFFSET) * row[i];
        y[o] = hwact_cfu_{op.name}_acc(acc{channel_o});
    }}
}}""")
        main_calls.append(f"""
    {{
        static {t} y[FW_N] __attribute__((aligned(4)));
        static {t} d[FW_OUT] __attribute__((aligned(4)));
        uint32_t t0, t1, t2, t3, t4;
        fw_{op.name}_acc_hw(fw_acc + {k} * FW_N, y, FW_N); dump(y, FW_N);
        fw_{op.name}_acc_sw(fw_acc + {k} * FW_N, y, FW_N); dump(y, FW_N);
        fw_{op.name}_dense_hw(d); fw_{op.name}_dense_sw(d); fw_raw(raw);  /* warm the caches */
        t0 = soc_cycles(); fw_{op.name}_dense_hw(d); t1 = soc_cycles(); dump(d, FW_OUT);
        t2 = soc_cycles(); fw_{op.name}_dense_sw(d); t3 = soc_cycles(); dump(d, FW_OUT);
        fw_raw(raw); t4 = soc_cycles(); fw_raw(raw);
        soc_out(t1 - t0); soc_out(t3 - t2); soc_out(soc_cycles() - t4);
    }}""")
    header += ["void fw_raw(int32_t *y);", "#endif"]
    (work / "fw_fused.h").write_text("\n".join(header) + "\n")
    (work / "fw_fused_data.c").write_text("\n".join(data) + "\n")
    kernels = _KERNELS.replace("%UNITS%", "\n".join(units))
    (work / "fw_fused_kernels.inc").write_text(kernels)
    (work / "fw_fused_hw.c").write_text('#define FW_SUFFIX hw\n#include "fw_fused_kernels.inc"\n')
    (work / "fw_fused_sw.c").write_text(
        '#define HWACT_SOFTWARE\n#define FW_SUFFIX sw\n#include "fw_fused_kernels.inc"\n')
    (work / "fw_raw.c").write_text("""#include <stdint.h>
#include "fw_fused.h"
/* The same kernel storing the raw accumulator: no output stage at all. */
void fw_raw(int32_t *y)
{
    for (uint32_t o = 0; o < FW_OUT; o++) {
        const int8_t *row = fw_w + o * FW_IN;
        int32_t acc = fw_b[o];
        for (uint32_t i = 0; i < FW_IN; i++) acc += ((int32_t)fw_x[i] + FW_OFFSET) * row[i];
        y[o] = acc;
    }
}
""")
    main = work / "fw_fused_main.c"
    main.write_text("""#include <stdint.h>
#include "hwact_cfu.h"
#include "fw_fused.h"
#include "soc.h"

static int32_t raw[FW_OUT];

static void dump(const void *codes, uint32_t n)
{
    const uint8_t *bytes = (const uint8_t *)codes;
    for (uint32_t i = 0; i < n; i += 4) {
        uint32_t word = 0;
        for (uint32_t k = 0; k < 4 && i + k < n; k++) word |= (uint32_t)bytes[i + k] << (8 * k);
        soc_out(word);
    }
}

int main(void)
{
    hwact_cfu_enable();
""" + "\n".join(main_calls) + "\n    return 0;\n}\n")
    return main


def _bytes(words: list[str], count: int, signed: bool) -> np.ndarray:
    raw = np.array([int(w, 16) for w in words], dtype="<u4").view(np.uint8)[:count].astype(np.int64)
    return np.where(raw >= 128, raw - 256, raw) if signed else raw


def run_fused_firmware(cfu: LoadedCfu, core: str, work: Path, *, count: int = 256, seed: int = 1,
                       simulator: str = "verilator") -> list[FusedRun]:
    """Run every fused op of ``cfu`` on ``core``: ``count`` accumulators each, and the dense layer."""
    work = Path(work).resolve()
    fused = [op for op in cfu.ops if op.requant is not None]
    if not fused:
        raise ValueError(f"{cfu.directory} has no fused requantize + activation op")
    count = -(-count // 4) * 4
    rng = np.random.default_rng(seed)
    accs = []
    for op in fused:  # most within the layer's output range, some anywhere in int32, and the extremes
        lo, hi = accumulator_range(op.plan, op.requant)
        inside = rng.integers(lo, hi, size=count - count // 8 - 4, endpoint=True)
        anywhere = rng.integers(-(1 << 31), (1 << 31) - 1, size=count // 8, endpoint=True)
        accs.append(np.concatenate([[-(1 << 31), (1 << 31) - 1, 0, -1], inside, anywhere]).astype(np.int64))
    dense = dense_inputs(seed)
    main = _sources(cfu, fused, accs, dense, work)
    write_unit_headers(cfu, work)
    image, _ = compile_firmware(cfu.directory, work, main=main, defines=CORE_DEFINES[core],
                                extra_sources=(work / "fw_fused_data.c", work / "fw_fused_hw.c",
                                               work / "fw_fused_sw.c", work / "fw_raw.c"))
    # PicoRV32 takes about 8x VexRiscv's cycles for the same kernels.
    status, _, lines = simulate_soc(core, cfu.directory, image, work, simulator=simulator,
                                    max_cycles=30_000_000 if core == "picorv32" else 4_000_000)
    if status != 0:
        raise RuntimeError(f"the fused-op firmware exited with status {status} on {core}")
    runs, at = [], 0

    def take(n: int) -> list[str]:
        nonlocal at
        at += n
        return lines[at - n:at]

    acc_dense = _dense_acc(*dense)
    for op, acc in zip(fused, accs, strict=True):
        signed = op.plan.out_fmt.signed
        hw = _bytes(take(count // 4), count, signed)
        sw = _bytes(take(count // 4), count, signed)
        words = -(-DENSE_OUT // 4)
        d_hw = _bytes(take(words), DENSE_OUT, signed)
        d_sw = _bytes(take(words), DENSE_OUT, signed)
        c_hw, c_sw, c_raw = (int(v, 16) for v in take(3))
        runs.append(FusedRun(op.name, acc, hw, sw, fused_evaluate(op.plan, op.requant, acc, np.arange(acc.size)),
                             fused_evaluate(op.plan, op.requant, acc_dense, np.arange(DENSE_OUT)), d_hw, d_sw,
                             {"dense_fused": c_hw, "dense_fallback": c_sw, "dense_raw": c_raw}))
    return runs
