"""Protocol stress: run :mod:`hwact.verify.tb_stress` on a unit (see that module for the rules)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..layout import pack_outputs, payload_words
from ..model import evaluate
from ..plan import Plan
from .runner import SimError, check_simulator, log_reason, pad_lanes, run_cocotb, stimulus

__all__ = ["stress"]


def stress(plan: Plan, verilog: Path, top: str, *, lanes: int, stages: int, simulator: str = "icarus",
           transfers: int = 20_000, resets: int = 8, seed: int = 1) -> dict:
    """Send ``transfers`` random transfers through ``verilog`` under changing traffic and resets.

    Returns the bench's summary: ``offered``, ``accepted``, ``received``, ``dropped_by_reset``,
    ``resets``, ``owed``, ``cycles``, ``mismatches``, ``first_mismatches``, ``protocol_errors``.
    """
    check_simulator(simulator)
    x, a, _ = stimulus(plan, min(4096, transfers * lanes), seed)
    y = evaluate(plan, x, a)
    x, y = pad_lanes(x, lanes), pad_lanes(y, lanes)
    inputs = payload_words(plan, lanes, x, None if a is None else pad_lanes(a, lanes))
    expected = pack_outputs(plan, lanes, y)
    work = Path(tempfile.mkdtemp(prefix="hwact-stress-"))
    try:
        np.savez(work / "vectors.npz", inputs=inputs, expected=expected)
        result = work / "result.json"
        run_cocotb(simulator=simulator, sources=[Path(verilog)], top=top, bench_dir=Path(__file__).resolve().parent,
                   test_module="tb_stress", work=work, what="stress run",
                   extra_env={"HWACT_VECTORS": str(work / "vectors.npz"), "HWACT_RESULT": str(result),
                              "HWACT_TRANSFERS": str(transfers), "HWACT_RESETS": str(resets),
                              "HWACT_STAGES": str(stages), "HWACT_SEED": str(seed)})
        if not result.exists():
            raise SimError(f"{simulator} stress run did not finish: {log_reason(work, None)}")
        return json.loads(result.read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
