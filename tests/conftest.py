"""Shared test machinery: a session-wide plan cache and the order tests are handed to workers.

Plans are deterministic: the same request to the same planner code gives the same plan. The
cache keys each request by its arguments and a hash of hwact's own source (and the NumPy and
SciPy versions the fits run on), so a plan is made once per source state, however many tests,
xdist workers or sessions ask for it. It lives in pytest's cache directory
(``.pytest_cache/d/hwact-plans``); a file lock per request makes one worker plan while another
one asking for the same plan waits for it. ``HWACT_PLAN_CACHE=0`` turns the on-disk layer off.

Tests of the planner's own behaviour under a monkeypatch (or of its errors) call
:func:`hwact.make_plan` directly: the cache is for tests that need a plan, not for tests of
how it is made.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy
from hypothesis import settings

import hwact
from hwact import Fmt, Plan, make_plan

# Property tests: reproducible by default (CI); HYPOTHESIS_PROFILE=dev explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Tests that take longest first, so that xdist does not start them last (substrings of node ids).
#: Two tests that need the same slow plan are not both listed: the second would only wait for
#: the first worker to make it, holding the other core idle.
LONGEST_FIRST = (
    "test_planner_tables.py::test_a_24_bit",
    "test_auto_with_a_half_lsb_budget",
    "test_properties.py::test_a_24_bit",
    "test_sigmoid_and_tanh_at_their_natural_output_formats",
    "test_a_fit_needing_too_many_non_uniform_segments",
    "test_gated_16_bit_units",
    "on_every_code_at_8_bits[gtu]",  # six modes of nudged gate tables each (test_rounding_modes)
    "on_every_code_at_8_bits[geglu]",
    "on_every_code_at_8_bits[glu]",
    "on_every_code_at_8_bits[swiglu]",
)


def _source_hash() -> str:
    """A hash of every source file of the hwact package (plans are a function of them)."""
    root = Path(hwact.__file__).resolve().parent
    digest = hashlib.sha256(f"numpy {np.__version__} scipy {scipy.__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


class PlanCache:
    """``make_plan`` with memory: in this process, then on disk across workers and sessions."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.memory: dict[str, Plan] = {}
        self.made = 0  # plans this process had to make (the rest came from the cache)

    @staticmethod
    def key(function: str, in_fmt: str, out_fmt: str, options: Mapping[str, Any]) -> str:
        request = {"function": function, "in": str(Fmt.parse(in_fmt)), "out": str(Fmt.parse(out_fmt)),
                   **{name: (dict(sorted(value.items())) if isinstance(value, Mapping) else value)
                      for name, value in sorted(options.items())}}
        return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def __call__(self, function: str, in_fmt, out_fmt, **options) -> Plan:
        key = self.key(function, in_fmt, out_fmt, options)
        if key in self.memory:
            return self.memory[key]
        if self.directory is None:
            plan = self.memory[key] = make_plan(function, in_fmt, out_fmt, **options)
            self.made += 1
            return plan
        stored = self.directory / f"{key}.json"
        with open(self.directory / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # another worker making the same plan finishes first
            if stored.exists():
                plan = Plan.from_json(stored.read_text())
            else:
                plan = make_plan(function, in_fmt, out_fmt, **options)  # errors are raised, never stored
                self.made += 1
                temp = stored.with_suffix(f".{os.getpid()}.tmp")
                temp.write_text(plan.to_json())
                os.replace(temp, stored)
        self.memory[key] = plan
        return plan


_CACHE: PlanCache | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _CACHE
    directory = None
    if os.environ.get("HWACT_PLAN_CACHE", "1") != "0" and getattr(config, "cache", None) is not None:
        directory = config.cache.mkdir("hwact-plans") / _source_hash()
        directory.mkdir(parents=True, exist_ok=True)
    _CACHE = PlanCache(directory)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hand the longest tests out first (a stable sort: everything else keeps its order)."""
    def rank(item: pytest.Item) -> int:
        return next((index for index, part in enumerate(LONGEST_FIRST) if part in item.nodeid), len(LONGEST_FIRST))

    items.sort(key=rank)


@pytest.fixture(scope="session")
def cached_plan() -> PlanCache:
    """``cached_plan(function, in_fmt, out_fmt, **make_plan_options)``: a plan made once per session."""
    assert _CACHE is not None
    return _CACHE


@pytest.fixture
def cached_planner(monkeypatch, cached_plan):
    """Make hwact's artifact builder (``build_unit``, ``hwact generate`` in-process) plan through the cache."""
    import hwact.artifacts

    def plan(function, in_format, out_format, **options):
        return cached_plan(function, in_format, out_format, **options)

    monkeypatch.setattr(hwact.artifacts, "make_plan", plan)
    return cached_plan
