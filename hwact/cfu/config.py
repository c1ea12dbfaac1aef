"""CFU configuration: which units sit behind the custom-0 instruction, under which function ids.

A configuration is a TOML file (read with :mod:`tomllib`)::

    discovery_id = 1023      # optional: the id that answers the feature word (default 1023)
    unknown_value = 0        # optional: what every other unused id answers (default 0)
    target = "ice40"         # optional: ice40, ecp5 or generic; the part cfu.json counts blocks for
    serial = false           # optional: every unit's default for its own `serial` key

    [[unit]]
    name = "sigmoid_q12x2"   # module, file and C names
    function = "sigmoid"
    in = "s4.12"
    out = "u0.16"
    lanes = 2                # 1, 2 or 4 codes per 32-bit register
    stages = 2               # pipeline registers inside the unit
    function_id = 7          # optional: funct7 << 3 | funct3; the next free id otherwise
    method = "auto"          # optional, as `hwact generate --method`
    max_err_lsb = 1.0        # optional
    params = { }             # optional function parameters
    serial = true            # optional: one lane of datapath, fed the lanes one per cycle

The embedded default (``default.toml`` beside this module) is what ``hwact cfu`` builds
without a CONFIG; the other embedded configurations (``up5k``: what fits beside a core on an
iCE40 UP5K) are named instead of a path (``hwact cfu up5k``).
Every mistake is a one-line :class:`ValueError` naming the unit and key.
"""

# Every mistake in a configuration file, wrong types included, is one ValueError (the CLI's one-line error).

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..artifacts import UnitSpec
from ..cost import TARGETS
from ..hdl.export import check_module_name

__all__ = [
    "DEFAULT_DISCOVERY_ID",
    "FUNCTION_ID_BITS",
    "MAX_UNITS",
    "CfuConfig",
    "CfuUnit",
    "default_config",
    "embedded_configs",
    "load_config",
    "parse_config",
]

#: Width of the CFU bus's function id: funct7 (7 bits) above funct3 (3 bits).
FUNCTION_ID_BITS = 10
DEFAULT_DISCOVERY_ID = (1 << FUNCTION_ID_BITS) - 1
#: The discovery word counts units in one byte.
MAX_UNITS = 255

_UNIT_KEYS = {"name", "function", "in", "out", "lanes", "stages", "function_id", "method", "max_err_lsb",
              "params", "rounding", "overflow", "serial"}
_TOP_KEYS = {"discovery_id", "unknown_value", "unit", "target", "serial"}


@dataclass(frozen=True)
class CfuUnit:
    """One unit of the CFU: what to generate and the function id that selects it."""

    spec: UnitSpec
    function_id: int
    serial: bool = False

    @property
    def funct3(self) -> int:
        return self.function_id & 7

    @property
    def funct7(self) -> int:
        return self.function_id >> 3

    @property
    def name(self) -> str:
        return self.spec.top


@dataclass(frozen=True)
class CfuConfig:
    """The units of a CFU, the discovery id and the answer of unused ids."""

    units: tuple[CfuUnit, ...]
    discovery_id: int = DEFAULT_DISCOVERY_ID
    unknown_value: int = 0
    target: str = "generic"


def _check_id(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << FUNCTION_ID_BITS:
        raise ValueError(f"{what} must be an integer in 0..{(1 << FUNCTION_ID_BITS) - 1}, not {value!r}")
    return value


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value


def _unit_spec(entry: Any, index: int, serial: bool = False) -> tuple[UnitSpec, int | None, bool]:
    where = f"unit {index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a table ([[unit]]), not {entry!r}")
    if isinstance(entry.get("name"), str):
        where = f"unit {entry['name']!r}"
    unknown = sorted(set(entry) - _UNIT_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key {unknown[0]!r} (accepted: {', '.join(sorted(_UNIT_KEYS))})")
    for key in ("name", "function", "in", "out"):
        if not isinstance(entry.get(key), str):
            raise ValueError(f"{where}: {key!r} must be given as a string")
    for key, default in (("lanes", 1), ("stages", 0)):
        value = entry.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"{where}: {key!r} must be an integer, not {value!r}")
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise ValueError(f"{where}: 'params' must be a table, not {params!r}")
    budget = entry.get("max_err_lsb", 1.0)
    if not isinstance(budget, (int, float)) or isinstance(budget, bool) or budget <= 0:
        raise ValueError(f"{where}: 'max_err_lsb' must be a positive number, not {budget!r}")
    try:
        check_module_name(entry["name"])
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    function_id = entry.get("function_id")
    if function_id is not None:
        _check_id(function_id, f"{where}: function_id")
    serial = _check_bool(entry.get("serial", serial), f"{where}: 'serial'")
    if serial and entry.get("stages", 0) < 1:
        raise ValueError(f"{where}: a serial unit needs at least one pipeline stage ('stages' >= 1)")
    spec = UnitSpec(function=entry["function"], in_format=entry["in"], out_format=entry["out"],
                    method=str(entry.get("method", "auto")), max_err_lsb=float(budget),
                    params={k: v for k, v in params.items()}, lanes=entry.get("lanes", 1),
                    stages=entry.get("stages", 0), name=entry["name"],
                    rounding=str(entry.get("rounding", "RND")), overflow=str(entry.get("overflow", "SAT")))
    return spec, function_id, serial


def parse_config(data: dict[str, Any]) -> CfuConfig:
    """Check a parsed TOML document and assign function ids; raise ``ValueError`` on any mistake."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ValueError(f"unknown top-level key {unknown[0]!r} (accepted: {', '.join(sorted(_TOP_KEYS))})")
    entries = data.get("unit")
    if not isinstance(entries, list) or not entries:
        raise ValueError("a CFU configuration needs at least one [[unit]]")
    if len(entries) > MAX_UNITS:
        raise ValueError(f"a CFU holds at most {MAX_UNITS} units, not {len(entries)}")
    discovery = _check_id(data.get("discovery_id", DEFAULT_DISCOVERY_ID), "discovery_id")
    unknown_value = data.get("unknown_value", 0)
    if not isinstance(unknown_value, int) or isinstance(unknown_value, bool) or not 0 <= unknown_value < 1 << 32:
        raise ValueError(f"unknown_value must be a 32-bit unsigned integer, not {unknown_value!r}")
    target = data.get("target", "generic")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    serial = _check_bool(data.get("serial", False), "serial")
    specs = [_unit_spec(entry, index, serial) for index, entry in enumerate(entries)]
    names: set[str] = set()
    taken = {discovery: "discovery_id"}
    for spec, function_id, _ in specs:
        if spec.top.lower() in names:
            raise ValueError(f"unit name {spec.top!r} is used twice (names must differ, ignoring case)")
        names.add(spec.top.lower())
        if function_id is not None:
            if function_id in taken:
                raise ValueError(
                    f"unit {spec.top!r}: function_id {function_id} is already taken by {taken[function_id]}")
            taken[function_id] = f"unit {spec.top!r}"
    units, free = [], 0
    for spec, function_id, unit_serial in specs:
        if function_id is None:  # the lowest id nobody asked for
            while free in taken:
                free += 1
            if free >= 1 << FUNCTION_ID_BITS:
                raise ValueError(f"unit {spec.top!r}: no function id left")
            function_id = free
            taken[free] = f"unit {spec.top!r}"
        units.append(CfuUnit(spec, function_id, unit_serial))
    return CfuConfig(tuple(units), discovery, unknown_value, target)


def embedded_configs() -> list[str]:
    """Names of the configurations shipped with hwact (``default``, ``up5k``, ...)."""
    return sorted(entry.name[:-len(".toml")] for entry in resources.files(__package__).iterdir()
                  if entry.name.endswith(".toml"))


def load_config(path: Path | str | None = None) -> CfuConfig:
    """Read a CFU configuration file, or an embedded one by name (None: the default).

    A name of an embedded configuration (``up5k``) is taken as that configuration unless a file
    of that very name exists, so a user's own ``up5k`` file still wins.
    """
    name = None if path is None else str(path)
    if name is None or (name in embedded_configs() and not Path(name).exists()):
        name = name or "default"
        text = resources.files(__package__).joinpath(f"{name}.toml").read_text()
        where = "the default CFU configuration" if name == "default" else f"the embedded {name!r} CFU configuration"
    else:
        try:
            text = Path(path).read_text()
        except OSError as error:
            raise ValueError(f"cannot read CFU configuration {path}: {error.strerror or error}") from None
        where = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{where} is not valid TOML: {str(error).splitlines()[0]}") from None
    try:
        return parse_config(data)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def default_config() -> CfuConfig:
    """The embedded default configuration."""
    return load_config(None)
