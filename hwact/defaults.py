"""The default units: what ``rtl/`` holds and what ``hwact demo`` generates and proves.

A mix that exercises every datapath shape: mux-only slopes (relu, relu6, hardtanh), a
quantized slope (leaky_relu), a quadratic (hardswish), a run-time operand (prelu), piecewise
quadratic tables with folds and saturation clamps (sigmoid, tanh, gelu), a direct look-up
table (silu at 8 bits), a gated product (glu), two outputs per input (crelu), 16-bit and
4-lane 8-bit codes, combinational and pipelined.
"""

from __future__ import annotations

from .artifacts import UnitSpec

__all__ = ["DEFAULT_UNITS"]

DEFAULT_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("relu", "s4.4", "s4.4", lanes=4, stages=0, name="relu_int8x4"),
    UnitSpec("relu6", "s4.12", "s4.12", lanes=2, stages=1, name="relu6_q12x2"),
    UnitSpec("leaky_relu", "s4.12", "s4.12", lanes=2, stages=2, name="leaky_relu_q12x2"),
    UnitSpec("hardtanh", "s4.4", "s4.4", lanes=4, stages=1, name="hardtanh_int8x4"),
    UnitSpec("hardsigmoid", "s4.12", "u0.16", lanes=2, stages=1, name="hardsigmoid_q12x2"),
    UnitSpec("hardswish", "s4.12", "s4.12", lanes=1, stages=2, name="hardswish_q12"),
    UnitSpec("prelu", "s4.4", "s4.4", lanes=4, stages=1, name="prelu_int8x4"),
    UnitSpec("sigmoid", "s4.12", "u0.16", lanes=2, stages=2, name="sigmoid_q12x2"),
    UnitSpec("tanh", "s4.12", "s1.15", lanes=1, stages=2, name="tanh_q12"),
    UnitSpec("gelu", "s4.12", "s4.12", lanes=1, stages=3, name="gelu_q12"),
    UnitSpec("silu", "s4.4", "s4.4", lanes=4, stages=1, name="silu_int8x4"),
    UnitSpec("glu", "s4.4", "s4.4", lanes=4, stages=2, name="glu_int8x4"),
    UnitSpec("crelu", "s4.4", "s4.4", lanes=2, stages=1, name="crelu_int8x2"),
)


def default_files() -> dict[str, str]:
    """Every file of the default units (Verilog, C header and manifest), as ``rtl/`` should hold them."""
    from .artifacts import build_unit

    files: dict[str, str] = {}
    for spec in DEFAULT_UNITS:
        files.update(build_unit(spec))
    return files


#: Where ``rtl/`` keeps the default CFU (``hwact cfu`` output for the embedded default config).
CFU_SUBDIR = "cfu"


def default_cfu_files() -> dict[str, str]:
    """Every file of the default CFU (``Cfu.v``, ``CfuPcpi.v``, header, ``isa.md``, ``cfu.json``, units)."""
    from .cfu.build import build_cfu
    from .cfu.config import default_config

    return build_cfu(default_config()).files


if __name__ == "__main__":  # python -m hwact.defaults DIR  (what `make rtl` runs; the CFU goes to DIR/cfu)
    import sys
    from pathlib import Path

    from .artifacts import write_files

    target = Path(sys.argv[1] if len(sys.argv) > 1 else "rtl")
    for path in write_files(target, default_files()):
        print(f"wrote {path}")
    for path in write_files(target / CFU_SUBDIR, default_cfu_files()):
        print(f"wrote {path}")
