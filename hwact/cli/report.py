"""``hwact report``: error statistics, plots, the plan and (``--synth``) FPGA resources and Fmax.

    hwact report DIR/NAME.json [--synth ice40,ecp5] [--format md,html,json] -o DIR
    hwact report DIR/cfu.json  [--synth ...] -o DIR
    hwact report FUNC --in FMT --out FMT [generate's options] -o DIR
    hwact report --network digits [MANIFEST.json ...|cfu.json] -o DIR

Writes ``NAME.report.md`` (with ``NAME.output.png``, ``NAME.error.png``,
``NAME.histogram.png``), ``NAME.report.html`` (one page, figures embedded) and
``NAME.report.json``; all of them or nothing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from .options import UsageError, add_output, add_unit_arguments, spec_from_args
from .progress import Progress

__all__ = ["COMMAND", "add_parser", "run"]

COMMAND = "report"


def _formats(text: str) -> tuple[str, ...]:
    from ..report.document import FORMATS

    names = tuple(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names or any(n not in FORMATS for n in names):
        raise argparse.ArgumentTypeError(f"takes a comma-separated list of {', '.join(FORMATS)}, not {text!r}")
    return names


def add_parser(commands) -> None:
    """Add ``hwact report`` to the command line."""
    p = commands.add_parser("report", help="error statistics, plots, plan and (--synth) FPGA cost of a unit or CFU")
    p.add_argument("target", nargs="*", metavar="MANIFEST.json|cfu.json|FUNC",
                   help="a unit manifest, a cfu.json, or a function name with --in/--out (with --network: the "
                        "units to put in the network, manifests or a cfu.json)")
    add_unit_arguments(p, formats_required=False, defaults={"stages": None})
    p.add_argument("--synth", metavar="ice40,ecp5", help="synthesize and place-and-route for these parts")
    p.add_argument("--synth-units", action="store_true",
                   help="for a cfu.json: also synthesize every unit on its own (the whole Cfu always is)")
    p.add_argument("--format", dest="formats", type=_formats, default=("md", "html", "json"), metavar="md,html,json",
                   help="which of NAME.report.md / .html / .json to write (default all three)")
    p.add_argument("--network", metavar="NAME", help="network-level effect instead of a unit: 'digits' (with "
                   "the built-in units, or the units given)")
    add_output(p, "the report files and plots")


def _unit_from_args(args, target: str) -> tuple[dict[str, Any], Any, dict[str, str]]:
    """Plan and build the unit a function name and formats describe (nothing written)."""
    from ..artifacts import build_unit
    from ..plan import Plan

    if not args.in_format or not args.out_format:
        raise ValueError(f"{target!r} is not a .json file; a function needs --in FMT and --out FMT")
    stages = args.stages if args.stages is not None else (3 if args.synth else 0)
    spec = spec_from_args(args, target, stages=stages)
    files = build_unit(spec)
    manifest = json.loads(files[f"{spec.top}.json"])
    return manifest, Plan.from_dict(manifest["plan"]), files


def _read_json(path: Path) -> dict[str, Any]:
    from ..artifacts import read_json

    data = read_json(path)
    if not isinstance(data, dict):
        raise ValueError(f"{path} is neither an hwact manifest nor a cfu.json")
    return data


def _synth(sources: dict[str, str], top: str, targets: list[str], label: str, progress=None) -> dict[str, Any]:
    from ..synth import synthesize

    def step(text: str) -> None:
        if progress:
            progress(f"{label}: {text}")

    return {target: synthesize(sources, top, target, progress=step) for target in targets}


def run(args) -> int:
    """Make the report; print one line per file written."""
    from ..artifacts import write_files
    from ..report.document import render
    from ..synth import parse_targets

    targets = parse_targets(args.synth) if args.synth else []
    if args.network:
        from ..report.network import network_document, units_from_files

        units = units_from_files([Path(t) for t in args.target]) if args.target else None
        with Progress(f"network {args.network}") as progress:
            document, images, stem = network_document(args.network, units=units, progress=progress)
        return _done(write_files(args.output, render(document, images, stem, args.formats)))
    if not args.target:
        raise ValueError("report needs a MANIFEST.json, a cfu.json or a function name (or --network)")
    if len(args.target) > 1:
        raise UsageError(f"report takes one MANIFEST.json, cfu.json or function, not {len(args.target)} "
                         "(several units go in a network report: --network digits)")
    path = Path(args.target[0])
    document: dict[str, Any]
    images: dict[str, bytes] = {}
    extra_files: dict[str, str | bytes] = {}
    with Progress(f"reporting on {path.name}") as progress:
        if path.suffix == ".json" or path.exists():
            data = _read_json(path)
            if "units" in data and "discovery" in data:
                document, images, stem = _cfu_report(path, data, targets, args.synth_units, progress)
            else:
                from ..artifacts import load_manifest

                manifest, plan = load_manifest(path)
                verilog_path = path.parent / manifest["files"]["verilog"]
                document, images, stem = _unit_document(manifest, plan, verilog_path, None, targets, progress)
        else:
            progress(f"planning {args.target[0]}")
            manifest, plan, files = _unit_from_args(args, args.target[0])
            document, images, stem = _unit_document(manifest, plan, None, files[manifest["files"]["verilog"]],
                                                    targets, progress)
            extra_files.update(files)  # the unit reported on, so the report can be reproduced
    written = write_files(args.output, {**extra_files, **render(document, images, stem, args.formats)})
    return _done(written)


def _done(written: list[Path]) -> int:
    for path in written:
        print(f"  wrote {path}")
    return 0


def _unit_document(manifest, plan, verilog_path: Path | None, verilog: str | None, targets: list[str],
                   progress=None):
    from ..report.document import new_document, unit_report
    from ..synth import tool_versions

    top = manifest["top"]
    synthesis = None
    if targets:
        if verilog is None:
            if not verilog_path.exists():
                raise ValueError(f"{verilog_path} does not exist (the manifest names it; --synth needs it)")
            verilog = verilog_path.read_text()
        synthesis = _synth({f"{top}.v": verilog}, top, targets, top, progress)
    data, images = unit_report(plan, manifest, top, synthesis)
    document = new_document(f"{top} ({plan.function} {plan.in_fmt} → {plan.out_fmt})")
    document["units"].append(data)
    if targets:
        document["tools"] = tool_versions()
    return document, images, f"{top}.report"


def _cfu_report(path: Path, data: dict[str, Any], targets: list[str], each_unit: bool = False, progress=None):
    """Every unit of a CFU, and with ``--synth`` the whole ``Cfu`` next to ``VexRiscv_FullCfu`` alone."""
    from ..artifacts import load_manifest
    from ..functions import describe
    from ..report.document import new_document, unit_report
    from ..synth import SynthError, tool_versions, vexriscv_verilog

    document = new_document(f"CFU {path.parent.name or path.name}")
    images: dict[str, bytes] = {}
    try:
        units = [(u["name"], u["function_id"], u["manifest"], u.get("lanes"), u.get("latency")) for u in data["units"]]
    except (KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a cfu.json (missing or bad {error})") from None
    rows = []
    for index, (name, function_id, manifest_name, lanes, latency) in enumerate(units):
        if progress:
            progress(f"unit {index + 1}/{len(units)}: {name}")
        manifest, plan = load_manifest(path.parent / manifest_name)
        synthesis = None
        if targets and each_unit:
            verilog_path = path.parent / manifest["files"]["verilog"]
            if not verilog_path.exists():
                raise ValueError(f"{verilog_path} does not exist (the manifest names it; --synth needs it)")
            synthesis = _synth({verilog_path.name: verilog_path.read_text()}, manifest["top"], targets, name,
                               progress)
        unit, unit_images = unit_report(plan, manifest, manifest["top"], synthesis)
        unit["function_id"] = function_id
        document["units"].append(unit)
        images.update(unit_images)
        e = unit["error"]
        label = describe(plan.function, plan.params)
        rows.append(f"| {name} | {function_id} | {label} {plan.in_fmt} → {plan.out_fmt} | {lanes} | {latency} "
                    f"| {e['max_lsb']:.4g} | {100 * e['correctly_rounded_fraction']:.2f} | "
                    f"{'yes' if e['monotonic'] else 'no'} |")
    table = "\n".join(["| unit | function_id | function | lanes | latency | max LSB | CR % | monotonic |",
                       "| --- | --- | --- | --- | --- | --- | --- | --- |", *rows])
    word = data["discovery"].get("value")
    word = f"{word:#010x}" if isinstance(word, int) else repr(word)
    document["preamble"] = [(f"{len(units)} units; discovery word {word} at function_id "
                             f"{data['discovery'].get('function_id')}; unknown ids answer "
                             f"{data.get('unknown_value')!r}."), table]
    proof = path.with_name("cfu.sim.json")
    if proof.exists():  # what `hwact sim DIR/cfu.json` found, if it ran
        try:
            checks = json.loads(proof.read_text())["checks"]
            document["preamble"].append(
                f"`hwact sim` ({proof.name}): {sum(c['passed'] for c in checks)} of {len(checks)} checks passed: "
                + "; ".join(f"{c['name']} {'PASS' if c['passed'] else 'FAIL'} ({c['detail']})" for c in checks) + ".")
        except (OSError, ValueError, KeyError, TypeError):
            document["preamble"].append(f"{proof.name} is unreadable: run `hwact sim {path}` again.")
    if targets:
        cfu_path = path.parent / data.get("verilog", "Cfu.v")
        if not cfu_path.exists():
            raise ValueError(f"{cfu_path} does not exist (--synth of a CFU needs the Cfu Verilog beside cfu.json)")
        system = {"Cfu": _synth({cfu_path.name: cfu_path.read_text()}, "Cfu", targets, "Cfu", progress)}
        try:
            name, text = vexriscv_verilog()
        except SynthError as error:
            raise ValueError(str(error)) from None
        system["VexRiscv_FullCfu alone"] = _synth({name: text}, "VexRiscv", targets, "VexRiscv", progress)
        document["system"] = system
        document["tools"] = tool_versions()
    return document, images, "cfu.report"
