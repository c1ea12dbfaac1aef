"""A unit's report as data (JSON), Markdown and one self-contained HTML page.

Every figure in a report is computed here from the plan, the model and the tools' outputs;
nothing is typed in by hand.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping
from typing import Any

from .. import __version__
from ..cost import plan_cost
from ..plan import BitSlice, Plan
from ..widths import column_bits

__all__ = [
    "FORMATS",
    "REPORT_VERSION",
    "plan_summary",
    "to_html",
    "to_markdown",
    "unit_figures",
    "unit_report",
]

REPORT_VERSION = 1
FORMATS = ("md", "html", "json")


def plan_summary(plan: Plan, manifest: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Method, segments, table bits, coefficient formats, latency and throughput of a plan."""
    cost = plan_cost(plan)
    columns = []
    for k, frac in enumerate(plan.table.frac_bits):
        values = plan.table.column(k)
        width = column_bits(values)
        columns.append({"power": k, "format": f"{width} bits at 2^-{frac}", "bits": width, "frac_bits": frac,
                        "constant": len(set(values)) == 1})
    select = plan.select
    summary = {
        "method": plan.method,
        "segments": cost.segments,
        "degree": plan.table.degree,
        "segment_select": ("bit slice" if isinstance(select, BitSlice) else f"{len(select.thresholds)} comparators"),
        "table_bits": cost.table_bits,
        "coefficients": columns,
        "multipliers": [f"{a}x{b}" for a, b in cost.multipliers],
        "horner_roundings": [f">>{s.shift} {s.rounding}" for s in plan.horner],
        "output": f">>{plan.output.shift} {plan.output.rounding} {plan.output.overflow}",
        "clamp": None if plan.clamp is None else [plan.clamp.lo, plan.clamp.hi],
        "fold": None if plan.fold is None else plan.fold.kind,
        "cost": cost.cost,
    }
    if manifest is not None:
        for key in ("lanes", "stages", "latency", "throughput"):
            if key in manifest:
                summary[key] = manifest[key]
    return summary


def unit_figures(prefix: str) -> dict[str, str]:
    """File names of a unit's three figures."""
    return {"output": f"{prefix}.output.png", "error": f"{prefix}.error.png", "histogram": f"{prefix}.histogram.png"}


def unit_report(plan: Plan, manifest: Mapping[str, Any] | None, top: str,
                synthesis: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A unit's report data and its PNG figures (``{file name: bytes}``)."""
    from . import plots
    from .errors import samples, statistics

    points = samples(plan)
    stats = statistics(plan, points)
    names = unit_figures(top)
    images = {names["output"]: plots.output_plot(plan, points),
              names["error"]: plots.error_plot(plan, points, stats["segment_edges"]),
              names["histogram"]: plots.histogram_plot(plan, points)}
    data = {
        "unit": top,
        "function": plan.function,
        "params": dict(plan.params),
        "in_format": str(plan.in_fmt),
        "out_format": str(plan.out_fmt),
        "operand_format": None if plan.operand_fmt is None else str(plan.operand_fmt),
        "plan": plan_summary(plan, manifest),
        "error": stats,
        "figures": names,
    }
    if manifest is not None and "requant_error" in manifest:  # a fused requantize op of a CFU
        data["requant"] = dict(manifest["requant"])
        data["requant_error"] = dict(manifest["requant_error"])
    if synthesis:
        data["synthesis"] = dict(synthesis)
    return data, images


# -- Markdown ---------------------------------------------------------------------------------

def _g(value: float, digits: int = 4) -> str:
    return f"{value:.{digits}g}"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def synthesis_rows(synthesis: Mapping[str, Any]) -> list[list[Any]]:
    """One table row per synthesized target: part, LUT4, DSP, block RAM, FF, LC, Fmax."""
    rows = []
    for target, r in synthesis.items():
        if target in ("tools",) or not isinstance(r, Mapping):
            continue
        fmax = r.get("fmax_mhz")
        rows.append([r["part"], r["lut4"], r["dsp"], r["bram"], r["ff"], r.get("lc", "–"),
                     "–" if fmax is None else f"{fmax:.1f}"])
    return rows


def synthesis_notes(synthesis: Mapping[str, Any]) -> list[str]:
    """Why a design has no Fmax (nextpnr's own message), one bullet per target."""
    return [f"- {r['part']}: not placed ({r['pnr_error']})" for r in synthesis.values()
            if isinstance(r, Mapping) and r.get("pnr_error")]


SYNTH_HEADER = ["part", "LUT4", "DSP", "block RAM", "FF", "LC (placed, with wrapper)", "Fmax MHz"]


def unit_markdown(data: Mapping[str, Any], level: int = 2) -> list[str]:
    """The Markdown section of one unit."""
    h = "#" * level
    e, p = data["error"], data["plan"]
    lines = [f"{h} {data['unit']}: {data['function']} {data['in_format']} → {data['out_format']}", ""]
    coverage = "every input code" if e["exhaustive"] else "a seeded sample plus every segment edge"
    lines += [f"Measured over {e['vectors']:,} inputs ({coverage}); one output LSB is {e['lsb']:.6g}.", ""]
    lines += _table(["error", "output LSB", "absolute"], [
        ["max", _g(e["max_lsb"]), _g(e["max_abs"])],
        ["mean (bias)", f"{e['mean_lsb']:+.4g}", f"{e['bias_abs']:+.4g}"],
        ["mean absolute", _g(e["mean_abs_lsb"]), _g(e["mean_abs"])],
        ["RMS", _g(e["rms_lsb"]), _g(e["rms_abs"])],
    ])
    lines += ["", (f"- correctly rounded (≤ 0.5 LSB): **{100 * e['correctly_rounded_fraction']:.2f} %**; "
              f"faithful (< 1 LSB): {100 * e['faithful_fraction']:.2f} %"),
              f"- monotonic: **{'yes' if e['monotonic'] else 'no'}**", ""]
    if "requant_error" in data:
        r, q = data["requant_error"], data["requant"]
        how = (f"{len(q['channels'])} per-channel multipliers and shifts, rs2 = the channel" if "channels" in q
               else f"multiplier {q['multiplier']}, shift {q['shift']}")
        lines += [(f"**Fused requantize op**: rs1 is a TFLite int32 accumulator, requantized as TFLite does "
                   f"({how}) into {data['in_format']}, then the unit above. Against the exact "
                   f"{data['function']}(acc × real scale) over {r['vectors']:,} accumulators: max "
                   f"**{_g(r['max_lsb'])} LSB**, {100 * r['correctly_rounded_fraction']:.2f} % correctly rounded "
                   "(the requantization's rounding to the input grid included; the tables above are the "
                   "activation alone)."), ""]
    lines += [f"{h}# Plan", ""]
    coefficient = ", ".join(f"c{c['power']} {c['format']}" + (" (constant)" if c["constant"] else "")
                            for c in p["coefficients"])
    lines += _table(["item", "value"], [
        ["method", p["method"]], ["segments", f"{p['segments']} ({p['segment_select']})"],
        ["degree", p["degree"]], ["table bits", f"{p['table_bits']:,}"], ["coefficients", coefficient],
        ["multipliers", ", ".join(p["multipliers"]) or "none"],
        ["roundings", "; ".join(p["horner_roundings"] + [p["output"]])],
        ["clamp", p["clamp"] or "none"], ["fold", p["fold"] or "none"],
        *([["lanes / stages", f"{p['lanes']} / {p['stages']}"]] if "lanes" in p else []),
        *([["latency / throughput", f"{p['latency']} cycles / {p['throughput']} per cycle"]] if "latency" in p else []),
    ])
    lines += ["", f"{h}# Worst inputs", ""]
    lines += _table(["input code", "input", "output code", "real f(x)", "error LSB"], [
        [w["x_code"], _g(w["x"], 6), w["y_code"], _g(w["f"], 8), f"{w['err_lsb']:+.4f}"] for w in e["worst"]])
    f = data["figures"]
    lines += ["", f"{h}# Figures", "",
              f"![output over the real function]({f['output']})", "",
              f"![error against the input, segment edges marked]({f['error']})", "",
              f"![error histogram]({f['histogram']})", ""]
    if data.get("synthesis"):
        lines += [f"{h}# Synthesis", ""]
        lines += _table(SYNTH_HEADER, synthesis_rows(data["synthesis"]))
        lines += ["", *synthesis_notes(data["synthesis"])] if synthesis_notes(data["synthesis"]) else []
        lines += ["", ("LUT4 / DSP / block RAM / FF count the unit alone; the LC column is the placed design "
                  "with its input and output registers. Inputs and outputs registered, so Fmax is "
                  "register to register."), ""]
    return lines


def system_markdown(system: Mapping[str, Any]) -> list[str]:
    """The whole design next to the reference core, with the ratios computed from the two rows."""
    lines = ["## Whole design", ""]
    lines += _table(["design", *SYNTH_HEADER], [[name, *row] for name, synth in system.items()
                                                for row in synthesis_rows(synth)])
    lines += [""]
    for name, synth in system.items():
        lines += [f"{note[:2]}{name}, {note[2:]}" for note in synthesis_notes(synth)]
    names = list(system)
    if len(names) == 2:
        mine, core = system[names[0]], system[names[1]]
        for target in mine:
            a, b = mine[target], core.get(target)
            if not isinstance(a, Mapping) or not isinstance(b, Mapping) or not b.get("lut4"):
                continue
            text = f"- {a['part']}: {names[0]} takes {100 * a['lut4'] / b['lut4']:.1f} % of the LUT4 of {names[1]}"
            if a.get("fmax_mhz") and b.get("fmax_mhz"):
                text += f"; its Fmax is {a['fmax_mhz'] / b['fmax_mhz']:.2f}x that of {names[1]}"
            lines.append(text + ".")
    return [*lines, ""]


def tools_markdown(tools: Mapping[str, str]) -> list[str]:
    return ["Tools: " + ", ".join(f"{name} ({version})" for name, version in tools.items()), ""]


def to_markdown(document: Mapping[str, Any]) -> str:
    """The whole report as Markdown (figures referenced as PNG files beside it)."""
    lines = [f"# hwact report: {document['title']}", "",
             (f"Generated by {document['generator']}. Errors are measured against the real function "
             "(float64), in output LSBs and in absolute terms."), ""]
    for extra in document.get("preamble", []):
        lines += [extra, ""]
    if document.get("system"):
        lines += system_markdown(document["system"])
    for unit in document["units"]:
        lines += unit_markdown(unit, level=2)
    if document.get("tools"):
        lines += tools_markdown(document["tools"])
    return "\n".join(lines).rstrip() + "\n"


def _markdown_to_html(markdown: str, images: Mapping[str, bytes]) -> str:
    """A small converter for the Markdown this module writes: headings, tables, lists, images."""
    import re

    out, table = [], []

    def inline(text: str) -> str:
        text = html.escape(text)
        return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)

    def flush() -> None:
        if not table:
            return
        head, body = table[0], table[2:]

        def cells(row: str) -> list[str]:
            return [c.strip() for c in row.strip().strip("|").split("|")]

        out.append("<table><tr>" + "".join(f"<th>{inline(c)}</th>" for c in cells(head)) + "</tr>")
        out.extend("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in cells(row)) + "</tr>" for row in body)
        out.append("</table>")
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush()
        image = re.fullmatch(r"!\[(.*)\]\((.*)\)", line)
        heading = re.match(r"(#+) (.*)", line)
        if image:
            data = base64.b64encode(images[image.group(2)]).decode("ascii")
            out.append(f'<figure><img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{html.escape(image.group(1))}</figcaption></figure>")
        elif heading:
            n = len(heading.group(1))
            out.append(f"<h{n}>{inline(heading.group(2))}</h{n}>")
        elif line.startswith("- "):
            out.append(f"<p>• {inline(line[2:])}</p>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush()
    return "\n".join(out)


_STYLE = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}"
          "table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:0.2em 0.6em;"
          "text-align:left}th{background:#f3f3f3}img{max-width:100%}figure{margin:1em 0}"
          "figcaption{font-size:0.85em;color:#555}")


def to_html(document: Mapping[str, Any], images: Mapping[str, bytes]) -> str:
    """One self-contained HTML page: the Markdown report with the figures embedded (base64)."""
    body = _markdown_to_html(to_markdown(document), images)
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>hwact report: "
            f"{html.escape(document['title'])}</title><style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def to_json(document: Mapping[str, Any]) -> str:
    return json.dumps({"report_version": REPORT_VERSION, **document}, indent=2, sort_keys=True) + "\n"


def new_document(title: str) -> dict[str, Any]:
    return {"title": title, "generator": f"hwact {__version__}", "units": []}


def render(document: Mapping[str, Any], images: Mapping[str, bytes], stem: str,
           formats: tuple[str, ...]) -> dict[str, str | bytes]:
    """The files of a report: ``stem.md`` (+ PNGs), ``stem.html``, ``stem.json``, as asked."""
    files: dict[str, str | bytes] = {}
    if "md" in formats:
        files[f"{stem}.md"] = to_markdown(document)
        files.update(images)
    if "html" in formats:
        files[f"{stem}.html"] = to_html(document, images)
    if "json" in formats:
        files[f"{stem}.json"] = to_json(document)
    return files
