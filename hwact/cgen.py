"""The C backend: a plan as one self-contained, portable C99 header, bit-exact with the model.

:func:`c_header` writes ``static inline`` functions that compute, step for step, what
:func:`hwact.model.evaluate` and the generated Verilog compute:

* ``hwact_<top>(x)`` (``(x, a)`` for two-operand units; CReLU writes its two outputs through a
  pointer): one code in, one code out, codes as integers (sign-extended for signed formats);
* ``hwact_<top>_packed(rs1, rs2)``: a whole transfer in register form, fields placed as
  :mod:`hwact.layout` defines them, so firmware can call it in place of the custom instruction;
* ``hwact_<top>_array(in, out, n)``: ``n`` codes in the narrowest integer type of each format.

Only ``<stdint.h>`` and ``<stddef.h>``; no floating point. Every intermediate is ``int32_t``
when :func:`hwact.widths.analyze` says its range fits, ``int64_t`` only where it must. No
undefined behaviour: no signed overflow (every type holds its step's exact range, rounding
biases included), no left shift of a negative value, and right shifts of negative values are
spelled ``~(~v >> s)`` (floor division on two's complement, which ``intN_t`` guarantees)
instead of relying on the implementation-defined ``>>``. Every static name carries the
``hwact_<top>_`` prefix, so headers of different units can be included together.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from . import __version__
from .fixed import ROUNDING_BIAS, Fmt, Rounding
from .layout import Group, transfer_layout
from .plan import BitSlice, Plan
from .widths import Range, Widths, analyze

__all__ = ["c_header", "c_identifier", "scalar_type", "storage_type"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Comparator selects with at most this many thresholds are unrolled; longer ones binary-search.
UNROLL_THRESHOLDS = 8
_PER_LINE = 12


def c_identifier(top: str) -> str:
    """Return ``top`` if it can name C functions (``hwact_<top>``), else raise ``ValueError``."""
    if not isinstance(top, str) or not _IDENTIFIER.fullmatch(top):
        raise ValueError(f"unit name must be a C identifier (letters, digits, _), not {top!r}")
    return top


def scalar_type(fmt: Fmt) -> str:
    """The C type of one code of ``fmt`` in a function argument or result."""
    return "uint32_t" if not fmt.signed and fmt.width == 32 else "int32_t"


def storage_type(fmt: Fmt) -> str:
    """The narrowest C integer type holding every code of ``fmt`` (arrays)."""
    width = next(w for w in (8, 16, 32) if fmt.width <= w)
    return f"{'' if fmt.signed else 'u'}int{width}_t"


def _ctype(r: Range) -> str:
    if r.fits(32):
        return "int32_t"
    if r.fits(64):
        return "int64_t"
    raise ValueError(f"an intermediate spans {r.lo}..{r.hi} ({r.bits} bits), wider than int64_t")


def _wider(*types: str) -> str:
    return "int64_t" if "int64_t" in types else "int32_t"


def _table_type(values: list[int]) -> str:
    lo, hi = min(values), max(values)
    for width in (8, 16, 32, 64):
        if lo >= 0 and hi < 1 << width and width < 64 and (hi >= 1 << (width - 1)):
            return f"uint{width}_t"
        if -(1 << (width - 1)) <= lo and hi < 1 << (width - 1):
            return f"int{width}_t"
    raise ValueError(f"a table entry is wider than 64 bits ({lo}..{hi})")


def _lit(value: int, ctype: str = "int32_t") -> str:
    """An integer constant of ``ctype`` (int32_t, int64_t, uint32_t or uint64_t)."""
    value = int(value)
    if ctype.startswith("uint"):
        return f"UINT64_C({value})" if ctype == "uint64_t" else f"{value}u"
    if ctype == "int64_t" or not -(1 << 31) <= value < 1 << 31:
        return "INT64_MIN" if value == -(1 << 63) else f"INT64_C({value})"
    return "INT32_MIN" if value == -(1 << 31) else str(value)


def _floor_shift(v: str, s: int) -> str:
    """``floor(v / 2**s)`` without the implementation-defined right shift of a negative value."""
    return f"({v} < 0 ? ~(~{v} >> {s}) : {v} >> {s})"


class _Emitter:
    """Statements of one function body; ``var`` declares a typed local."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.lines: list[str] = []
        self.tables: list[str] = []
        self.helpers: list[str] = []
        #: local name -> index of its declaration in ``lines``
        self.declared: dict[str, int] = {}

    def var(self, name: str, ctype: str, expr: str) -> str:
        if name in self.declared:
            raise AssertionError(f"local {name} declared twice")
        self.declared[name] = len(self.lines)
        self.lines.append(f"{ctype} {name} = {expr};")
        return name

    def table(self, name: str, values: list[int]) -> tuple[str, str]:
        ctype = _table_type(values)
        full = f"{self.prefix}{name}"
        items = [f"{v}u" if ctype.startswith("u") else _lit(v, "int64_t" if ctype == "int64_t" else "int32_t")
                 for v in values]
        rows = [", ".join(items[i:i + _PER_LINE]) for i in range(0, len(items), _PER_LINE)]
        body = ",\n    ".join(rows)
        self.tables.append(f"static const {ctype} {full}[{len(values)}] = {{\n    {body}\n}};")
        return full, ctype


def _round_shift(e: _Emitter, name: str, v: str, shift: int, rounding: str, work: str, out: str) -> str:
    """Emit ``shift_round(v, shift, rounding)`` computed in ``work``, stored as ``out``."""
    if shift == 0:
        return v if work == out else e.var(name, out, f"({out}){v}")
    if shift < 0:
        return e.var(name, out, f"({out})({v} * ({_lit(1, work)} << {-shift}))")
    unsigned = "uint64_t" if work == "int64_t" else "uint32_t"
    bias = ROUNDING_BIAS[Rounding(rounding)]
    non_negative, negative = bias.amounts(shift)

    def plus(amount: int | None) -> str:
        return v if amount is None else f"{v} + {_lit(amount, work)}"

    biased = plus(non_negative) if negative == non_negative else f"({v} < 0 ? {plus(negative)} : {plus(non_negative)})"
    if bias.plus_kept_lsb:
        # a tie rounds up only when the kept part is odd: bit `shift` of v (two's complement)
        biased = f"{biased} + ({work})((({unsigned}){v} >> {shift}) & 1u)"
    b = e.var(f"{name}_b", work, biased)
    return e.var(name, out, _floor_shift(b, shift) if work == out else f"({out}){_floor_shift(b, shift)}")


def _biased(r: Range, shift: int) -> Range:
    """The range of a value plus any rounding bias of a right shift by ``shift``."""
    return Range(r.lo, r.hi + (1 << shift) - 1 if shift > 0 else r.hi)


def _chain(e: _Emitter, plan: Plan, widths: Widths, x: str, a: str | None, factor: str | None) -> str:
    """Emit the datapath of ``plan`` on input ``x``; return the output variable's name (out type)."""
    in_type = _ctype(widths.input.union(widths.clamped))
    v = e.var("v", in_type, x if in_type == "int32_t" and scalar_type(plan.in_fmt) == "int32_t" else f"({in_type}){x}")
    if plan.clamp is not None:
        e.lines.append(f"if ({v} < {_lit(plan.clamp.lo, in_type)}) {v} = {_lit(plan.clamp.lo, in_type)};")
        e.lines.append(f"if ({v} > {_lit(plan.clamp.hi, in_type)}) {v} = {_lit(plan.clamp.hi, in_type)};")
    m = v
    if plan.fold is not None:
        m_type = _ctype(widths.folded.union(widths.clamped))
        e.var("neg", "int", f"{v} < 0")
        m = e.var("m", m_type, f"neg ? -({m_type}){v} : ({m_type}){v}")
    m_type = _ctype(widths.folded.union(widths.clamped)) if plan.fold is not None else in_type

    # -- segment and t
    degree = plan.table.degree
    select = plan.select
    needs_seg = select.segments > 1
    seg = "0u"
    t = None
    if isinstance(select, BitSlice):
        off_range = Range(widths.folded.lo - select.base, widths.folded.hi - select.base)
        off_type = _wider(_ctype(off_range), m_type)
        off = e.var("off", off_type, f"{m} - {_lit(select.base, off_type)}" if select.base else m)
        if needs_seg:
            seg = e.var("seg", "uint32_t", f"(uint32_t)({_floor_shift(off, select.shift)})"
                        if select.shift else f"(uint32_t){off}")
        if degree:
            t = e.var("t", _ctype(widths.t), f"({_ctype(widths.t)})({off} & {_lit((1 << select.shift) - 1, off_type)})")
    else:
        if needs_seg:
            thresholds = list(select.thresholds)
            if len(thresholds) <= UNROLL_THRESHOLDS:
                seg = e.var("seg", "uint32_t", "0u")
                for index, threshold in enumerate(thresholds):
                    e.lines.append(f"if ({m} >= {_lit(threshold, m_type)}) {seg} = {index + 1}u;")
            else:
                name, _ = e.table("thr", thresholds)
                e.var("lo", "uint32_t", "0u")
                e.var("hi", "uint32_t", f"{len(thresholds)}u")
                e.lines.append("while (lo < hi) {")
                e.lines.append("    uint32_t mid = (lo + hi) >> 1;")
                e.lines.append(f"    if ({m} >= {name}[mid]) lo = mid + 1u; else hi = mid;")
                e.lines.append("}")
                seg = e.var("seg", "uint32_t", "lo")
        if degree:
            t_type = _ctype(widths.t)
            if select.origins is None:
                t = e.var("t", t_type, m if t_type == m_type else f"({t_type}){m}")
            else:
                origin = _column(e, plan, "org", list(select.origins), [], seg, None, _wider(m_type, t_type))
                t = e.var("t", t_type, f"({t_type})({m} - {origin})")

    def coefficient(k: int, work: str) -> str:
        entries = [seg_ for seg_, power in plan.table.operand if power == k]
        return _column(e, plan, f"c{k}", list(plan.table.column(k)), entries, seg, a, work)

    # -- Horner
    if degree == 0:
        acc_type = _ctype(widths.acc)
        acc = e.var("acc", acc_type, coefficient(0, acc_type))
    else:
        top_column = [plan.operand_fmt.min_code if (s, degree) in plan.table.operand else c
                      for s, c in enumerate(plan.table.column(degree))]
        if any(power == degree for _, power in plan.table.operand):
            top_column += [plan.operand_fmt.max_code]
        acc, acc_range = None, Range(min(top_column), max(top_column))
        for index, (step, k) in enumerate(zip(plan.horner, range(degree - 1, -1, -1))):
            product, total = widths.products[index], widths.sums[index]
            # wide enough for the multiplicand, the product plus its rounding bias, and the sum
            work = _wider(_ctype(acc_range), _ctype(_biased(product, step.shift)), _ctype(total))
            multiplicand = coefficient(degree, work) if acc is None else f"({work}){acc}"
            p = e.var(f"p{index}", work, f"({multiplicand}) * ({work}){t}")
            r = _round_shift(e, f"r{index}", p, step.shift, step.rounding, work, work)
            acc_type, acc_range = _ctype(total), total
            low = coefficient(k, work)
            expr = r if low == _lit(0, work) else f"{r} + {low}"
            acc = e.var(f"s{index}", acc_type, expr if work == acc_type else f"({acc_type})({expr})")

    # -- unfold
    value, value_range = acc, widths.acc
    if plan.fold is not None:
        kind, constant = plan.fold.kind, plan.fold.constant
        acc_r = widths.acc
        spans = [acc_r, widths.unfolded, Range(-acc_r.hi, -acc_r.lo)]
        if kind == "complement":
            spans.append(Range(constant - acc_r.hi, constant - acc_r.lo))
        if kind == "minus_x":
            spans.append(Range(0, widths.folded.hi << constant))
        work = _ctype(Range(min(s.lo for s in spans), max(s.hi for s in spans)))
        a_ = acc if _ctype(widths.acc) == work else f"({work}){acc}"
        negated = {"odd": f"-{a_}", "complement": f"{_lit(constant, work)} - {a_}",
                   "minus_x": f"{a_} - (({work}){m} << {constant})" if constant else f"{a_} - ({work}){m}"}[kind]
        out_type = _ctype(widths.unfolded)
        expr = f"neg ? {negated} : {a_}"
        value = e.var("u", out_type, expr if out_type == work else f"({out_type})({expr})")
        value_range = widths.unfolded

    # -- gated product
    if plan.product is not None:
        g_type = _ctype(widths.gated)
        value = e.var("g", g_type, f"({g_type}){value} * ({g_type}){factor}")
        value_range = widths.gated

    # -- output stage
    stage, fmt = plan.output, plan.out_fmt
    v_type = _ctype(value_range)
    if stage.shift < 0 and stage.overflow == "WRAP":
        k = -stage.shift
        unsigned = "uint64_t" if v_type == "int64_t" else "uint32_t"
        bits = e.var("bits", "uint32_t", "0u" if k >= 32 else
                     f"(uint32_t)((({unsigned}){value} << {k}) & {_lit((1 << fmt.width) - 1, unsigned)})")
        return _wrap(e, fmt, bits)
    if stage.shift < 0:  # the model's guard clip: beyond it every value saturates the same way
        k = -stage.shift
        lo, hi = (fmt.min_code >> k) - 1, (fmt.max_code >> k) + 1
        clipped = e.var("cl", v_type, value)
        e.lines.append(f"if ({clipped} < {_lit(lo, v_type)}) {clipped} = {_lit(lo, v_type)};")
        e.lines.append(f"if ({clipped} > {_lit(hi, v_type)}) {clipped} = {_lit(hi, v_type)};")
        value = clipped
    r_type = _ctype(widths.rounded)
    work = _wider(_ctype(_biased(widths.final, stage.shift)), r_type, v_type)
    src = value if v_type == work else f"({work}){value}"
    rounded = _round_shift(e, "ro", src, stage.shift, stage.rounding, work, r_type)
    if stage.overflow == "WRAP":
        unsigned = "uint64_t" if r_type == "int64_t" else "uint32_t"
        bits = e.var("bits", "uint32_t", f"(uint32_t)(({unsigned}){rounded} & {_lit((1 << fmt.width) - 1, unsigned)})")
        return _wrap(e, fmt, bits)
    low = -fmt.max_code if stage.overflow == "SAT_SYM" and fmt.signed else fmt.min_code
    out = scalar_type(fmt)
    lo_lit, hi_lit = _lit(low, r_type), _lit(fmt.max_code, r_type)
    return e.var("y", out, f"({out})({rounded} < {lo_lit} ? {lo_lit} : {rounded} > {hi_lit} ? {hi_lit} : {rounded})")


def _wrap(e: _Emitter, fmt: Fmt, bits: str) -> str:
    """A code of ``fmt`` from its raw bits (sign extension without implementation-defined casts)."""
    out = scalar_type(fmt)
    if not fmt.signed:
        return e.var("y", out, bits if out == "uint32_t" else f"(int32_t){bits}")
    sign = 1 << (fmt.width - 1)
    if fmt.width < 32:
        return e.var("y", out, f"(int32_t)({bits} ^ {sign}u) - {sign}")
    return e.var("y", out, f"(int32_t)((int64_t){bits} - ((int64_t)({bits} & {sign}u) << 1))")


def _column(e: _Emitter, plan: Plan, name: str, values: list[int], operand_segments: list[int], seg: str,
            a: str | None, work: str) -> str:
    """Expression of column ``values`` at segment ``seg`` as ``work``; operand entries read ``a``."""
    constant_entries = [v for s, v in enumerate(values) if s not in operand_segments]
    if not constant_entries:
        base = _lit(0, work)
    elif len(set(constant_entries)) == 1:
        base = _lit(constant_entries[0], work)
    else:
        table, _ = e.table(name, values)
        base = f"({work}){table}[{seg}]"
    for s in operand_segments:
        base = f"({seg} == {s}u ? ({work}){a} : {base})"
    return base


def _function(plan: Plan, name: str, prefix: str, widths: Widths, *, factor_call: str | None = None,
              static_tables: list[str]) -> str:
    """One ``static inline`` function computing ``plan`` on one code (``name(x[, a])``)."""
    e = _Emitter(prefix)
    a = "a" if plan.operand_fmt is not None else None
    factor = None
    if plan.product is not None:
        factor = e.var("f", "int32_t", f"{factor_call}(a)" if factor_call else "(int32_t)a")
    y = _chain(e, plan, widths, "x", a, factor)
    if plan.maximum:
        e.lines.append(f"if (a > {y}) {y} = a;")
    e.lines.append(f"return {y};")
    # a select whose value no column reads must not warn as unused (last first: inserts shift lines)
    for local, index in sorted(e.declared.items(), key=lambda item: -item[1]):
        if not any(re.search(rf"\b{local}\b", line) for line in e.lines[index + 1:]):
            e.lines.insert(index + 1, f"(void){local};")
    static_tables.extend(e.tables)
    args = f"{scalar_type(plan.in_fmt)} x" + (f", {scalar_type(plan.operand_fmt)} a" if a else "")
    body = "\n".join(f"    {line}" for line in e.lines)
    return f"static inline {scalar_type(plan.out_fmt)} {name}({args})\n{{\n{body}\n}}"


def extract_code(register: str, offset: int, fmt: Fmt) -> str:
    """C expression: the code of ``fmt`` held at bit ``offset`` of a 32-bit ``register`` (int32_t,
    sign-extended by offsetting, so no out-of-range conversion is implementation-defined)."""
    width = fmt.width
    raw = f"({register} >> {offset})" if offset else register
    if width < 32:
        raw = f"({raw} & {_lit((1 << width) - 1, 'uint32_t')})"
    if not fmt.signed:
        return raw if width == 32 else f"(int32_t){raw}"
    sign = 1 << (width - 1)
    if width < 32:
        return f"((int32_t)({raw} ^ {sign}u) - {sign})"
    return f"(int32_t)((int64_t){raw} - ((int64_t)({raw} & {sign}u) << 1))"


def place_code(code: str, offset: int, fmt: Fmt) -> str:
    """C expression: the code ``code`` of ``fmt`` placed at bit ``offset`` of a 32-bit register."""
    mask = _lit((1 << fmt.width) - 1, "uint32_t")
    return f"(((uint32_t){code} & {mask}) << {offset})" if offset else f"((uint32_t){code} & {mask})"


def _extract(group: Group, register: str, field: int) -> str:
    """The code of field ``field`` of ``group`` from a 32-bit register (sign-extended)."""
    return extract_code(register, group.offset(field), group.fmt)


def _place(group: Group, field: int, code: str) -> str:
    return place_code(code, group.offset(field), group.fmt)


def _describe(plan: Plan) -> str:
    parts = [plan.method]
    if isinstance(plan.select, BitSlice):
        parts.append(f"{plan.select.segments} segment(s) of {1 << plan.select.shift} code(s) (bit slice)")
    else:
        parts.append(f"{plan.select.segments} segment(s) (comparators)")
    parts.append(f"degree {plan.table.degree}")
    if plan.clamp is not None:
        parts.append(f"clamp {plan.clamp.lo}..{plan.clamp.hi}")
    if plan.fold is not None:
        parts.append(f"{plan.fold.kind} fold")
    if plan.product is not None:
        parts.append("gated product")
    if plan.maximum:
        parts.append("max with the operand")
    if plan.mirror:
        parts.append("outputs at x and -x")
    parts.append(f"output {plan.output.rounding}/{plan.output.overflow}")
    return ", ".join(parts)


def c_header(plan: Plan, top: str, lanes: int = 1, *, error: Mapping[str, Any] | None = None) -> str:
    """The C99 header of ``plan`` as unit ``top`` with ``lanes`` lanes per transfer.

    Parameters
    ----------
    plan
        The datapath.
    top
        The unit's name: functions are ``hwact_<top>``, ``hwact_<top>_packed`` and
        ``hwact_<top>_array``, the guard ``HWACT_<TOP>_H``.
    lanes
        Codes per 32-bit transfer in ``hwact_<top>_packed`` (1, 2 or 4).
    error
        The measured error (a manifest's ``error``) for the comment block; measured when absent.

    Raises
    ------
    ValueError
        A name that is not a C identifier, lanes that do not fit a register, or an
        intermediate wider than 64 bits.
    """
    if not isinstance(plan, Plan):
        raise TypeError(f"plan must be a hwact.plan.Plan, not {plan!r}")
    c_identifier(top)
    layout = transfer_layout(plan, lanes)
    if error is None:
        from .measure import report

        error = report(plan).to_dict()
    prefix = f"hwact_{top}_"
    tables: list[str] = []
    functions: list[str] = []
    widths = analyze(plan)
    factor_call = None
    if plan.product is not None and plan.product.factor_plan is not None:
        factor_call = f"{prefix}factor"
        factor_plan = plan.product.factor_plan
        functions.append(_function(factor_plan, factor_call, f"{prefix}f_", analyze(factor_plan),
                                   static_tables=tables))
    core = f"{prefix}one" if plan.mirror else f"hwact_{top}"
    functions.append(_function(plan, core, prefix, widths, factor_call=factor_call, static_tables=tables))

    x_t, o_t = scalar_type(plan.in_fmt), scalar_type(plan.out_fmt)
    a_t = None if plan.operand_fmt is None else scalar_type(plan.operand_fmt)
    x_s, o_s = storage_type(plan.in_fmt), storage_type(plan.out_fmt)
    a_s = None if plan.operand_fmt is None else storage_type(plan.operand_fmt)
    if plan.mirror:
        negate = "0" if not plan.in_fmt.signed else f"x < -{plan.in_fmt.max_code} ? {plan.in_fmt.max_code} : -x"
        functions.append(
            f"/* y[0] = f(x), y[1] = f(-x) (-x saturated into {plan.in_fmt}). */\n"
            f"static inline void hwact_{top}({x_t} x, {o_t} y[2])\n{{\n"
            f"    y[0] = {core}(x);\n    y[1] = {core}({negate});\n}}")

    # -- packed transfer
    lines = ["uint32_t rd = 0u;"]
    registers = {group.register: group for group in layout.inputs}
    if "rs2" not in registers:
        lines.append("(void)rs2;")
    out = layout.output
    for lane in range(lanes):
        codes = {group.name: _extract(group, group.register, lane) for group in layout.inputs}
        args = codes["x"] + (f", {codes['a']}" if "a" in codes else "")
        if plan.mirror:
            lines.append(f"{o_t} y{lane}[2];")
            lines.append(f"hwact_{top}({args}, y{lane});")
            lines.append(f"rd |= {_place(out, 2 * lane, f'y{lane}[0]')};")
            lines.append(f"rd |= {_place(out, 2 * lane + 1, f'y{lane}[1]')};")
        else:
            lines.append(f"rd |= {_place(out, lane, f'hwact_{top}({args})')};")
    lines.append("return rd;")
    body = "\n".join(f"    {line}" for line in lines)
    functions.append(f"static inline uint32_t hwact_{top}_packed(uint32_t rs1, uint32_t rs2)\n{{\n{body}\n}}")

    # -- arrays
    if plan.mirror:
        array = (f"static inline void hwact_{top}_array(const {x_s} *in, {o_s} *out, size_t n)\n{{\n"
                 f"    size_t i;\n    for (i = 0; i < n; ++i) {{\n        {o_t} y[2];\n"
                 f"        hwact_{top}(in[i], y);\n        out[2 * i] = ({o_s})y[0];\n"
                 f"        out[2 * i + 1] = ({o_s})y[1];\n    }}\n}}")
    elif a_t is None:
        array = (f"static inline void hwact_{top}_array(const {x_s} *in, {o_s} *out, size_t n)\n{{\n"
                 f"    size_t i;\n    for (i = 0; i < n; ++i) out[i] = ({o_s})hwact_{top}(in[i]);\n}}")
    else:
        array = (f"static inline void hwact_{top}_array(const {x_s} *x, const {a_s} *a, {o_s} *out, size_t n)\n{{\n"
                 f"    size_t i;\n    for (i = 0; i < n; ++i) out[i] = ({o_s})hwact_{top}(x[i], a[i]);\n}}")
    functions.append(array)

    guard = f"HWACT_{top.upper()}_H"
    return "\n".join([
        _comment(plan, top, layout, widths, error, x_t, a_t, o_t, x_s, a_s, o_s),
        f"#ifndef {guard}", f"#define {guard}", "", "#include <stddef.h>", "#include <stdint.h>", "",
        f"#define HWACT_{top.upper()}_LANES {lanes}",
        f"#define HWACT_{top.upper()}_IN_BITS {plan.in_fmt.width}",
        f"#define HWACT_{top.upper()}_IN_FRAC_BITS {plan.in_fmt.frac_bits}",
        f"#define HWACT_{top.upper()}_OUT_BITS {plan.out_fmt.width}",
        f"#define HWACT_{top.upper()}_OUT_FRAC_BITS {plan.out_fmt.frac_bits}",
        *_affine_defines(plan, top),
        "",
        *(f"{table}\n" for table in tables),
        "\n\n".join(functions), "", f"#endif /* {guard} */", ""])


def _affine_defines(plan: Plan, top: str) -> list[str]:
    """Scale and zero point of affine formats, for kernels that quantize around the unit."""
    lines = []
    for side, fmt in (("IN", plan.in_fmt), ("OUT", plan.out_fmt)):
        if fmt.is_affine:
            lines += [f"#define HWACT_{top.upper()}_{side}_SCALE {fmt.scale!r}",
                      f"#define HWACT_{top.upper()}_{side}_ZERO_POINT {fmt.zero_point}"]
    return lines


def _comment(plan: Plan, top: str, layout, widths: Widths, error: Mapping[str, Any], x_t, a_t, o_t,
             x_s, a_s, o_s) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(plan.params.items())) or "none"
    formats = f"in {plan.in_fmt}, out {plan.out_fmt}"
    if plan.operand_fmt is not None:
        formats += f", operand {plan.operand_fmt}"
    monotonic = error.get("monotonic")
    measured = (f"max {error['max_lsb']:.4g} LSB, mean {error['mean_lsb']:.4g}, rms {error['rms_lsb']:.4g}, "
                f"{100 * error['correctly_rounded_fraction']:.2f} % correctly rounded"
                + ("" if monotonic is None else (", monotonic" if monotonic else ", not monotonic")))
    wide = [name for name, r in widths.steps().items() if not r.fits(32)]
    fields = []
    for group in (*layout.inputs, layout.output):
        fields.append(f"{group.register} = {group.count} x {group.name} ({group.fmt}, {group.width} bits each, "
                      f"field i at bit i*{group.width})")
    call = f"{o_t} hwact_{top}({x_t} x" + (f", {a_t} a" if a_t else "") + ")"
    if plan.mirror:
        call = f"void hwact_{top}({x_t} x, {o_t} y[2])"
    array = (f"void hwact_{top}_array(const {x_s} *in, {o_s} *out, size_t n)" if a_t is None else
             f"void hwact_{top}_array(const {x_s} *x, const {a_s} *a, {o_s} *out, size_t n)")
    lines = [
        f"{top}.h: bit-exact C model of hwact unit {top}, generated by hwact {__version__}. Do not edit.",
        "",
        f"function: {plan.function} (params: {params})",
        f"formats:  {formats} (codes as integers: value = "
        + ("(code - zp) * scale)" if plan.in_fmt.is_affine or plan.out_fmt.is_affine else "code * 2^-frac_bits)"),
        f"method:   {_describe(plan)}",
        f"error:    {measured}",
        f"widths:   widest intermediate {widths.widest} bits"
        + (f"; int64_t for {', '.join(wide)}" if wide else "; int32_t throughout"),
        "",
        f"{call}",
        f"uint32_t hwact_{top}_packed(uint32_t rs1, uint32_t rs2)   {layout.lanes} lane(s), lane 0 lowest:",
        *(f"    {field}" for field in fields),
        f"{array}" + ("   (2 outputs per input)" if plan.mirror else ""),
    ]
    return "/*\n" + "\n".join(f" * {line}".rstrip() for line in lines) + "\n */"
