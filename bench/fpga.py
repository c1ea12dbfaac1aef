"""Benchmark: FPGA resources and Fmax of the CFU configurations beside VexRiscv_FullCfu alone.

Every design is synthesized and placed in one run with the same tools (yowasp yosys
``synth_ice40 -dsp -dff`` / ``synth_ecp5 -dff`` and nextpnr; ECP5-25k out of context) inside
hwact's register wrapper (hwact.synth): per configuration the whole ``Cfu``, with
``--units`` every unit alone, and with ``--before REF`` the default CFU as checked in at git
``REF`` (``rtl/cfu/Cfu.v`` there). Targets (issue 21): the ``up5k`` CFU within 500 SB_LUT4,
2 SB_MAC16 and 8 SB_RAM40_4K; on ECP5 every default unit at >= 1.5x the core's Fmax and the
whole default Cfu at >= 1x. Results are cached (hwact.synth), so a re-run only
synthesizes what changed. Prints a table, writes bench/results/fpga.json.

    python bench/fpga.py [--configs default,up5k] [--targets ice40,ecp5] [--units] [--before REF] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from hwact.cfu.build import build_cfu
from hwact.cfu.config import load_config
from hwact.synth import parse_targets, synthesize, tool_versions, vexriscv_verilog

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "fpga.json"

#: Issue 21's bounds for the up5k CFU on iCE40, and its ECP5 Fmax ratios to the core.
UP5K_BOUNDS = {"lut4": 500, "dsp": 2, "bram": 8}
UNIT_FMAX_RATIO, CFU_FMAX_RATIO = 1.5, 1.0

FIELDS = ("lut4", "dsp", "bram", "ff", "lc", "fmax_mhz")


def _row(result: dict) -> dict:
    return {field: result.get(field) for field in FIELDS} | {"seconds": result.get("seconds")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="default,up5k", help="embedded configurations or TOML files")
    parser.add_argument("--targets", default="ice40,ecp5")
    parser.add_argument("--units", action="store_true", help="also every unit of every configuration alone")
    parser.add_argument("--before", metavar="REF", help="also the default CFU checked in at this git ref")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    targets = parse_targets(args.targets)

    jobs: list[tuple[str, str, dict[str, str], str, str]] = []  # (design, kind, sources, top, target)
    name, text = vexriscv_verilog()
    for target in targets:
        jobs.append(("VexRiscv_FullCfu alone", "core", {name: text}, "VexRiscv", target))
    if args.before:
        old = subprocess.run(["git", "show", f"{args.before}:rtl/cfu/Cfu.v"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
        for target in targets:
            jobs.append((f"default Cfu at {args.before}", "cfu", {"Cfu.v": old}, "Cfu", target))
    configs = {}
    for config_name in args.configs.split(","):
        built = build_cfu(load_config(config_name))
        configs[config_name] = built
        for target in targets:
            jobs.append((f"{config_name} Cfu", "cfu", {"Cfu.v": built.files["Cfu.v"]}, "Cfu", target))
        if args.units:
            for op in built.ops:
                for target in targets:
                    jobs.append((f"{config_name}/{op.name}", "unit", {f"{op.name}.v": built.files[f"{op.name}.v"]},
                                 op.name, target))

    def run(job):
        _, _, sources, top, target = job
        try:
            return job, synthesize(sources, top, target)
        except Exception as error:  # one failed design is reported, the others still measured
            return job, {"error": str(error)}

    results: dict[str, dict] = {}
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for (design, kind, _, _, target), result in pool.map(run, jobs):
            entry = results.setdefault(design, {"kind": kind})
            entry[target] = _row(result) if "error" not in result else result
            print(f"  {design} {target}: {entry[target]}", file=sys.stderr, flush=True)

    core = {target: results["VexRiscv_FullCfu alone"][target].get("fmax_mhz") for target in targets}
    for entry in results.values():
        for target in targets:
            fmax, base = entry[target].get("fmax_mhz"), core[target]
            entry[target]["fmax_vs_core"] = round(fmax / base, 3) if fmax and base else None
    checks = {}
    if "up5k" in configs and "ice40" in targets:
        got = results["up5k Cfu"]["ice40"]
        checks["up5k within bounds on iCE40"] = {key: [got.get(key), bound] for key, bound in UP5K_BOUNDS.items()}
    if "default" in configs and "ecp5" in targets:
        checks["default Cfu fmax / core (>= 1.0)"] = results["default Cfu"]["ecp5"].get("fmax_vs_core")
        if args.units:
            checks["default units fmax / core (>= 1.5)"] = {
                design.split("/", 1)[1]: entry["ecp5"].get("fmax_vs_core")
                for design, entry in results.items() if design.startswith("default/")}

    print(f"{'design':<34} {'target':<6} {'LUT4':>6} {'DSP':>4} {'EBR':>4} {'FF':>6} {'LC':>6} {'Fmax MHz':>9} "
          f"{'x core':>7}")
    for design, entry in results.items():
        for target in targets:
            row = entry[target]
            if "error" in row:
                print(f"{design:<34} {target:<6} error: {row['error']}")
                continue
            cells = [row.get(k) for k in ("lut4", "dsp", "bram", "ff", "lc")]
            print(f"{design:<34} {target:<6} " + " ".join(f"{'-' if c is None else c:>{w}}"
                                                          for c, w in zip(cells, (6, 4, 4, 6, 6)))
                  + f" {row.get('fmax_mhz') or '-':>9} {row.get('fmax_vs_core') or '-':>7}")
    print(json.dumps(checks, indent=1))
    # Designs measured by earlier runs (other configurations or targets) are kept beside these.
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    designs = previous.get("designs", {})
    for design, entry in results.items():
        designs[design] = {**designs.get(design, {}), **entry}
    RESULTS.write_text(json.dumps({"tools": tool_versions(), "designs": designs,
                                   "checks": {**previous.get("checks", {}), **checks}}, indent=1, sort_keys=True)
                       + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
