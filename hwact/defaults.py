"""The default units: what ``hwact demo`` generates and proves one by one, and what ``rtl/`` holds.

One list: seven units of the default CFU (``hwact/cfu/default.toml``), taken by name, and six
shapes that CFU lacks. ``rtl/cfu`` holds the CFU, ``rtl/`` the six; every file exists once.

A mix that exercises every datapath shape: mux-only slopes (relu, relu6, hardtanh), a
quantized slope (leaky_relu), a quadratic (hardswish), a run-time operand (prelu), piecewise
quadratic tables with folds and saturation clamps (sigmoid, tanh, gelu), a direct look-up
table (silu at 8 bits), a gated product (glu), two outputs per input (crelu), 16-bit and
4-lane 8-bit codes, combinational and pipelined.
"""

from __future__ import annotations

from .artifacts import UnitSpec

__all__ = ["CFU_SUBDIR", "DEFAULT_UNITS", "default_cfu_files", "default_files", "rtl_subdir"]

#: Where ``rtl/`` keeps the default CFU (``hwact cfu`` output for the embedded default config).
CFU_SUBDIR = "cfu"

#: Units of the default CFU (hwact/cfu/default.toml) that the demo also proves on their own;
#: their files live once, in ``rtl/cfu``.
_FROM_CFU = ("relu6_q12x2", "hardtanh_int8x4", "hardsigmoid_q12x2", "prelu_int8x4", "sigmoid_q12x2",
             "silu_int8x4", "glu_int8x4")
#: Shapes the default CFU does not hold; their files are ``rtl/`` itself.
_OWN_UNITS: tuple[UnitSpec, ...] = (
    UnitSpec("relu", "s4.4", "s4.4", lanes=4, stages=0, name="relu_int8x4"),
    UnitSpec("leaky_relu", "s4.12", "s4.12", lanes=2, stages=2, name="leaky_relu_q12x2"),
    UnitSpec("hardswish", "s4.12", "s4.12", lanes=1, stages=2, name="hardswish_q12"),
    UnitSpec("tanh", "s4.12", "s1.15", lanes=1, stages=2, name="tanh_q12"),
    UnitSpec("gelu", "s4.12", "s4.12", lanes=1, stages=3, name="gelu_q12"),
    UnitSpec("crelu", "s4.4", "s4.4", lanes=2, stages=1, name="crelu_int8x2"),
)
#: The order the demo proves them in.
_ORDER = ("relu_int8x4", "relu6_q12x2", "leaky_relu_q12x2", "hardtanh_int8x4", "hardsigmoid_q12x2",
          "hardswish_q12", "prelu_int8x4", "sigmoid_q12x2", "tanh_q12", "gelu_q12", "silu_int8x4", "glu_int8x4",
          "crelu_int8x2")


def _default_units() -> tuple[UnitSpec, ...]:
    from .cfu.config import default_config

    cfu = {unit.name: unit.spec for unit in default_config().units}
    specs = {spec.top: spec for spec in _OWN_UNITS} | {name: cfu[name] for name in _FROM_CFU}
    return tuple(specs[name] for name in _ORDER)


#: The units ``hwact demo`` generates and proves one by one: one list, the default CFU's units
#: by name plus the shapes it lacks (a run-time slope, a quadratic, two outputs per input, ...).
DEFAULT_UNITS: tuple[UnitSpec, ...] = _default_units()


def rtl_subdir(top: str) -> str:
    """The folder of ``rtl/`` holding a default unit's files: ``cfu`` for the CFU's units, else ``""``."""
    return CFU_SUBDIR if top in _FROM_CFU else ""


def default_files() -> dict[str, str]:
    """The files of the default units outside the CFU (Verilog, C header, manifest), as ``rtl/`` holds them."""
    from .artifacts import build_unit

    files: dict[str, str] = {}
    for spec in _OWN_UNITS:
        files.update(build_unit(spec))
    return files


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
