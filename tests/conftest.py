"""Shared test machinery: a session-wide plan cache and the order tests are handed to workers.

Plans come from hwact's own plan cache (:mod:`hwact.plan_cache`: one file per request under a
hash of the planner's source, in ``~/.cache/hwact/plans``), so a plan is made once per planner state,
however many tests, xdist workers, sessions, clones or ``hwact`` commands run by the tests ask
for it. ``HWACT_PLAN_CACHE=0`` turns the on-disk layer off.

Tests of the planner's own behaviour under a monkeypatch (or of its errors) call
:func:`hwact.make_plan` directly: the cache is for tests that need a plan, not for tests of
how it is made.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from hwact.cache import cache_dir
from hwact.plan_cache import PlanCache, source_hash

# Property tests: reproducible by default (CI); HYPOTHESIS_PROFILE=dev explores new examples.
settings.register_profile("ci", derandomize=True, deadline=None, database=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Tests that take longest first, so that xdist does not start them last (substrings of node ids).
#: Two tests that need the same slow plan are not both listed: the second would only wait for
#: the first worker to make it, holding the other core idle.
LONGEST_FIRST = (
    "test_wheel.py::",  # a wheel built and installed, then the whole hwact demo
    "test_planner_tables.py::test_a_24_bit",
    "test_soc.py::test_soc_netlist_runs_the_proof_firmware",  # the UP5K SoC's netlist in Verilator
    "test_auto_with_a_half_lsb_budget",
    "test_properties.py::test_a_24_bit",
    "test_sigmoid_and_tanh_at_their_natural_output_formats",
    "test_a_fit_needing_too_many_non_uniform_segments",
    "test_gated_16_bit_units",
    "on_every_code_at_8_bits[gtu]",  # six modes of nudged gate tables each (test_rounding_modes)
    "on_every_code_at_8_bits[geglu]",
    "on_every_code_at_8_bits[glu]",
    "on_every_code_at_8_bits[swiglu]",
    "test_report_synth_small_unit",  # yosys and nextpnr (WebAssembly) for two targets
    "test_processes_with_different_hash_seeds",  # every spec planned again in two fresh processes
    "test_documented_commands_print_what_the_docs_show[README.md]",  # plans GELU in a fresh process
)


_CACHE: PlanCache | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _CACHE
    directory = None
    if os.environ.get("HWACT_PLAN_CACHE", "1") != "0":
        # hwact's own plan cache, not .pytest_cache: a fresh clone of the same source reuses the plans.
        directory = cache_dir("plans") / source_hash()
    _CACHE = PlanCache(directory)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hand the longest tests out first, then the simulator batches (each a long run, see
    :func:`batched`), then the rest (a stable sort: each part keeps its order). With
    ``--dist loadgroup`` a batch is one unit of work, placed where its first test is
    (``--no-loadscope-reorder`` keeps this order instead of putting the largest groups first).
    """
    def rank(item: pytest.Item) -> int:
        listed = next((index for index, part in enumerate(LONGEST_FIRST) if part in item.nodeid), None)
        if listed is not None:
            return listed
        return len(LONGEST_FIRST) + (0 if item.get_closest_marker("xdist_group") else 1)

    items.sort(key=rank)
    _name_groups(config, items)


def _name_groups(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Append ``@GROUP`` to the node id of each test in an xdist group, in an xdist worker.

    That suffix is how ``--dist loadgroup`` sees groups. pytest-xdist 3.8 sets it through
    ``item._nodeid``, which pytest 9.2 no longer reads (node ids are ``item._id`` now), so every
    group would be spread over all workers, each running the whole batch. Done here the same
    way, unless the suffix is already there (an xdist that does it again).
    """
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import coerce_node_id  # pytest 9.2's node ids

    for item in items:
        names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                        for mark in item.iter_markers("xdist_group")})
        if not names or "@" in item.nodeid.rpartition("]")[2]:
            continue
        nodeid = f"{item.nodeid}@{'_'.join(names)}"
        if hasattr(item, "_id"):
            item._id = coerce_node_id(nodeid)
        else:
            item._nodeid = nodeid


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

    monkeypatch.setattr(hwact.artifacts, "cached_make_plan", plan)
    return cached_plan


# -- simulator runs in batches ----------------------------------------------------------------------
#
# Starting a simulator (and cocotb inside it) costs about a second, and a Verilator build ten:
# more than many proofs take. Tests that prove a unit on a simulator therefore declare batches:
# the units of one batch are proven in one run (hwact.verify.runner.simulate_many: one build, one
# simulator process, every unit with its own vectors, idle cycles, scoreboard and result, exactly
# as it would be alone), the first test of a batch to run starts it, and every test then asserts
# on its own unit's result, so a failure still names the unit. A batch is an xdist group
# (``--dist loadgroup``, see pyproject.toml), so one worker runs it once.


#: Batch name -> its cases (filled by :func:`batched` when test modules are imported).
BATCHES: dict[str, list] = {}


def batched(cases: Sequence[tuple], name: str, batches: int, cost: Callable[[tuple], float] = lambda case: 1.0,
            together: Callable[[tuple], Any] | None = None) -> list:
    """``cases`` as pytest params spread over ``batches`` xdist groups ``NAME-0``, ``NAME-1``...

    The heaviest (by ``cost``) goes to the lightest batch first, so batches come out even;
    cases with the same ``together(case)`` (say, that need the same slow plan) share a batch.
    Each case is a tuple of the test's arguments.
    """
    bundles: dict[Any, list[int]] = {}
    for index, case in enumerate(cases):
        bundles.setdefault(together(case) if together else index, []).append(index)
    loads = [0.0] * batches
    group_of = {}
    for members in sorted(bundles.values(), key=lambda members: -sum(cost(cases[i]) for i in members)):
        chosen = loads.index(min(loads))
        loads[chosen] += sum(cost(cases[i]) for i in members)
        group_of.update(dict.fromkeys(members, chosen))
    for index, case in enumerate(cases):
        BATCHES.setdefault(f"{name}-{group_of[index]}", []).append(tuple(case))
    return [pytest.param(*case, marks=pytest.mark.xdist_group(f"{name}-{group_of[index]}"))
            for index, case in enumerate(cases)]


class SimBatches:
    """``sim_batch(request, case, make_job, simulator="icarus")``: this test's result in its batch.

    ``make_job(work_dir, index, case)`` makes the :class:`~hwact.verify.runner.SimJob` of one
    case of the batch (its unit written under ``work_dir`` with a module name of its own, say
    ``u{index}``); the batch runs once per simulator and process. A batch that could not run
    raises its error in every one of its tests.
    """

    def __init__(self, factory: pytest.TempPathFactory):
        self.factory = factory
        self.outcomes: dict[tuple[str, str], Any] = {}

    def __call__(self, request: pytest.FixtureRequest, case: tuple, make_job: Callable[[Path, int, tuple], Any],
                 simulator: str = "icarus"):
        from hwact.verify.runner import simulate_many

        marker = request.node.get_closest_marker("xdist_group")
        group = marker.args[0] if marker and marker.args else marker.kwargs.get("name") if marker else None
        assert group in BATCHES, f"{request.node.nodeid} is not in a batch made by conftest.batched"
        cases = BATCHES[group]
        assert tuple(case) in cases, f"{case!r} is not a case of batch {group}"
        if (group, simulator) not in self.outcomes:
            work = self.factory.mktemp(f"{group}-{simulator}")
            try:
                jobs = [make_job(work, index, member) for index, member in enumerate(cases)]
                results = simulate_many(jobs, simulator=simulator, work_dir=work)
                self.outcomes[group, simulator] = {repr(member): result for member, result in zip(cases, results)}
            except Exception as error:
                self.outcomes[group, simulator] = error
        outcome = self.outcomes[group, simulator]
        if isinstance(outcome, Exception):
            raise RuntimeError(f"batch {group} on {simulator} could not run: {outcome}") from outcome
        return outcome[repr(tuple(case))]


@pytest.fixture(scope="session")
def sim_batch(tmp_path_factory) -> SimBatches:
    return SimBatches(tmp_path_factory)
