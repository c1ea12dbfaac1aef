"""Benchmark: Icarus Verilog vs Verilator on the same exhaustive proofs.

Every default unit in ``rtl/`` is proven with ``hwact.verify.simulate`` on both simulators (the
same cocotb bench, the same vectors and stream gaps), one after the other; the time is the
whole run as ``hwact sim`` reports it: build (Icarus: iverilog; Verilator: C++ generation and
compilation) plus simulation. Verilator's run-time library is compiled once and then reused
(``hwact.verify.objcache``); the first build, which compiles it, is reported on its own. The
machine's load average is recorded, since other work on the machine slows both.

    python bench/simulators.py [--only TOP ...]

Prints a table and writes bench/results/simulators.json. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

from hwact.artifacts import load_manifest
from hwact.defaults import DEFAULT_UNITS, rtl_subdir
from hwact.verify import simulate
from hwact.verify.runner import verilator_build_env

ROOT = Path(__file__).resolve().parent.parent
RTL = ROOT / "rtl"
RESULTS = ROOT / "bench" / "results"


def prove(top: str, simulator: str) -> dict:
    folder = RTL / rtl_subdir(top)
    manifest, plan = load_manifest(folder / f"{top}.json")
    load = os.getloadavg()[0]
    result = simulate(plan, folder / manifest["files"]["verilog"], top, lanes=manifest["lanes"],
                      stages=manifest["stages"], simulator=simulator)
    return {"seconds": result.seconds, "vectors": result.vectors, "cycles": result.cycles, "passed": result.passed,
            "load_before": round(load, 2)}


def cold_verilator_build() -> float:
    """One Verilator proof with an empty run-time object cache (what a first ``hwact sim`` pays)."""
    cache = Path(tempfile.mkdtemp(prefix="hwact-objcache-"))
    old = os.environ.get("HWACT_CACHE_DIR")
    os.environ["HWACT_CACHE_DIR"] = str(cache)
    try:
        assert verilator_build_env()["HWACT_OBJCACHE_DIR"].startswith(str(cache))
        return prove("relu_int8x4", "verilator")["seconds"]
    finally:
        if old is None:
            os.environ.pop("HWACT_CACHE_DIR", None)
        else:
            os.environ["HWACT_CACHE_DIR"] = old
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="default units to run (default: all)")
    args = parser.parse_args()
    tops = [spec.top for spec in DEFAULT_UNITS if not args.only or spec.top in args.only]
    started = time.time()
    cold = cold_verilator_build()
    print(f"first Verilator proof, run-time library compiled: {cold:.1f} s (relu_int8x4)")
    rows = []
    print(f"{'unit':<20} {'vectors':>8} {'cycles':>8} {'icarus s':>9} {'verilator s':>12}  verdicts")
    for top in tops:
        icarus, verilator = prove(top, "icarus"), prove(top, "verilator")
        rows.append({"unit": top, "icarus": icarus, "verilator": verilator})
        verdicts = "both pass" if icarus["passed"] and verilator["passed"] else "DIFFER" if icarus["passed"] != \
            verilator["passed"] else "both fail"
        print(f"{top:<20} {icarus['vectors']:>8} {icarus['cycles']:>8} {icarus['seconds']:>9.1f} "
              f"{verilator['seconds']:>12.1f}  {verdicts}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "simulators.json"
    out.write_text(json.dumps({"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform()},
                               "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                               "verilator_first_build_seconds": cold, "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
