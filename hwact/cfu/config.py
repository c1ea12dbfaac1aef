"""CFU configuration: which units sit behind the custom-0 instruction, under which function ids.

A configuration is a TOML file (read with :mod:`tomllib`)::

    discovery_id = 1023      # optional: the id that answers the feature word (default 1023)
    unknown_value = 0        # optional: what every other unused id answers (default 0)

    [[unit]]
    name = "sigmoid_q12x2"   # module, file and C names
    function = "sigmoid"
    in_format = "s4.12"      # (older spelling: in; likewise out)
    out_format = "u0.16"
    lanes = 2                # 1, 2 or 4 codes per 32-bit register
    stages = 2               # pipeline registers inside the unit
    function_id = 7          # optional: funct7 << 3 | funct3; the next free id otherwise
    method = "auto"          # optional, as `hwact generate --method`
    max_err_lsb = 1.0        # optional
    params = { }             # optional function parameters
    rounding = "RND"         # optional; overflow = "SAT" likewise
    requant = { scale = 0.0021 }   # optional: a fused requantize + activation op (hwact.cfu.requant):
                             # rs1 = int32 accumulator; scale = the layer's real output multiplier,
                             # or multiplier = ..., shift = ... as TFLite stores them; `in_format` is the
                             # layer's output quantization, e.g. "int8(scale=0.05, zp=-3)"; per channel
                             # (rs2 = the output channel): scales = [...] or multipliers = [...], shifts = [...]

The keys of a ``[[unit]]`` are the fields of :class:`hwact.artifacts.UnitSpec` (the same
names as the manifest's keys and ``hwact generate``'s options) plus ``function_id`` and ``requant``.

The embedded default (``default.toml`` beside this module) is what ``hwact cfu`` builds
without a CONFIG. Every mistake is a one-line :class:`ValueError` naming the unit and key.
"""

# Every mistake in a configuration file, wrong types included, is one ValueError (the CLI's one-line error).

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from ..artifacts import UnitSpec
from ..cost import TARGETS
from ..requant import PerChannel, Requant

__all__ = [
    "DEFAULT_DISCOVERY_ID",
    "FUNCTION_ID_BITS",
    "CFU_FILES",
    "MAX_UNITS",
    "RESERVED_NAMES",
    "CfuConfig",
    "CfuUnit",
    "InstructionFields",
    "default_config",
    "load_config",
    "split_function_id",
    "parse_config",
]

#: Width of the CFU bus's function id: funct7 (7 bits) above funct3 (3 bits).
FUNCTION_ID_BITS = 10
DEFAULT_DISCOVERY_ID = (1 << FUNCTION_ID_BITS) - 1


def split_function_id(function_id: int) -> tuple[int, int]:
    """``(funct3, funct7)`` of a CFU function id (``function_id = funct7 << 3 | funct3``)."""
    return function_id & 7, function_id >> 3


class InstructionFields:
    """``funct3`` and ``funct7`` of anything with a ``function_id`` (a configured unit, a CFU op)."""

    function_id: int

    @property
    def funct3(self) -> int:
        return split_function_id(self.function_id)[0]

    @property
    def funct7(self) -> int:
        return split_function_id(self.function_id)[1]

#: The discovery word counts units in one byte.
MAX_UNITS = 255

#: The files a CFU writes beside its units' ``NAME.v``, ``NAME.json`` and ``NAME.h``.
CFU_FILES = ("Cfu.v", "CfuPcpi.v", "hwact_cfu.h", "isa.md", "cfu.json", "amaranth.vlt")
#: Unit names whose files (or module) would collide with the CFU's own, in any case (file
#: systems that ignore case exist): ``Cfu``, ``CfuPcpi``, ``cfu`` and ``hwact_cfu``.
RESERVED_NAMES = frozenset(name.rsplit(".", 1)[0].lower() for name in CFU_FILES
                           if name.rsplit(".", 1)[1] in ("v", "json", "h"))
_TOP_KEYS = {"discovery_id", "unknown_value", "unit", "target", "serial", "share"}


@dataclass(frozen=True)
class CfuUnit(InstructionFields):
    """One unit of the CFU: what to generate and the function id that selects it."""

    spec: UnitSpec
    function_id: int
    #: A fused requantize + activation op: the layer's output multiplier and shift (or one per channel).
    requant: Requant | PerChannel | None = None
    #: One lane of datapath fed the lanes one per cycle (hwact.hdl.serial.SerialUnit).
    serial: bool = False

    @property
    def name(self) -> str:
        return self.spec.top


@dataclass(frozen=True)
class CfuConfig:
    """The units of a CFU, the discovery id and the answer of unused ids."""

    units: tuple[CfuUnit, ...]
    discovery_id: int = DEFAULT_DISCOVERY_ID
    unknown_value: int = 0
    #: The FPGA cfu.json records (ice40, ecp5, generic).
    target: str = "generic"
    #: Units of one shape answer through one shared datapath (hwact.hdl.shared); false: each its own.
    share: bool = True
    #: Where the configuration came from, for messages (a file name).
    source: str = field(default="a CFU configuration", compare=False)


def _check_id(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << FUNCTION_ID_BITS:
        raise ValueError(f"{what} must be an integer in 0..{(1 << FUNCTION_ID_BITS) - 1}, not {value!r}")
    return value


def _requant(value: Any, where: str) -> Requant | PerChannel:
    """``{scale = real}`` or ``{multiplier = M, shift = s}`` (TFLite's output multiplier and shift);
    per channel (rs2 = the channel): ``{scales = [...]}`` or ``{multipliers = [...], shifts = [...]}``."""
    forms = ({"scale"}, {"multiplier", "shift"}, {"scales"}, {"multipliers", "shifts"})
    if not isinstance(value, dict) or set(value) not in forms:
        raise ValueError(f"{where}: 'requant' must be a table {{ scale = REAL }}, {{ multiplier = M, shift = S }}, "
                         f"{{ scales = [REAL, ...] }} or {{ multipliers = [M, ...], shifts = [S, ...] }}, "
                         f"not {value!r}")

    def real(scale: Any) -> Requant:
        if not isinstance(scale, (int, float)) or isinstance(scale, bool):
            raise ValueError(f"requant scale must be a positive finite number, not {scale!r}")
        return Requant.from_real(float(scale))

    try:
        if "scale" in value:
            return real(value["scale"])
        if "multiplier" in value:
            return Requant(value["multiplier"], value["shift"])
        lists = [value[key] for key in ("scales", "multipliers", "shifts") if key in value]
        if not all(isinstance(v, list) and v for v in lists):
            raise ValueError(f"per-channel requant values must be non-empty lists, not {value!r}")
        if "scales" in value:
            return PerChannel(tuple(real(v) for v in value["scales"]))
        if len(value["multipliers"]) != len(value["shifts"]):
            raise ValueError(f"requant multipliers and shifts must have one entry per channel, not "
                             f"{len(value['multipliers'])} and {len(value['shifts'])}")
        return PerChannel(tuple(Requant(m, s) for m, s in zip(value["multipliers"], value["shifts"], strict=True)))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r}")
    return value


def _unit_spec(entry: Any, index: int,
               serial: bool = False) -> tuple[UnitSpec, int | None, Requant | PerChannel | None, bool]:
    where = f"unit {index + 1}"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a table ([[unit]]), not {entry!r}")
    if isinstance(entry.get("name"), str):
        where = f"unit {entry['name']!r}"
    try:
        if not isinstance(entry.get("name"), str):
            raise ValueError("'name' must be given as a string")
        if entry["name"].lower() in RESERVED_NAMES:
            raise ValueError(f"name {entry['name']!r} would overwrite one of the CFU's own files "
                             f"({', '.join(CFU_FILES)}); choose another")
        spec = UnitSpec.from_mapping(entry, extra=("function_id", "requant", "serial"), where=f"{where}: ")
        function_id = entry.get("function_id")
        if function_id is not None:
            _check_id(function_id, "function_id")
        serial = _check_bool(entry.get("serial", serial), "'serial'")
        if serial and spec.stages < 1:
            raise ValueError("a serial unit needs at least one pipeline stage ('stages' >= 1)")
    except ValueError as error:  # FormatError and ParamError included
        raise ValueError(f"{where}: {error}") from None
    requant = _requant(entry["requant"], where) if "requant" in entry else None
    return spec, function_id, requant, serial


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
    share = _check_bool(data.get("share", True), "share")
    specs = [_unit_spec(entry, index, serial) for index, entry in enumerate(entries)]
    names: set[str] = set()
    taken = {discovery: "discovery_id"}
    for spec, function_id, _, _ in specs:
        if spec.top.lower() in names:
            raise ValueError(f"unit name {spec.top!r} is used twice (names must differ, ignoring case)")
        names.add(spec.top.lower())
        if function_id is not None:
            if function_id in taken:
                raise ValueError(
                    f"unit {spec.top!r}: function_id {function_id} is already taken by {taken[function_id]}")
            taken[function_id] = f"unit {spec.top!r}"
    units, free = [], 0
    for spec, function_id, requant, unit_serial in specs:
        if function_id is None:  # the lowest id nobody asked for
            while free in taken:
                free += 1
            if free >= 1 << FUNCTION_ID_BITS:
                raise ValueError(f"unit {spec.top!r}: no function id left")
            function_id = free
            taken[free] = f"unit {spec.top!r}"
        units.append(CfuUnit(spec, function_id, requant, unit_serial))
    return CfuConfig(tuple(units), discovery, unknown_value, target, share)


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
    import warnings

    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        try:
            config = replace(parse_config(data), source=where)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
    for note in notes:  # outdated spellings: said once more, with the file they are in
        warnings.warn(f"{where}: {note.message}", note.category, stacklevel=2)
    return config


def default_config() -> CfuConfig:
    """The embedded default configuration."""
    return load_config(None)
