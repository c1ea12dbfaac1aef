"""``hwact_cfu.h``: the CFU's instructions as C intrinsics, and their bit-exact software fallback.

Per unit ``NAME``::

    uint32_t hwact_cfu_NAME(uint32_t rs1, uint32_t rs2);             one instruction: packed lanes
    void     hwact_cfu_NAME_array(const T *x, T *y, size_t n);        n codes, lanes packed for you
    void     hwact_cfu_NAME_array(const T *x, const A *a, T *y, size_t n)   (two-operand units)

With ``HWACT_SOFTWARE`` defined, ``hwact_cfu_NAME`` is the unit's ``hwact_NAME_packed`` from
the C backend's ``NAME.h`` (same bits, same signature), so one firmware source runs with or
without the hardware. The instruction itself is ``.insn r CUSTOM_0, funct3, funct7, rd, rs1,
rs2`` in a macro, so funct3/funct7 are assembler constants.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..cgen import extract_code, place_code, storage_type
from ..fixed import Fmt
from ..layout import transfer_layout
from .config import CfuConfig, split_function_id
from .core import CfuOp, discovery_word

__all__ = ["c_type", "cfu_header"]


#: The narrowest C integer type holding every code of a format (the C backend's array type).
c_type = storage_type


def _pack(fmt: Fmt, lanes: int, source: str, base: str) -> str:
    """C expression: ``lanes`` codes ``source[base + k]`` packed into a register, lane 0 lowest."""
    return " | ".join(place_code(f"{source}[{base} + {lane}]", lane * fmt.width, fmt) for lane in range(lanes))


def _unpack(fmt: Fmt, value: str) -> str:
    """C expression: the low ``fmt.width`` bits of ``value`` as a code of ``fmt``."""
    return f"({c_type(fmt)}){extract_code(f'({value})', 0, fmt)}"


def _natural(fmt: Fmt) -> bool:
    """Whether a code of ``fmt`` fills its C type exactly (so memory holds the register's bytes)."""
    return fmt.width in (8, 16, 32)


def intrinsic_head(name: str, funct3: int, funct7: int) -> list[str]:
    """The start of an op's intrinsic ``hwact_cfu_NAME(rs1, rs2)``: the instruction, then ``#else``
    (the caller writes the C fallback, ``#endif`` and the closing brace)."""
    return [
        f"static inline uint32_t hwact_cfu_{name}(uint32_t rs1, uint32_t rs2)",
        "{",
        "#ifndef HWACT_SOFTWARE",
        "    uint32_t rd;",
        f"    HWACT_CFU_INSN({funct3}, {funct7}, rd, rs1, rs2);",
        "    return rd;",
        "#else",
    ]


def _unit_block(op: CfuOp, manifest: dict[str, Any]) -> list[str]:
    plan, lanes, name = op.plan, op.lanes, op.name
    f3, f7 = op.funct3, op.funct7
    x_t, y_t = c_type(plan.in_fmt), c_type(plan.out_fmt)
    error = manifest["error"]
    two = plan.operand_fmt is not None
    a_t = c_type(plan.operand_fmt) if two else ""
    outputs, width = plan.outputs, plan.out_fmt.width
    lines = [
        f"/* {name}: {plan.function} {plan.in_fmt} -> {plan.out_fmt}"
        + (f", operand {plan.operand_fmt} in rs2" if two else "")
        + f", {lanes} lane(s); function_id {op.function_id} (funct3 {f3}, funct7 {f7}); "
        f"max error {error['max_lsb']:.3f} LSB */",
        f"#define HWACT_CFU_{name.upper()}_ID {op.function_id}",
        f"#define HWACT_CFU_{name.upper()}_LANES {lanes}",
        *intrinsic_head(name, f3, f7),
        f"    return hwact_{name}_packed(rs1, rs2);",
        "#endif",
        "}",
    ]
    args = f"const {x_t} *x, const {a_t} *a, {y_t} *y, size_t n" if two else f"const {x_t} *x, {y_t} *y, size_t n"
    # Which array feeds which register (hwact.layout: x in rs1, the operand a in rs2).
    layout = transfer_layout(plan, lanes)
    groups = {group.register: group for group in layout.inputs}

    def register(reg: str, base: str, tail: bool) -> str:
        group = groups.get(reg)
        if group is None:
            return "0u"
        source = ("xt" if group.name == "x" else "at") if tail else group.name
        return _pack(group.fmt, lanes, source, base)

    # Whole words straight from memory when every field fills its C type (int8 x 4, int16 x 2).
    natural = all(_natural(group.fmt) for group in (*layout.inputs, layout.output)) and \
        all(group.bits == 32 for group in (*layout.inputs, layout.output))
    lines += [
        f"/* {name} over n codes" + (" (y receives 2n codes: f(x[i]), f(-x[i]))" if outputs == 2 else "")
        + "; a tail shorter than the lanes is padded with zeros. */",
        f"static inline void hwact_cfu_{name}_array({args})",
        "{",
        "    size_t i = 0;",
    ]
    if natural:
        arrays = [groups[reg].name for reg in ("rs1", "rs2") if reg in groups] + ["y"]
        aligned = " | ".join(f"(uintptr_t){array}" for array in arrays)
        words = [f"((const hwact_word_t *)(const void *){groups[reg].name})[i / {lanes}]" if reg in groups else "0u"
                 for reg in ("rs1", "rs2")]
        lines += [
            f"    if ((({aligned}) & 3u) == 0) {{  /* aligned: one load, one instruction, one store per word */",
            f"        for (; i + {lanes} <= n; i += {lanes})",
            f"            ((hwact_word_t *)(void *)y)[i / {lanes}] = hwact_cfu_{name}({words[0]}, {words[1]});",
            "    }",
        ]
    lines += [
        f"    for (; i + {lanes} <= n; i += {lanes}) {{",
        f"        uint32_t rd = hwact_cfu_{name}({register('rs1', 'i', False)}, {register('rs2', 'i', False)});",
    ]
    for k in range(lanes * outputs):
        lines.append(f"        y[{outputs} * i + {k}] = {_unpack(plan.out_fmt, f'rd >> {k * width}')};")
    tail_call = f"        rd = hwact_cfu_{name}({register('rs1', '0', True)}, {register('rs2', '0', True)});"
    lines += [
        "    }",
        "    if (i < n) {",
        f"        {x_t} xt[{lanes}] = {{0}};",
    ] + ([f"        {a_t} at[{lanes}] = {{0}};"] if two else []) + [
        "        size_t k;",
        "        uint32_t rd;",
        "        for (k = 0; i + k < n; k++) {",
        "            xt[k] = x[i + k];",
    ] + (["            at[k] = a[i + k];"] if two else []) + [
        "        }",
        tail_call,
        f"        for (k = 0; k < {outputs} * (n - i); k++)",
        f"            y[{outputs} * i + k] = {_unpack(plan.out_fmt, f'rd >> ({width} * k)')};",
        "    }",
        "}",
        "",
    ]
    return lines


def cfu_header(config: CfuConfig, ops: tuple[CfuOp, ...], manifests: dict[str, dict[str, Any]],
               unit_headers: bool = True) -> str:
    """The text of ``hwact_cfu.h`` for ``ops``; with ``unit_headers``, the fallback includes ``NAME.h``."""
    word = discovery_word(len(ops))
    lines = [
        (
            "/* hwact_cfu.h: custom-instruction intrinsics for the hwact CFU (generated by "
            f"hwact {__version__}; do not edit)."
        ),
        " *",
        " * Every op is `.insn r CUSTOM_0, funct3, funct7, rd, rs1, rs2` (function_id = funct7 << 3 | funct3):",
        " * rs1 holds the input lanes (gated units: the gate input x), rs2 the second operand's lanes (the",
        " * factor a, PReLU's slope), rd the output lanes, lane 0 lowest in each. Call hwact_cfu_enable()",
        " * first (VexRiscv: bit 31 of CSR 0xBC0; PicoRV32: define HWACT_CFU_PCPI, nothing to enable).",
        " * Define HWACT_SOFTWARE to compute the same bits in C (the unit headers NAME.h), no hardware needed.",
        " */",
        "#ifndef HWACT_CFU_H",
        "#define HWACT_CFU_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        f"#define HWACT_CFU_DISCOVERY_ID {config.discovery_id}",
        f"#define HWACT_CFU_DISCOVERY_VALUE 0x{word:08x}u",
        f"#define HWACT_CFU_UNKNOWN_VALUE 0x{config.unknown_value:08x}u",
        f"#define HWACT_CFU_UNITS {len(ops)}",
        "",
        "/* A 32-bit word that may alias the code arrays (lanes are loaded and stored a word at a time). */",
        "#if defined(__GNUC__)",
        "typedef uint32_t __attribute__((__may_alias__)) hwact_word_t;",
        "#else",
        "typedef uint32_t hwact_word_t;",
        "#endif",
        "",
        "/* The instruction; f3 and f7 must be integer literals (they reach the assembler as text). */",
        "#define HWACT_CFU_INSN(f3, f7, rd, rs1, rs2) \\",
        '    __asm__ volatile(".insn r CUSTOM_0, " #f3 ", " #f7 ", %0, %1, %2" : "=r"(rd) : "r"(rs1), "r"(rs2))',
        "",
        "#ifndef HWACT_SOFTWARE",
        "/* VexRiscv's CfuPlugin decodes custom-0 only while bit 31 of CSR 0xBC0 is set; PicoRV32 (PCPI,",
        " * define HWACT_CFU_PCPI) has no such CSR. */",
        "static inline void hwact_cfu_enable(void)",
        "{",
        "#ifndef HWACT_CFU_PCPI",
        '    __asm__ volatile(".option push\\n.option arch, +zicsr\\ncsrs 0xBC0, %0\\n.option pop"'
        ' :: "r"(0x80000000u));',
        "#endif",
        "}",
        "",
        '/* The feature word: magic 0x4857 ("HW") << 16 | version << 8 | number of units. */',
        "static inline uint32_t hwact_cfu_discover(void)",
        "{",
        "    uint32_t rd;",
        "    HWACT_CFU_INSN({}, {}, rd, 0u, 0u);".format(*split_function_id(config.discovery_id)),
        "    return rd;",
        "}",
        "#else",
    ]
    lines += [f'#include "{op.name}.h"' for op in ops] if unit_headers else []
    lines += [
        "static inline void hwact_cfu_enable(void) {}",
        "static inline uint32_t hwact_cfu_discover(void) { return HWACT_CFU_DISCOVERY_VALUE; }",
        "#endif",
        "",
    ]
    for op in ops:
        if op.requant is not None:  # a fused requantize + activation op
            from .requant import fused_block

            lines += fused_block(op, manifests[op.name])
        else:
            lines += _unit_block(op, manifests[op.name])
    lines += ["#endif /* HWACT_CFU_H */", ""]
    return "\n".join(lines)
