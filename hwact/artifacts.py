"""What ``hwact generate`` produces: the Verilog unit, its C header and its JSON manifest, written atomically.

Everything is built in memory first and written only when all of it succeeded, each file
through a temporary name and a rename, so a failure never leaves partial output behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from . import __version__
from .cgen import c_header
from .cost import plan_cost
from .hdl import ActivationUnit, to_verilog
from .hdl.export import check_module_name
from .measure import report, unit_warnings
from .plan import Plan
from .plan_cache import cached_make_plan

__all__ = [
    "MANIFEST_VERSION",
    "UNIT_FIELDS",
    "SpecField",
    "SpecNotice",
    "UnitFiles",
    "UnitSpec",
    "build_unit",
    "load_manifest",
    "manifest_for",
    "read_json",
    "write_files",
]

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class SpecField:
    """One field of a unit request, spelled once for every place a user meets it.

    ``name`` is the Python argument of :class:`UnitSpec`, the key of a CFU configuration's
    ``[[unit]]`` table and the key of the manifest; ``flag`` is its command-line option (or
    ``None`` for the positional function name). ``aliases`` are older configuration spellings,
    still accepted with a warning naming ``name``.
    """

    name: str
    flag: str | None
    help: str
    metavar: str | None = None
    aliases: tuple[str, ...] = ()


#: The fields of a unit request, in the order ``hwact generate --help`` lists them.
UNIT_FIELDS: tuple[SpecField, ...] = (
    SpecField("function", None, "activation function (`hwact list` shows them; any case)"),
    SpecField("in_format", "--in", "input format, e.g. s4.12, Q3.12 or int8", "FMT", ("in", "in_fmt")),
    SpecField("out_format", "--out", "output format", "FMT", ("out", "out_fmt")),
    SpecField("method", "--method", "how to build it: auto (the cheapest plan within the budget, default) or one "
              "of the methods `hwact list` shows for the function", "METHOD"),
    SpecField("max_err_lsb", "--max-err-lsb", "error budget in output LSBs: above 0.5 a strict bound (1 = "
              "faithful), 0.5 or less inclusive (0.5 = correctly rounded); default 1", "E",
              ("budget", "max_error")),
    SpecField("params", "--param", "function parameter NAME=VALUE (repeatable)", "NAME=VALUE"),
    SpecField("lanes", "--lanes", "codes per transfer: 1, 2 or 4 (default 1)", "N"),
    SpecField("stages", "--stages", "pipeline registers (default 0 = combinational)", "N"),
    SpecField("name", "--name", "module and file name, a Verilog identifier (default: the function name)", "NAME"),
    SpecField("rounding", "--rounding", "output rounding, any case (default RND)", "MODE"),
    SpecField("overflow", "--overflow", "output overflow, any case (default SAT)", "MODE"),
)
FIELDS_BY_NAME: Mapping[str, SpecField] = {f.name: f for f in UNIT_FIELDS}


class SpecNotice(UserWarning):
    """An accepted but outdated spelling in a unit request (the command line prints it as a warning)."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class UnitSpec:
    """One unit request: what ``hwact generate`` is asked for, and one ``[[unit]]`` of a CFU.

    Every field is checked here, once, whichever way the request arrived (Python, the command
    line, a CFU configuration): the function name (any case, with a suggestion when misspelled),
    both formats, the method, the error budget, the parameters' container, the integer fields,
    the name and both modes (any case). Checks that need the plan (lane fit, parameter ranges,
    the budget being reachable) happen when the unit is built. A mistake raises ``ValueError``
    (or :class:`~hwact.fixed.FormatError` / :class:`~hwact.functions.ParamError`, both
    ``ValueError`` s) whose message names the field as :data:`UNIT_FIELDS` spells it.
    """

    function: str
    in_format: str
    out_format: str
    method: str = "auto"
    max_err_lsb: float = 1.0
    params: Mapping[str, Any] = field(default_factory=dict)
    lanes: int = 1
    stages: int = 0
    name: str | None = None
    rounding: str = "RND"
    overflow: str = "SAT"

    def __post_init__(self) -> None:
        from .approx import METHODS
        from .fixed import OVERFLOW_MODES, ROUNDING_MODES, Fmt
        from .functions import get

        if not isinstance(self.function, str):
            raise TypeError(f"function must be a function name, not {self.function!r}")
        get(self.function)
        for key in ("in_format", "out_format"):
            value = getattr(self, key)
            if not isinstance(value, (str, Fmt)):
                raise TypeError(f"{key} must be a format such as 's4.12', not {value!r}")
            Fmt.parse(value)
            object.__setattr__(self, key, str(value) if isinstance(value, Fmt) else value)
        for key, known in (("method", METHODS), ("rounding", ROUNDING_MODES), ("overflow", OVERFLOW_MODES)):
            value = getattr(self, key)
            normal = value.lower() if key == "method" and isinstance(value, str) else \
                value.upper() if isinstance(value, str) else value
            if normal not in known:
                what = "method" if key == "method" else f"{key} mode"
                raise ValueError(f"{what} must be one of {', '.join(known)}, not {value!r}")
            object.__setattr__(self, key, normal)
        budget = self.max_err_lsb
        if isinstance(budget, bool) or not isinstance(budget, (int, float)):
            raise TypeError(f"max_err_lsb must be a number, not {budget!r}")
        if not budget > 0:
            raise ValueError(f"max_err_lsb must be positive, not {float(budget)!r}")
        object.__setattr__(self, "max_err_lsb", float(budget))
        if not isinstance(self.params, Mapping):
            raise TypeError(f"params must be a mapping of parameter names to values, not {self.params!r}")
        for key in ("lanes", "stages"):
            if not _is_int(getattr(self, key)):
                raise TypeError(f"{key} must be an integer, not {getattr(self, key)!r}")
        if self.name is not None:
            check_module_name(self.name)

    @property
    def top(self) -> str:
        """Module and file name: ``name``, else the function as named, in lower case (``ReLU6`` -> ``relu6``)."""
        if self.name:
            return self.name
        from .functions import FUNCTIONS

        lowered = self.function.strip().lower()
        return lowered if self.function not in FUNCTIONS and lowered in FUNCTIONS else self.function

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any], extra: Collection[str] = (), where: str = "") -> UnitSpec:
        """The request a configuration table (``{field name: value}``) spells; ``ValueError`` on a mistake.

        Older spellings (a field's ``aliases``) are accepted with a :class:`SpecNotice`
        warning (prefixed with ``where``); keys in ``extra`` are allowed and ignored (the caller
        reads them). Values keep their types: a wrong type is a ``ValueError`` naming the key,
        never a silent conversion.
        """
        import warnings

        values: dict[str, Any] = {}
        for key, value in entry.items():
            if key in FIELDS_BY_NAME:
                target = key
            else:
                target = next((f.name for f in UNIT_FIELDS if key in f.aliases), None)
                if target is None:
                    if key in extra:
                        continue
                    accepted = sorted([*FIELDS_BY_NAME, *extra])
                    raise ValueError(f"unknown key {key!r} (accepted: {', '.join(accepted)})")
                warnings.warn(f"{where}key {key!r} is now spelled {target!r} (the old spelling still works)",
                              SpecNotice, stacklevel=2)
            if target in values:
                raise ValueError(f"{target!r} is given twice (as {target!r} and an older spelling)")
            values[target] = value
        for key in ("function", "in_format", "out_format"):
            if key not in values:
                raise ValueError(f"{key!r} must be given")
        try:
            return cls(**values)
        except TypeError as error:
            raise ValueError(str(error)) from None


def manifest_for(plan: Plan, unit: ActivationUnit, top: str) -> dict[str, Any]:
    """The manifest: the keys scripts read (docs/guide.md) plus the whole plan."""
    payload = unit.signature.members["i"].signature.members["payload"].shape
    out_payload = unit.signature.members["o"].signature.members["payload"].shape
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": f"hwact {__version__}",
        "top": top,
        "function": plan.function,
        "params": dict(plan.params),
        "in_format": str(plan.in_fmt),
        "out_format": str(plan.out_fmt),
        "operand_format": None if plan.operand_fmt is None else str(plan.operand_fmt),
        # Affine formats: what a code means, value = (code - zero_point) * scale (hwact.affine).
        **{f"{side}_{key}": value for side, fmt in (("in", plan.in_fmt), ("out", plan.out_fmt)) if fmt.is_affine
           for key, value in (("scale", fmt.scale), ("zero_point", fmt.zero_point))},
        "method": plan.method,
        "lanes": unit.lanes,
        "stages": unit.stages,
        "latency": unit.latency,
        "throughput": unit.throughput,
        "ports": {
            "clk": 1, "rst": 1,
            "i__payload": payload.size, "i__valid": 1, "i__ready": 1,
            "o__payload": out_payload.size, "o__valid": 1, "o__ready": 1,
        },
        "files": {"verilog": f"{top}.v", "c_header": f"{top}.h"},
        "error": report(plan).to_dict(),
        "warnings": unit_warnings(plan),
        "cost": plan_cost(plan).to_dict(lanes=unit.lanes, stages=unit.stages),
        "plan": plan.to_dict(),
    }


@dataclass(frozen=True)
class UnitFiles(Mapping[str, str]):
    """The files of one unit, by role; also a read-only mapping ``{file name: text}``.

    Roles (:attr:`ROLES`): ``verilog`` (``TOP.v``), ``c_header`` (``TOP.h``) and
    ``manifest`` (``TOP.json``). Iteration follows :attr:`ROLES`.
    """

    ROLES: ClassVar[tuple[str, ...]] = ("verilog", "c_header", "manifest")
    _SUFFIXES: ClassVar[Mapping[str, str]] = {"verilog": ".v", "c_header": ".h", "manifest": ".json"}

    top: str
    verilog: str
    c_header: str
    manifest: str

    def name(self, role: str) -> str:
        """The file name of ``role``."""
        if role not in self._SUFFIXES:
            raise ValueError(f"role must be one of {', '.join(self.ROLES)}, not {role!r}")
        return f"{self.top}{self._SUFFIXES[role]}"

    def text(self, role: str) -> str:
        """The text of ``role``."""
        self.name(role)
        return getattr(self, role)

    def __getitem__(self, name: str) -> str:
        for role in self.ROLES:
            if self.name(role) == name:
                return getattr(self, role)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return (self.name(role) for role in self.ROLES)

    def __len__(self) -> int:
        return len(self.ROLES)


def build_unit(spec: UnitSpec) -> UnitFiles:
    """Plan (through the plan cache), build and measure one unit; return its files (by role, and by
    name) without writing."""
    check_module_name(spec.top)
    plan = cached_make_plan(spec.function, spec.in_format, spec.out_format, method=spec.method,
                     max_err_lsb=spec.max_err_lsb, params=spec.params,
                     rounding=spec.rounding, overflow=spec.overflow)
    unit = ActivationUnit(plan, lanes=spec.lanes, stages=spec.stages)
    verilog = to_verilog(unit, spec.top)
    manifest = manifest_for(plan, unit, spec.top)
    header = c_header(plan, spec.top, spec.lanes, error=manifest["error"])
    return UnitFiles(top=spec.top, verilog=verilog, c_header=header,
                     manifest=json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_json(path: Path | str, what: str = "") -> Any:
    """A JSON file's contents, or one ``ValueError`` line: ``cannot read [what] PATH: why`` or
    ``PATH is not JSON (reason at line N)``."""
    try:
        return json.loads(Path(path).read_text())
    except OSError as error:
        raise ValueError(f"cannot read {what + ' ' if what else ''}{path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({error.msg} at line {error.lineno})") from None


def load_manifest(path: Path) -> tuple[dict[str, Any], Plan]:
    """Read a manifest and rebuild its plan (nothing else is needed to simulate or report)."""
    manifest = read_json(path, "manifest")
    what = f"{path} is not an hwact manifest"
    if not isinstance(manifest, dict):
        raise ValueError(f"{what} (a manifest is a JSON object, not {_JSON_NAMES.get(type(manifest), 'that')})")
    for key, kind in (("plan", dict), ("top", str), ("lanes", None), ("stages", None), ("files", dict)):
        if key not in manifest:
            raise ValueError(f"{what} (missing key {key!r})")
        if kind is not None and not isinstance(manifest[key], kind):  # lanes and stages: the unit checks them
            raise ValueError(f"{what} (key {key!r} must hold a JSON {_JSON_KINDS[kind]})")
    if not isinstance(manifest["files"].get("verilog"), str):
        raise ValueError(f"{what} (missing or bad key 'files.verilog')")
    try:
        plan = Plan.from_dict(manifest["plan"])
    except KeyError as error:
        raise ValueError(f"{what} (its plan lacks key {error})") from None
    except ValueError as error:  # the plan's own checks: formats, version, rounding, widths
        raise ValueError(f"{what} (its plan: {error})") from None
    except (TypeError, AttributeError, IndexError):  # a value of the wrong JSON type somewhere in the plan
        raise ValueError(f"{what} (its plan has a value of the wrong kind; was it edited by hand?)") from None
    return manifest, plan


_JSON_KINDS = {dict: "object", str: "string", int: "integer"}
_JSON_NAMES = {list: "an array", type(None): "null", str: "a string", int: "a number", float: "a number",
               bool: "a boolean"}


def write_files(directory: Path, files: Mapping[str, str | bytes]) -> list[Path]:
    """Write ``files`` into ``directory`` all or nothing; return the paths written."""
    directory = Path(directory)
    created = not directory.exists()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"cannot create output directory {directory}: {error.strerror or error}") from None
    staged: list[tuple[Path, Path]] = []
    try:
        for name, content in files.items():  # text (UTF-8) or bytes (plots)
            handle, temp = tempfile.mkstemp(prefix=f".{name}.", dir=directory)
            with os.fdopen(handle, "wb") as stream:
                stream.write(content.encode() if isinstance(content, str) else content)
            os.chmod(temp, 0o644)  # mkstemp makes files private; outputs are ordinary files
            staged.append((Path(temp), directory / name))
        for temp, final in staged:
            os.replace(temp, final)
    except OSError as error:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        if created:
            try:
                directory.rmdir()
            except OSError:
                pass
        raise OSError(f"cannot write to {directory}: {error.strerror or error}") from None
    return [final for _, final in staged]
