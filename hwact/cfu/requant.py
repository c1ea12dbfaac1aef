"""The fused requantize + activation op of the CFU: HDL, C fallback and ISA text.

``rd = act(requantize(rs1))``: rs1 is a TFLite int32 accumulator (bias included); the layer's
output multiplier and shift are per-unit constants (:class:`hwact.requant.Requant`), the zero
point is the unit's affine input format's; rs2 is ignored. With per-channel quantization
(:class:`hwact.requant.PerChannel`) rs2 is the output channel: its low bits pick the channel's
multiplier and shift from a small per-unit ROM, and the requantizer's shifts become variable.
The requantization is TFLite's ``MultiplyByQuantizedMultiplier`` exactly (:mod:`hwact.requant`
is the golden model), then the unit's own plan (a correctly rounded table at int8) on the
requantized code. Everything is integer, so the C fallback computes the same bits with int64
arithmetic.

One unit per layer: the activation's table is made for the layer's output scale anyway.
"""

from __future__ import annotations

from amaranth.hdl import Array, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..hdl.unit import ActivationUnit
from ..plan import Plan
from ..requant import INT32_MAX, PerChannel, Requant, check_fusable

__all__ = ["RequantUnit", "requant_c", "fused_block"]


class RequantUnit(wiring.Component):
    """An int32 accumulator in, the activation of its requantized code out.

    Parameters
    ----------
    plan
        The activation, on the layer's output quantization (an affine input of up to 16 bits).
    requant
        The layer's output multiplier and shift, or one per output channel.
    stages
        Pipeline registers of the activation unit (the requantization is combinational before it).

    Members
    -------
    i : ``In(stream.Signature(unsigned(64)))``
        The accumulator (rs1, bits 31..0) and, for a per-channel unit, the channel (rs2, bits 63..32).
    o : ``Out(stream.Signature(signed(32)))``
        The activation's output code as a 32-bit integer (sign-extended when the output is signed).
    """

    def __init__(self, plan: Plan, requant: Requant, *, stages: int = 0):
        check_fusable(plan)
        if not isinstance(requant, (Requant, PerChannel)):
            raise TypeError(f"requant must be a hwact.requant.Requant or PerChannel, not {requant!r}")
        self._plan, self._requant = plan, requant
        self._unit = ActivationUnit(plan, lanes=1, stages=stages)
        super().__init__({
            "i": In(stream.Signature(unsigned(64))),
            "o": Out(stream.Signature(signed(32))),
        })

    @property
    def latency(self) -> int:
        return self._unit.latency

    def elaborate(self, platform):
        m = Module()
        m.submodules.unit = unit = self._unit
        fmt = self._plan.in_fmt
        acc = self.i.payload[:32].as_signed()

        if isinstance(self._requant, PerChannel):
            # The channel's multiplier and shifts from a ROM indexed by rs2's low bits (padded with 0).
            multipliers, shifts = self._requant.table()
            index = self.i.payload[32:32 + self._requant.index_bits]
            multiplier = Signal(31)
            left, right = Signal(5), Signal(5)
            if self._requant.index_bits:
                m.d.comb += [
                    multiplier.eq(Array(Const(int(v), 31) for v in multipliers)[index]),
                    left.eq(Array(Const(max(int(v), 0), 5) for v in shifts)[index]),
                    right.eq(Array(Const(max(-int(v), 0), 5) for v in shifts)[index]),
                ]
            else:
                m.d.comb += [multiplier.eq(int(multipliers[0])), left.eq(max(int(shifts[0]), 0)),
                             right.eq(max(-int(shifts[0]), 0))]
        else:
            multiplier, shift = self._requant.multiplier, self._requant.shift
            left, right = max(shift, 0), max(-shift, 0)
            assert 0 <= multiplier <= INT32_MAX

        # acc * 2**left in int32 (wrapping, as the C code does), times the multiplier: exact in 63 bits.
        x = Signal(signed(32))
        m.d.comb += x.eq(acc << left)
        product = Signal(signed(64))
        m.d.comb += product.eq(x * multiplier)
        # SaturatingRoundingDoublingHighMul: add the nudge, divide by 2**31 truncating toward zero.
        # The multiplier is at most INT32_MAX, so the one overflowing case (both INT32_MIN) cannot occur.
        total = Signal(signed(65))
        m.d.comb += total.eq(product + Mux(product[63], 1 - (1 << 30), 1 << 30))
        high = Signal(signed(32))
        # Truncation toward zero of a negative total: floor((total + 2**31 - 1) / 2**31).
        m.d.comb += high.eq(Mux(total[64], (total + ((1 << 31) - 1)) >> 31, total >> 31))
        # RoundingDivideByPOT: half away from zero.
        rounded = Signal(signed(32))
        if isinstance(right, Signal):  # a variable exponent, 0..31
            mask = Signal(31)
            m.d.comb += mask.eq((Const(1, 32) << right) - 1)
            threshold = Signal(31)
            m.d.comb += threshold.eq((mask >> 1) + high[31])
            m.d.comb += rounded.eq((high >> right) + ((high[:31] & mask) > threshold))
        elif right:
            mask = (1 << right) - 1
            remainder = Signal(right)
            m.d.comb += remainder.eq(high[:right])
            threshold = Signal(right + 1)
            m.d.comb += threshold.eq((mask >> 1) + high[31])
            m.d.comb += rounded.eq((high >> right) + (remainder > threshold))
        else:
            m.d.comb += rounded.eq(high)
        # + zero point, saturated to the unit's input codes.
        code = Signal(signed(34))
        m.d.comb += code.eq(rounded + fmt.zero_point)
        saturated = Mux(code < fmt.min_code, fmt.min_code, Mux(code > fmt.max_code, fmt.max_code, code))
        m.d.comb += [
            unit.i.payload.as_value().eq(saturated),
            unit.i.valid.eq(self.i.valid),
            self.i.ready.eq(unit.i.ready),
        ]
        # The result as a 32-bit integer (sign-extended for a signed output): rd holds the code's
        # value, so a kernel stores it with one `sb` and no unpacking.
        m.d.comb += [
            self.o.payload.eq(unit.o.payload[0]),
            self.o.valid.eq(unit.o.valid),
            unit.o.ready.eq(self.o.ready),
        ]
        return m


def requant_c(name: str, requant: Requant | PerChannel, plan: Plan) -> list[str]:
    """C: ``int32_t hwact_NAME_requant(int32_t acc[, uint32_t channel])``, TFLite's requantization, bit-exact."""
    fmt = plan.in_fmt
    if isinstance(requant, PerChannel):
        multipliers, shifts = requant.table()
        head = [
            f"/* {name}: TFLite's MultiplyByQuantizedMultiplier(acc, multiplier[c], shift[c]) + {fmt.zero_point}, "
            f"saturated to {fmt.min_code}..{fmt.max_code}; c = channel & {requant.depth - 1} "
            f"({len(requant.channels)} channels, the rest multiplier 0) */",
            f"static const int32_t hwact_{name}_multiplier[{requant.depth}] = "
            f"{{{', '.join(str(int(v)) for v in multipliers)}}};",
            f"static const int8_t hwact_{name}_shift[{requant.depth}] = {{{', '.join(str(int(v)) for v in shifts)}}};",
            f"static inline int32_t hwact_{name}_requant(int32_t acc, uint32_t channel)",
            "{",
            f"    uint32_t c = channel & {requant.depth - 1}u;",
            f"    int32_t multiplier = hwact_{name}_multiplier[c], shift = hwact_{name}_shift[c];",
            "    int left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;",
            "    uint32_t mask = ((uint32_t)1 << right) - 1u;",
        ]
        left, right, multiplier = "left", "right", "multiplier"
        threshold = "(int32_t)(mask >> 1)"
    else:
        left, right, multiplier = max(requant.shift, 0), max(-requant.shift, 0), requant.multiplier
        head = [
            f"/* {name}: TFLite's MultiplyByQuantizedMultiplier(acc, {requant.multiplier}, {requant.shift}) "
            f"+ {fmt.zero_point}, saturated to {fmt.min_code}..{fmt.max_code} */",
            f"static inline int32_t hwact_{name}_requant(int32_t acc)",
            "{",
            f"    uint32_t mask = 0x{(1 << right) - 1:x}u;",
        ]
        threshold = str(((1 << right) - 1) >> 1)
    return [
        *head,
        f"    int32_t x = (int32_t)((uint32_t)acc << {left});  /* wraps, as the kernel's int32 product does */",
        f"    int64_t ab = (int64_t)x * (int64_t){multiplier};",
        "    int64_t nudge = ab >= 0 ? (int64_t)(1 << 30) : (int64_t)(1 - (1 << 30));",
        "    int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));",
        "    int32_t remainder = (int32_t)((uint32_t)high & mask);",
        f"    int32_t threshold = {threshold} + (high < 0 ? 1 : 0);",
        f"    int32_t q = (high >> {right}) + (remainder > threshold ? 1 : 0) + ({fmt.zero_point});",
        f"    return q < {fmt.min_code} ? {fmt.min_code} : q > {fmt.max_code} ? {fmt.max_code} : q;",
        "}",
    ]


def fused_block(op, manifest: dict) -> list[str]:
    """The intrinsics of a fused op in ``hwact_cfu.h`` (hardware, or the C fallback)."""
    from .header import intrinsic_head  # the header imports this module's caller lazily too

    plan, name, requant = op.plan, op.name, op.requant
    per_channel = isinstance(requant, PerChannel)
    f3, f7 = op.funct3, op.funct7
    mask = (1 << plan.in_fmt.width) - 1
    out_t = f"{'' if plan.out_fmt.signed else 'u'}int{8 if plan.out_fmt.width <= 8 else 16}_t"
    error = manifest.get("requant_error", manifest["error"])
    # rd holds the output code's value as a 32-bit integer: the conversions below keep it.
    unpack = f"({out_t})(int32_t)rd" if plan.out_fmt.signed else f"({out_t})rd"
    out_mask = (1 << plan.out_fmt.width) - 1
    sign = 1 << (plan.out_fmt.width - 1)
    extend = (f"(uint32_t)((int32_t)(code ^ 0x{sign:x}u) - 0x{sign:x})" if plan.out_fmt.signed else "code")
    if per_channel:
        what = (f"per-channel multipliers and shifts ({len(requant.channels)} channels, rs2 = the channel), "
                f"into {plan.in_fmt}")
        scale = (f"{plan.function}(acc * real scale of the channel)")
        constants = [f"#define HWACT_CFU_{name.upper()}_CHANNELS {len(requant.channels)}"]
        requant_call, acc_args, acc_rs2 = "(int32_t)rs1, rs2", "int32_t acc, uint32_t channel", "channel"
    else:
        what = f"multiplier {requant.multiplier}, shift {requant.shift}, into {plan.in_fmt}"
        scale = f"{plan.function}(acc * {requant.real_multiplier * plan.in_fmt.scale:.6g})"
        constants = [f"#define HWACT_CFU_{name.upper()}_MULTIPLIER {requant.multiplier}",
                     f"#define HWACT_CFU_{name.upper()}_SHIFT {requant.shift}"]
        requant_call, acc_args, acc_rs2 = "(int32_t)rs1", "int32_t acc", "0u"
    return [
        f"/* {name}: fused requantize + {plan.function}: int32 accumulator in rs1 -> {plan.out_fmt}; "
        f"{what}; function_id {op.function_id} (funct3 {f3}, funct7 {f7}); max error {error['max_lsb']:.3f} LSB "
        f"against {scale} */",
        f"#define HWACT_CFU_{name.upper()}_ID {op.function_id}",
        *constants,
        *requant_c(name, requant, plan),
        *intrinsic_head(name, f3, f7),
        *([] if per_channel else ["    (void)rs2;"]),
        f"    uint32_t code = hwact_{name}_packed((uint32_t)hwact_{name}_requant({requant_call}) & 0x{mask:x}u, 0u)"
        f" & 0x{out_mask:x}u;",
        f"    return {extend};",
        "#endif",
        "}",
        f"/* {name} of one accumulator{' of output channel `channel`' if per_channel else ''}, as the kernel's "
        "output code. */",
        f"static inline {out_t} hwact_cfu_{name}_acc({acc_args})",
        "{",
        f"    uint32_t rd = hwact_cfu_{name}((uint32_t)acc, {acc_rs2});",
        f"    return {unpack};",
        "}",
        "",
    ]
