"""hwact against the activation units the field uses, at the same formats: writes docs/comparison.md.

    .venv/bin/python bench/comparison.py [--no-synth] [--jobs N]

For every baseline in ``bench/baselines`` (each re-implemented from its published description):
error over every input code against the real function (float64), in the baseline's output
LSBs and in absolute terms, the correctly rounded share, table bits, and, where the baseline is
hardware, LUT4 / DSP and Fmax from yosys + nextpnr (iCE40 UP5K and ECP5-25k, inputs and outputs
registered). Next to it, hwact's ``auto`` plan at the same input and output formats, measured
and synthesized the same way. Figures also go to ``bench/comparison.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.baselines import Baseline, all_baselines
from hwact import make_plan
from hwact.artifacts import UnitSpec, build_unit
from hwact.cost import plan_cost
from hwact.functions import get, resolve_params
from hwact.measure import TIE_TOLERANCE
from hwact.report.errors import samples, statistics

TARGETS = ("ice40", "ecp5")


def baseline_error(b: Baseline) -> dict:
    """Error of a baseline on every input code against the real function, saturated to its output format."""
    codes = b.in_fmt.all_codes()
    y = b.evaluate(codes).astype(np.float64)
    fn = get(b.function)
    f = np.asarray(fn.reference(b.in_fmt.to_real(codes), resolve_params(fn, {})), dtype=np.float64) / b.out_fmt.lsb
    f = np.clip(f, b.out_fmt.min_code, b.out_fmt.max_code)
    err = y - f
    abs_err = np.abs(err)
    return {"max_lsb": float(abs_err.max()), "rms_lsb": float(np.sqrt(np.mean(err * err))),
            "mean_lsb": float(err.mean()), "max_abs": float(abs_err.max() * b.out_fmt.lsb),
            "rms_abs": float(np.sqrt(np.mean(err * err)) * b.out_fmt.lsb),
            "correctly_rounded_fraction": float(np.mean(abs_err <= 0.5 + TIE_TOLERANCE)),
            "monotonic": bool(np.all(np.diff(y) * np.diff(f) >= 0))}


def synth_jobs(rows: list[dict], jobs: int) -> None:
    """Synthesize every row's Verilog for every target (in parallel threads; each job is a tool process)."""
    from hwact.synth import synthesize

    work = [(row, side, target) for row in rows for side in ("baseline", "hwact") for target in TARGETS
            if row[side].get("verilog")]

    def one(item):
        row, side, target = item
        source, top = row[side]["verilog"]
        try:
            return item, synthesize({f"{top}.v": source}, top, target)
        except Exception as error:
            return item, {"error": str(error)}

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for done, ((row, side, target), result) in enumerate(pool.map(one, work), 1):
            row[side].setdefault("synthesis", {})[target] = result
            print(f"  [{done}/{len(work)}] {row['baseline']['name']} / {side} / {target}: "
                  f"{result.get('lut4', '?')} LUT4, {result.get('fmax_mhz', '?')} MHz", file=sys.stderr)


def measure_all(synth: bool, jobs: int) -> list[dict]:
    rows = []
    for b in all_baselines():
        print(f"measuring {b.name}", file=sys.stderr)
        base = {"name": b.name, "source": b.source, "function": b.function, "in_format": str(b.in_fmt),
                "out_format": str(b.out_fmt), "table_bits": b.table_bits, "hardware": b.hardware, "note": b.note,
                "error": baseline_error(b)}
        top = "b_" + "".join(ch if ch.isalnum() else "_" for ch in b.name.lower()).strip("_")
        if b.verilog is not None:
            base["verilog"] = (b.verilog(top), top)
        elif b.hardware and dict(b.params).get("hwact"):  # the stand-in's hardware is hwact's exact plan
            spec = UnitSpec(dict(b.params)["hwact"], str(b.in_fmt), str(b.out_fmt), name=top)
            base["verilog"] = (build_unit(spec)[f"{top}.v"], top)
        plan = make_plan(b.function, b.in_fmt, b.out_fmt)
        stats = statistics(plan, samples(plan))
        cost = plan_cost(plan)
        mine = {"method": plan.method, "segments": cost.segments, "table_bits": cost.table_bits,
                "error": {k: stats[k] for k in ("max_lsb", "rms_lsb", "mean_lsb", "max_abs", "rms_abs",
                                                 "correctly_rounded_fraction", "monotonic")}}
        if b.hardware:
            name = f"h_{top[2:]}"
            spec = UnitSpec(b.function, str(b.in_fmt), str(b.out_fmt), name=name)
            mine["verilog"] = (build_unit(spec)[f"{name}.v"], name)
        rows.append({"baseline": base, "hwact": mine})
    if synth:
        synth_jobs(rows, jobs)
    for row in rows:
        for side in ("baseline", "hwact"):
            row[side].pop("verilog", None)
    return rows


def _fmt_synth(side: dict, target: str) -> str:
    s = side.get("synthesis", {}).get(target)
    if not s:
        return "–"
    if "error" in s:
        return "failed"
    dsp = f" + {s['dsp']} DSP" if s["dsp"] else ""
    bram = f" + {s['bram']} BRAM" if s["bram"] else ""
    fmax = f" @ {s['fmax_mhz']:.0f} MHz" if s.get("fmax_mhz") else ""
    return f"{s['lut4']}{dsp}{bram}{fmax}"


def markdown(rows: list[dict], tools: dict | None) -> str:
    lines = ["# hwact against the field", "",
             ("Generated by `bench/comparison.py` (do not edit by hand). Each baseline is re-implemented in "
             "`bench/baselines/` from its published description and checked against hand-computed points in "
             "`tests/test_report_baselines.py`; hwact's row is `make_plan(function, in, out)` (method `auto`, "
             "1 LSB budget) at the baseline's own input and output formats. Errors are over every input code "
             "against the real function in float64, in the baseline's output LSBs (absolute in brackets). "
             "CR = share of outputs that are correctly rounded (≤ 0.5 LSB). Synthesis: yosys `synth_ice40 -dsp "
             "-dff` / `synth_ecp5 -dff` and nextpnr, combinational unit between input and output registers; "
             "LUT4 (+ DSP, block RAM) of the unit alone, Fmax register to register. Both sides are "
             "combinational between those registers (hwact `--stages 0`), so Fmax compares logic depth; "
             "hwact units take `--stages N` to pipeline (see the GELU report in reports.md)."), ""]
    header = ["baseline", "formats", "max error", "RMS", "CR %", "table bits", "iCE40 LUT4 @ Fmax",
              "ECP5 LUT4 @ Fmax", "hwact plan", "hwact max error", "hwact RMS", "hwact CR %", "hwact table bits",
              "hwact iCE40", "hwact ECP5", "error ratio"]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        b, h = row["baseline"], row["hwact"]
        be, he = b["error"], h["error"]
        ratio = be["max_abs"] / he["max_abs"] if he["max_abs"] else float("inf")
        lines.append("| " + " | ".join([
            b["name"], f"{b['in_format']} → {b['out_format']}",
            f"{be['max_lsb']:.3g} ({be['max_abs']:.3g})", f"{be['rms_lsb']:.3g}",
            f"{100 * be['correctly_rounded_fraction']:.1f}", f"{b['table_bits']:,}",
            _fmt_synth(b, "ice40") if b["hardware"] else "software", _fmt_synth(b, "ecp5") if b["hardware"] else "–",
            f"{h['method']}, {h['segments']} seg", f"{he['max_lsb']:.3g} ({he['max_abs']:.3g})", f"{he['rms_lsb']:.3g}",
            f"{100 * he['correctly_rounded_fraction']:.1f}", f"{h['table_bits']:,}",
            _fmt_synth(h, "ice40"), _fmt_synth(h, "ecp5"), f"{ratio:.1f}×"]) + " |")
    lines += ["", "## Notes on the baselines", ""]
    for row in rows:
        b = row["baseline"]
        lines.append(f"- **{b['name']}** ({b['source']}): {b['note']}.")
    lines += ["", ("Readings where the descriptions leave a choice open are stated in each module's docstring "
              "(PULP's coefficients are not published: chords through the segment ends are used; "
              "TFLite's int16 table follows the bias-corrected 513-entry scheme over the int16 input range)."), ""]
    if tools:
        lines += ["Tools: " + ", ".join(f"{k} ({v})" for k, v in tools.items()), ""]
    return "\n".join(lines)


def _keep_peers(path: Path, text: str) -> str:
    """``text`` followed by the peers' section of the existing page (bench/peers.py writes that one)."""
    old = path.read_text() if path.exists() else ""
    at = old.find("\n## Against the peers' own kernels")
    return text if at < 0 else text.rstrip("\n") + "\n" + old[at:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-synth", action="store_true", help="error figures only")
    parser.add_argument("--jobs", type=int, default=2, help="parallel synthesis jobs (default 2)")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the Markdown from bench/comparison.json without measuring again")
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "comparison.md")
    args = parser.parse_args()
    if args.render_only:
        data = json.loads((ROOT / "bench" / "comparison.json").read_text())
        args.output.write_text(_keep_peers(args.output, markdown(data["rows"], data["tools"])))
        print(f"wrote {args.output}", file=sys.stderr)
        return 0
    rows = measure_all(not args.no_synth, args.jobs)
    tools = None
    if not args.no_synth:
        from hwact.synth import tool_versions

        tools = tool_versions()
    args.output.write_text(_keep_peers(args.output, markdown(rows, tools)))
    (ROOT / "bench" / "comparison.json").write_text(json.dumps({"rows": rows, "tools": tools}, indent=2) + "\n")
    print(f"wrote {args.output} and bench/comparison.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
