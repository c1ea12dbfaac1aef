"""What ``hwact generate`` produces: the Verilog unit, its C header and its JSON manifest, written atomically.

Everything is built in memory first and written only when all of it succeeded, each file
through a temporary name and a rename, so a failure never leaves partial output behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from . import __version__
from .approx import make_plan
from .cgen import c_header
from .cost import plan_cost
from .hdl import ActivationUnit, to_verilog
from .hdl.export import check_module_name
from .measure import report, unit_warnings
from .plan import Plan

__all__ = ["MANIFEST_VERSION", "UnitFiles", "UnitSpec", "build_unit", "load_manifest", "manifest_for", "write_files"]

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class UnitSpec:
    """Everything ``hwact generate`` is asked for."""

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

    @property
    def top(self) -> str:
        """Module and file name: ``name``, else the function as named, in lower case (``ReLU6`` -> ``relu6``)."""
        if self.name:
            return self.name
        from .functions import FUNCTIONS

        lowered = self.function.strip().lower()
        return lowered if self.function not in FUNCTIONS and lowered in FUNCTIONS else self.function


def manifest_for(plan: Plan, unit: ActivationUnit, top: str) -> dict[str, Any]:
    """The manifest: the keys scripts read (design section 7) plus the whole plan."""
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
    """Plan, build and measure one unit; return its files (by role, and by name) without writing."""
    check_module_name(spec.top)
    plan = make_plan(spec.function, spec.in_format, spec.out_format, method=spec.method,
                     max_err_lsb=spec.max_err_lsb, params=spec.params,
                     rounding=spec.rounding, overflow=spec.overflow)
    unit = ActivationUnit(plan, lanes=spec.lanes, stages=spec.stages)
    verilog = to_verilog(unit, spec.top)
    manifest = manifest_for(plan, unit, spec.top)
    header = c_header(plan, spec.top, spec.lanes, error=manifest["error"])
    return UnitFiles(top=spec.top, verilog=verilog, c_header=header,
                     manifest=json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def load_manifest(path: Path) -> tuple[dict[str, Any], Plan]:
    """Read a manifest and rebuild its plan (nothing else is needed to simulate or report)."""
    try:
        manifest = json.loads(Path(path).read_text())
    except OSError as error:
        raise ValueError(f"cannot read manifest {path}: {error.strerror or error}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON ({error.msg} at line {error.lineno})") from None
    try:
        plan = Plan.from_dict(manifest["plan"])
        for key in ("top", "lanes", "stages"):
            manifest[key]
        manifest["files"]["verilog"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path} is not an hwact manifest (missing or bad {error})") from None
    return manifest, plan


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
