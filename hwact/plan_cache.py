"""Plans kept on disk: a request planned once is read back, by any process, until hwact changes.

A plan is a function of its request (function, parameters, formats, method, budget, modes) and
of the planner's code, and nothing else: the planners are deterministic. So a plan is stored
under a hash of its request in a folder named by a hash of hwact's source (and of the NumPy and
SciPy versions the fits run on) and found again by ``hwact generate``, ``hwact cfu``, ``hwact
demo`` and the test suite alike; a 16-bit plan that took seconds to make takes milliseconds to
read. Editing hwact, or upgrading NumPy/SciPy, starts a new folder, so a stale plan is never
found. A file lock per request makes one process plan while another asking for the same plan
waits for it. ``HWACT_PLAN_CACHE=0`` turns the cache off (plans are then always made afresh);
the cache's place is :func:`hwact.cache.cache_dir` ``("plans")``.
"""

from __future__ import annotations

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

__all__ = ["PlanCache", "cached_make_plan", "request_key", "source_hash", "NOT_PLANNING"]

#: Simulation glue, which the planners never import: editing it keeps the stored plans. ``_sim/``
#: is the copy of the repository's ``sim/`` folder a wheel installs, so that a wheel of the same
#: source finds the plans of its clone.
NOT_PLANNING = ("verify/", "cfu/sim.py", "cfu/firmware.py", "_sim/")


@cache
def source_hash() -> str:
    """A hash of every Python file of the hwact package but :data:`NOT_PLANNING`, and of the
    NumPy and SciPy versions."""
    import numpy
    import scipy

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"numpy {numpy.__version__} scipy {scipy.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if not relative.startswith(NOT_PLANNING):
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
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
