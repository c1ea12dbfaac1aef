"""Protocol stress: run :mod:`hwact.verify.tb_stress` on a unit (see that module for the rules)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..layout import pack_outputs, payload_words
from ..model import evaluate
from ..plan import Plan
from .runner import _ENV_NAMES, _HERE, SIMULATORS, SimError, _log_reason, _pad, _verilator_env, stimulus, verilator_bin

__all__ = ["stress"]


def stress(plan: Plan, verilog: Path, top: str, *, lanes: int, stages: int, simulator: str = "icarus",
           transfers: int = 20_000, resets: int = 8, seed: int = 1) -> dict:
    """Send ``transfers`` random transfers through ``verilog`` under changing traffic and resets.

    Returns the bench's summary: ``offered``, ``accepted``, ``received``, ``dropped_by_reset``,
    ``resets``, ``owed``, ``cycles``, ``mismatches``, ``first_mismatches``, ``protocol_errors``.
    """
    if simulator not in SIMULATORS:
        raise SimError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    from cocotb_tools.runner import get_runner  # slow to import; only needed here

    x, a, _ = stimulus(plan, min(4096, transfers * lanes), seed)
    y = evaluate(plan, x, a)
    x, y = _pad(x, lanes), _pad(y, lanes)
    inputs = payload_words(plan, lanes, x, None if a is None else _pad(a, lanes))
    expected = pack_outputs(plan, lanes, y)
    work = Path(tempfile.mkdtemp(prefix="hwact-stress-"))
    saved = {name: os.environ.get(name) for name in _ENV_NAMES}
    try:
        np.savez(work / "vectors.npz", inputs=inputs, expected=expected)
        if simulator == "verilator":
            os.environ.update(_verilator_env(work, verilator_bin() + os.pathsep + os.environ.get("PATH", "")))
        runner = get_runner(simulator)
        build_args = ["-Wall", str(_HERE / "amaranth.vlt")] if simulator == "verilator" else []
        result = work / "result.json"
        sys.path.insert(0, str(_HERE))  # the bench is a top-level module (see hwact.verify.runner)
        try:
            runner.build(sources=[Path(verilog).resolve()], hdl_toplevel=top, build_dir=work / "build", always=True,
                         timescale=("1ns", "1ps"), build_args=build_args, log_file=work / "build.log")
            runner.test(test_module="tb_stress", hdl_toplevel=top, build_dir=work / "build", test_dir=work,
                        extra_env={"HWACT_VECTORS": str(work / "vectors.npz"), "HWACT_RESULT": str(result),
                                   "HWACT_TRANSFERS": str(transfers), "HWACT_RESETS": str(resets),
                                   "HWACT_STAGES": str(stages), "HWACT_SEED": str(seed)},
                        results_xml=str(work / "results.xml"), log_file=work / "test.log", timescale=("1ns", "1ps"))
        except (subprocess.CalledProcessError, SystemExit, OSError, RuntimeError) as error:
            if not result.exists():
                raise SimError(f"{simulator} stress run failed: {_log_reason(work, error)}") from None
        finally:
            sys.path.remove(str(_HERE))
        if not result.exists():
            raise SimError(f"{simulator} stress run did not finish: {_log_reason(work, None)}")
        return json.loads(result.read_text())
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(work, ignore_errors=True)
