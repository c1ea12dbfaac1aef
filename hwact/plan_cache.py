"""Plans kept on disk: a request planned once is read back, by any process, until the planner changes.

A plan is a function of its request (function, parameters, formats, method, budget, modes) and
of the planner's code, and nothing else: the planners are deterministic. So a plan is stored
under a hash of its request in a folder named by a hash of the planner's source (every module of
hwact that :mod:`hwact.approx` imports, directly or not, and the NumPy and SciPy versions the fits
run on) and found again by ``hwact generate``, ``hwact cfu``, ``hwact demo`` and the test suite
alike; a 16-bit plan that took seconds to make takes milliseconds to read. Editing the planner,
or upgrading NumPy/SciPy, starts a new folder, so a stale plan is never found; editing a backend
(``hdl/``, ``cgen``, ``cfu/``, the CLI), which the planner never imports, keeps the plans. A
file lock per request makes one process plan while another asking for the same plan waits for
it. ``HWACT_PLAN_CACHE=0`` turns the cache off (plans are then always made afresh); the cache's
place is :func:`hwact.cache.cache_dir` ``("plans")``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from .approx import make_plan
from .cache import atomic_write, cache_dir
from .fixed import Fmt
from .plan import Plan

try:
    import fcntl
except ImportError:  # not POSIX: no lock, two processes may then both make a plan (both write the same)
    fcntl = None

__all__ = ["PlanCache", "cached_make_plan", "planner_modules", "request_key", "source_hash"]

_ROOT = Path(__file__).resolve().parent
#: The planner: make_plan's package. Its import closure is what a plan can depend on.
PLANNER = "hwact.approx"


def _module_file(name: str) -> Path | None:
    """The source file of hwact module ``name`` (a package's ``__init__.py``), or None (a name
    imported from a module, not a module)."""
    path = _ROOT.joinpath(*name.split(".")[1:])
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _hwact_imports(path: Path, name: str) -> set[str]:
    """The hwact modules (and names from them) that the module ``name`` at ``path`` imports,
    anywhere in it (a function's own imports too), relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "hwact"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(parts + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "hwact":
                found |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    return found


@cache
def planner_modules() -> dict[str, Path]:
    """Every hwact module the planner (:data:`PLANNER`) imports, directly or not, with its file:
    read from the source (``ast``), so the set is the same whatever this process has imported."""
    modules: dict[str, Path] = {}
    waiting = [PLANNER]
    while waiting:
        name = waiting.pop()
        if name in modules or (path := _module_file(name)) is None:
            continue
        modules[name] = path
        parts = name.split(".")
        waiting += [".".join(parts[:end]) for end in range(1, len(parts))]  # its packages run first
        waiting += sorted(_hwact_imports(path, name))
    return dict(sorted(modules.items()))


@cache
def source_hash() -> str:
    """A hash of the planner's source (:func:`planner_modules`), of this module, and of the NumPy
    and SciPy versions."""
    import numpy
    import scipy

    digest = hashlib.sha256(f"numpy {numpy.__version__} scipy {scipy.__version__}".encode())
    for name, path in {**planner_modules(), __name__: Path(__file__)}.items():  # and how plans are stored
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def request_key(function: str, in_fmt: str | Fmt, out_fmt: str | Fmt, options: Mapping[str, Any]) -> str:
    """A hash of one ``make_plan`` request (formats in their canonical spelling)."""
    request = {"function": function, "in": str(Fmt.parse(str(in_fmt))), "out": str(Fmt.parse(str(out_fmt))),
               **{name: (dict(sorted(value.items())) if isinstance(value, Mapping) else value)
                  for name, value in sorted(options.items())}}
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:24]


class PlanCache:
    """``make_plan`` with memory: in this process, then on disk (``directory``; None: memory only)."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.memory: dict[str, Plan] = {}
        self.made = 0  # plans this process had to make (the rest were found)

    def __call__(self, function: str, in_fmt: str | Fmt, out_fmt: str | Fmt, **options: Any) -> Plan:
        key = request_key(function, in_fmt, out_fmt, options)
        if key in self.memory:
            return self.memory[key]
        try:
            lock = None if self.directory is None else self._lock(key)
        except OSError:  # a cache folder that cannot be made is no error: plan without it
            lock = None
        if lock is None:
            plan = self._make(function, in_fmt, out_fmt, options)
        else:
            with lock:
                stored = self.directory / f"{key}.json"
                plan = self._read(stored)
                if plan is None:
                    plan = self._make(function, in_fmt, out_fmt, options)  # errors are raised, never stored
                    try:
                        atomic_write(stored, plan.to_json())
                    except OSError:
                        pass  # a cache that cannot be written is no error
        self.memory[key] = plan
        return plan

    def _lock(self, key: str):
        """The request's lock file, held: another process making the same plan finishes first."""
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = open(self.directory / f"{key}.lock", "w")
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        return lock

    def _make(self, function: str, in_fmt, out_fmt, options: Mapping[str, Any]) -> Plan:
        self.made += 1
        return make_plan(function, in_fmt, out_fmt, **options)

    @staticmethod
    def _read(stored: Path) -> Plan | None:
        try:
            return Plan.from_json(stored.read_text())
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or unreadable: made again


@cache
def _default() -> PlanCache:
    return PlanCache(cache_dir("plans") / source_hash())


def cached_make_plan(function: str, in_fmt: str | Fmt, out_fmt: str | Fmt, **options: Any) -> Plan:
    """:func:`hwact.make_plan`, through the plan cache (see the module docstring); with
    ``HWACT_PLAN_CACHE=0`` in the environment, ``make_plan`` itself."""
    if os.environ.get("HWACT_PLAN_CACHE", "1") == "0":
        return make_plan(function, in_fmt, out_fmt, **options)
    return _default()(function, in_fmt, out_fmt, **options)
