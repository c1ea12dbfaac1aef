"""The plan cache (hwact.plan_cache): a stored plan is the plan, damaged entries are made again,
errors are never stored, HWACT_PLAN_CACHE=0 plans afresh, and the cache folder follows the
planner's source, not the backends'."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hwact.plan_cache as plan_cache
from hwact import PlanError, make_plan
from hwact.plan_cache import PlanCache, cached_make_plan, request_key

pytestmark = pytest.mark.model


def test_a_stored_plan_is_read_back_as_the_plan(tmp_path):
    first = PlanCache(tmp_path)
    plan = first("sigmoid", "s4.4", "u0.8", method="pwl")
    assert first.made == 1 and plan == make_plan("sigmoid", "s4.4", "u0.8", method="pwl")
    (entry,) = tmp_path.glob("*.json")
    assert entry.stem == request_key("sigmoid", "s4.4", "u0.8", {"method": "pwl"})
    second = PlanCache(tmp_path)  # another process: nothing in memory
    assert second("sigmoid", "Q3.4", "UQ0.8", method="pwl") == plan and second.made == 0  # same formats, other spelling
    assert second("sigmoid", "s4.4", "u0.8", method="lut") != plan and second.made == 1  # another request


def test_a_damaged_entry_is_made_again_and_errors_are_not_stored(tmp_path):
    cache = PlanCache(tmp_path)
    plan = cache("relu6", "s4.4", "s4.4")
    (entry,) = tmp_path.glob("*.json")
    entry.write_text("{not json")
    again = PlanCache(tmp_path)
    assert again("relu6", "s4.4", "s4.4") == plan and again.made == 1
    with pytest.raises(PlanError):
        again("sigmoid", "s4.4", "u0.8", max_err_lsb=0.01)
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_the_environment_turns_it_off(tmp_path, monkeypatch):
    monkeypatch.setenv("HWACT_CACHE_DIR", str(tmp_path))
    plan_cache._default.cache_clear()
    try:
        monkeypatch.setenv("HWACT_PLAN_CACHE", "0")
        cached_make_plan("relu6", "s4.4", "s4.4")
        assert not list(tmp_path.rglob("*.json"))
        monkeypatch.setenv("HWACT_PLAN_CACHE", "1")
        cached_make_plan("relu6", "s4.4", "s4.4")
        (entry,) = tmp_path.rglob("*.json")
        assert entry.parent == tmp_path / "plans" / plan_cache.source_hash()
    finally:
        plan_cache._default.cache_clear()


def test_a_cache_folder_that_cannot_be_made_is_no_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")  # a file where the cache folder should be
    cache = PlanCache(blocker / "plans")
    assert cache("relu6", "s4.4", "s4.4") == make_plan("relu6", "s4.4", "s4.4") and cache.made == 1


def test_the_cache_folder_follows_the_planners_source_and_not_the_backends(tmp_path):
    """The hash covers every hwact module the planner loads (checked against what Python loads),
    and no backend: a copy of hwact with a backend edited keeps its hash, one with the planner's
    number formats edited does not."""
    planner = plan_cache.planner_modules()
    loaded = subprocess.run([sys.executable, "-c", "import sys, hwact.approx; "
                             "print(*sorted(m for m in sys.modules if m.split('.')[0] == 'hwact'))"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert set(loaded) <= set(planner) and "hwact.fixed" in planner
    assert not any(name.startswith(("hwact.hdl", "hwact.cfu", "hwact.cli", "hwact.cgen")) for name in planner)

    package = Path(plan_cache.__file__).parent
    copy = tmp_path / "hwact"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "_sim"))

    def copy_hash() -> str:
        return subprocess.run([sys.executable, "-c", "from hwact.plan_cache import source_hash; print(source_hash())"],
                              cwd=tmp_path, capture_output=True, text=True, check=True).stdout.strip()

    original = copy_hash()
    assert original == plan_cache.source_hash()
    (copy / "hdl" / "shared.py").write_text((copy / "hdl" / "shared.py").read_text() + "\n# a backend edit\n")
    assert copy_hash() == original
    (copy / "fixed.py").write_text((copy / "fixed.py").read_text() + "\n# a planner edit\n")
    assert copy_hash() != original
