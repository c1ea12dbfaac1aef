"""Benchmark: the fused requantize + activation op in an int8 dense layer, cycles per output.

A CFU with fused ops (a TFLite int8 fully connected layer's output stage followed by sigmoid /
tanh, combinational and with one pipeline stage) is built, and the firmware of
``hwact/cfu/requant_firmware.py`` runs a 64 -> 32 int8 dense layer three ways on the core:
ending in the fused instruction, in the bit-exact C fallback of the same op (TFLite's
requantization in C, then the unit's table), and storing the raw accumulator (no output
stage). Output-stage cycles per output = (kernel - raw kernel) / 32. The fused op's error
against the exact act(acc * real scale) is printed beside (``hwact.requant.fused_error``).
Target (docs/benchmarks.md): <= 2 cycles per output on VexRiscv. ``fc_sigmoid_pc`` is the
per-channel form: rs2 = the output channel, 32 channels with their own multipliers (real
scales from 0.000615 to 0.00119).

    python bench/fused_requant.py [--core vexriscv|picorv32]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path

from hwact.cfu.build import build_cfu
from hwact.cfu.config import parse_config
from hwact.cfu.requant_firmware import DENSE_OUT, run_fused_firmware
from hwact.cfu.sim import load_cfu

ROOT = Path(__file__).resolve().parent.parent
CONFIG = """
[[unit]]
name = "fc_sigmoid"
function = "sigmoid"
in_format = "int8(scale=0.0625, zp=-3)"
out_format = "tflite:logistic"
requant = { scale = 0.00123 }

[[unit]]
name = "fc_sigmoid_s1"
function = "sigmoid"
in_format = "int8(scale=0.0625, zp=-3)"
out_format = "tflite:logistic"
stages = 1
requant = { scale = 0.00123 }

[[unit]]
name = "fc_tanh"
function = "tanh"
in_format = "int8(scale=0.05, zp=4)"
out_format = "tflite:tanh"
requant = { multiplier = 1518500250, shift = -9 }

[[unit]]
name = "fc_sigmoid_pc"
function = "sigmoid"
in_format = "int8(scale=0.0625, zp=-3)"
out_format = "tflite:logistic"
requant = { scales = [%SCALES%] }
""".replace("%SCALES%", ", ".join(f"{0.00123 * 2 ** (k / 16 - 1):.6g}" for k in range(DENSE_OUT)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", default="vexriscv", choices=("vexriscv", "picorv32"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hwact-fused-") as tmp:
        work = Path(tmp)
        (work / "cfu").mkdir()
        built = build_cfu(parse_config(tomllib.loads(CONFIG)))
        for name, text in built.files.items():
            (work / "cfu" / name).write_text(text)
        cfu = load_cfu(work / "cfu")
        (work / "fw").mkdir()
        runs = run_fused_firmware(cfu, args.core, work / "fw", count=256, simulator="verilator")
    rows = []
    print(f"{args.core}: int8 dense 64 -> {DENSE_OUT}, output stage cycles per output (kernel minus raw kernel)")
    print(f"{'op':16} {'stages':>6} {'fused':>8} {'C fallback':>11} {'raw kernel':>11} {'fused/out':>10} "
          f"{'fallback/out':>13} {'max err (LSB)':>14}")
    for run in runs:
        op = cfu.op(run.name)
        error = built.manifests[run.name]["requant_error"]
        c = run.cycles
        fused = (c["dense_fused"] - c["dense_raw"]) / DENSE_OUT
        fallback = (c["dense_fallback"] - c["dense_raw"]) / DENSE_OUT
        if not run.passed:
            print(f"{run.name}: the instruction or the fallback differs from the model", file=sys.stderr)
            return 1
        rows.append({"op": run.name, "stages": op.stages, **c, "fused_per_output": fused,
                     "fallback_per_output": fallback, "error": error})
        print(f"{run.name:16} {op.stages:>6} {c['dense_fused']:>8} {c['dense_fallback']:>11} {c['dense_raw']:>11} "
              f"{fused:>10.2f} {fallback:>13.2f} {error['max_lsb']:>14.3f}")
    out = ROOT / "bench" / "results" / f"fused_requant_{args.core}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"core": args.core, "dense": [64, DENSE_OUT], "ops": rows}, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
