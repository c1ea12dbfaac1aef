"""Benchmark: the shared datapaths on iCE40 (issue 21): the up5k CFU shared and not, the default
CFU shared, and the up5k trades (without the 16-bit units that miss the bounds).

Synthesis only (yowasp yosys ``synth_ice40 -dsp -dff`` through hwact.synth, cached), the register
wrapper apart. Prints one line per design, writes bench/results/fpga_shared.json.

    python bench/fpga_shared.py
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from hwact.cfu.build import build_cfu
from hwact.cfu.config import load_config
from hwact.synth import synthesize, tool_versions

RESULTS = Path(__file__).resolve().parent / "results" / "fpga_shared.json"
#: Issue 21's bounds for the up5k CFU on iCE40.
UP5K_BOUNDS = {"lut4": 500, "dsp": 2, "bram": 8}


def main() -> int:
    up5k = load_config("up5k")

    def without(*names: str):
        return dataclasses.replace(up5k, units=tuple(u for u in up5k.units if u.name not in names))

    designs = {
        "up5k Cfu": up5k,
        "default Cfu": load_config("default"),
        "up5k, share = false": dataclasses.replace(up5k, share=False),
        "up5k without tanh_q12x2 and gelu_q12x2": without("tanh_q12x2", "gelu_q12x2"),
        "up5k without the 16-bit smooth units": without("tanh_q12x2", "gelu_q12x2", "sigmoid_q12x2", "silu_q12x2"),
        "up5k 8-bit units only": dataclasses.replace(
            up5k, units=tuple(u for u in up5k.units if u.spec.in_format == "s4.4")),
        # The exact hardsigmoid's 31-fraction-bit coefficients widen the shared Horner to 33 bits.
        "up5k without hardsigmoid_q12x2": without("hardsigmoid_q12x2"),
    }
    results = {}
    for name, config in designs.items():
        built = build_cfu(config)
        result = synthesize({"Cfu.v": built.files["Cfu.v"]}, "Cfu", "ice40", place=False)
        results[name] = {key: result.get(key) for key in ("lut4", "dsp", "bram", "ff", "carry")}
        estimate = json.loads(built.files["cfu.json"])["resources"]["ice40"]
        results[name]["estimate"] = {"dsp": estimate["dsp"], "bram": estimate["block_ram"]}  # cfu.json's
        print(f"{name:<42} {results[name]}", flush=True)
    checks = {key: [results["up5k Cfu"][key], bound] for key, bound in UP5K_BOUNDS.items()}
    print("up5k within bounds:", json.dumps(checks))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"tools": tool_versions(), "designs": results, "checks": checks}, indent=1,
                                  sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
