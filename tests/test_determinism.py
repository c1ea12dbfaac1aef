"""Determinism: the same request gives byte-identical files (Verilog, C header, manifest).

Within one process (twice in a row), across processes started with different
``PYTHONHASHSEED`` values (set and dict orders differ between them), and against the files
checked into ``rtl/`` (made by another process at another time; ``test_rtl`` compares them
with today's generator).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hwact
from hwact.artifacts import UnitSpec, build_unit

pytestmark = pytest.mark.amaranth

PACKAGE = Path(hwact.__file__).resolve().parent

#: A spread of datapaths: quantized slopes, quadratics, operands, tables, folds, products, two outputs.
SPECS = [
    UnitSpec("relu6", "s4.12", "s4.12", lanes=2, stages=1, name="relu6_x2"),
    UnitSpec("leaky_relu", "Q3.12", "s4.12", lanes=2, stages=2),
    UnitSpec("hardswish", "s4.12", "s4.12", stages=2),
    UnitSpec("hardtanh", "s4.4", "u2.6", params={"min_val": -0.3, "max_val": 2.7}, rounding="TRN", overflow="WRAP"),
    UnitSpec("prelu", "s4.4", "s4.4", lanes=4, stages=1),
    UnitSpec("sigmoid", "s4.4", "u0.8", lanes=4, stages=1),
    UnitSpec("gelu", "s3.7", "s3.7", params={"approximate": "tanh"}, stages=3),
    UnitSpec("tanh", "s4.12", "s1.15", stages=2),
    UnitSpec("glu", "s4.4", "s4.4", lanes=4, stages=2),
    UnitSpec("maxout", "s4.4", "s4.4", lanes=2),
    UnitSpec("crelu", "s4.4", "s4.4", lanes=2, stages=1),
]

#: Builds every spec in a fresh interpreter and prints ``{file name: text}`` as JSON.
BUILD_IN_A_NEW_PROCESS = """
import json, sys
from hwact.artifacts import UnitSpec, build_unit
files = {}
for fields in json.loads(sys.argv[1]):
    files.update(build_unit(UnitSpec(**fields)))
print(json.dumps(files))
"""


def fields(spec):
    return {"function": spec.function, "in_format": spec.in_format, "out_format": spec.out_format,
            "params": dict(spec.params), "lanes": spec.lanes, "stages": spec.stages, "name": spec.name,
            "rounding": spec.rounding, "overflow": spec.overflow}


def files_of(spec):
    return dict(build_unit(spec))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.top)
def test_the_same_request_twice_gives_the_same_bytes(spec, cached_planner):
    first, second = files_of(spec), files_of(spec)
    assert first == second
    assert {f"{spec.top}.v", f"{spec.top}.json"} <= set(first)
    for text in first.values():
        assert str(PACKAGE) not in text and ".py" not in text  # no source paths


@pytest.mark.slow
def test_processes_with_different_hash_seeds_write_the_same_bytes(cached_planner):
    expected = {}
    for spec in SPECS:
        expected.update(files_of(spec))
    # One fresh interpreter with a fixed seed; this one runs with a random seed (pytest sets none).
    for seed in ("4242",):
        # Without the plan cache: the new process plans every spec itself instead of reading our plans.
        env = {**os.environ, "PYTHONHASHSEED": seed, "HWACT_PLAN_CACHE": "0"}
        result = subprocess.run([sys.executable, "-c", BUILD_IN_A_NEW_PROCESS, json.dumps([fields(s) for s in SPECS])],
                                capture_output=True, text=True, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        made = json.loads(result.stdout)
        assert made.keys() == expected.keys()
        differing = [name for name in expected if made[name] != expected[name]]
        assert not differing, f"PYTHONHASHSEED={seed} changed {differing}"
