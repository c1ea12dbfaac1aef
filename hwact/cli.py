"""The ``hwact`` command line (design section 7).

Every failure the user can cause ends with one line on stderr (``hwact: error: ...``) and a
non-zero exit: 2 for a malformed command line, 1 for everything else (including a simulation
with mismatches). Set ``HWACT_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

__all__ = ["main"]

#: Commands that live beside their feature: each module has ``COMMAND`` (its name),
#: ``add_parser(commands)`` (adds that subparser) and ``run(args) -> int``. Heavy imports stay inside ``run``.
_COMMAND_MODULES: tuple[str, ...] = ("hwact.report.command", "hwact.report.explore", "hwact.cfu.command",
                                     "hwact.soc.command")


class UsageError(Exception):
    """A malformed command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--param takes NAME=VALUE, not {pair!r}")
        params[name.strip()] = value.strip()
    return params


def _vectors(text: str) -> str | int:
    if text == "exhaustive":
        return text
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 'exhaustive' or a positive count, not {text!r}") from None
    if count <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive count, not {count}")
    return count


def _build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .approx import METHODS
    from .fixed import OVERFLOW_MODES, ROUNDING_MODES
    from .verify.runner import SIMULATORS

    parser = _Parser(prog="hwact", description="Activation functions as bit-accurate hardware: a fixed-point "
                     "model, Verilog, a proof that the two agree, and a RISC-V custom-instruction unit.",
                     epilog="`hwact COMMAND --help` describes a command. Docs: docs/guide.md.")
    parser.add_argument("--version", action="version", version=f"hwact {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    listing = commands.add_parser("list", help="list the functions and their parameters")
    listing.add_argument("--json", action="store_true", help="machine-readable output")

    gen = commands.add_parser("generate", help="plan a unit and write NAME.v, NAME.json and NAME.h")
    gen.add_argument("function", help="activation function (`hwact list` shows them; any case)")
    gen.add_argument("--in", dest="in_format", required=True, metavar="FMT", help="input format, e.g. s4.12 or int8")
    gen.add_argument("--out", dest="out_format", required=True, metavar="FMT", help="output format")
    gen.add_argument("--method", default="auto", choices=METHODS,
                     help="exact (piecewise-linear family), lut (direct table), pwl, pwl2, or auto: the "
                          "cheapest that meets the budget (default auto)")
    gen.add_argument("--max-err-lsb", type=float, default=1.0, metavar="E",
                     help="error budget in output LSBs: above 0.5 a strict bound (1 = faithful), 0.5 or "
                          "less inclusive (0.5 = correctly rounded); default 1")
    gen.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE", help="function parameter (repeatable)"
    )
    gen.add_argument("--lanes", type=int, default=1, metavar="N", help="codes per transfer: 1, 2 or 4")
    gen.add_argument("--stages", type=int, default=0, metavar="N", help="pipeline registers (0 = combinational)")
    gen.add_argument("--rounding", default="RND", choices=ROUNDING_MODES, help="output rounding (default RND)")
    gen.add_argument("--overflow", default="SAT", choices=OVERFLOW_MODES, help="output overflow (default SAT)")
    gen.add_argument("--name", help="module and file name, a Verilog identifier (default: the function name)")
    gen.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="DIR",
        type=Path,
        help="directory for NAME.v, NAME.json and NAME.h (created if missing)",
    )

    sim = commands.add_parser("sim", help="prove NAME.v equals the model; writes NAME.sim.json")
    sim.add_argument("manifest", type=Path, help="NAME.json written by `hwact generate`")
    sim.add_argument("--simulator", default="icarus", choices=SIMULATORS, help="Verilog simulator (default icarus)")
    sim.add_argument(
        "--vectors",
        default="exhaustive",
        type=_vectors,
        metavar="exhaustive|N",
        help="every input code (default; the proof, NAME.sim.json) or N random codes plus "
        "every segment edge (a spot check, NAME.sim-N.json)",
    )
    sim.add_argument("--seed", type=int, default=1, help="seed for random vectors and stream gaps")

    demo = commands.add_parser("demo", help="generate, simulate and summarize the default units")
    demo.add_argument(
        "-o",
        "--output",
        default=Path("out/demo"),
        type=Path,
        metavar="DIR",
        help="where the units and the CFU go (default out/demo)",
    )

    for module in _command_modules():
        module.add_parser(commands)
    return parser


def _command_modules():
    import importlib

    return [importlib.import_module(name) for name in _COMMAND_MODULES]


def _cmd_list(args) -> int:
    from .approx import _methods_for
    from .functions import FUNCTIONS

    # Families in the order a reader meets them; registration order within a family.
    order = {"exact": 0, "smooth": 1, "gated": 2}
    seen = sorted(dict.fromkeys(FUNCTIONS.values()), key=lambda f: order.get(f.family, len(order)))
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": f.name,
                        "family": f.family,
                        "summary": f.summary,
                        "operands": f.operands,
                        "methods": list(_methods_for(f.family)),
                        "aliases": list(f.aliases),
                        "params": [
                            {
                                "name": p.name,
                                "default": p.default,
                                "kind": p.kind,
                                "choices": list(p.choices),
                                "doc": p.doc,
                            }
                            for p in f.params
                        ],
                        "notes": f.notes,
                    }
                    for f in seen
                ],
                indent=2,
            )
        )
        return 0

    def shown(value) -> str:
        return "auto" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    for f in seen:
        params = " ".join(f"{p.name}={shown(p.default)}" for p in f.params)
        print(f"{f.name:<14} {f.family:<6} {f.summary}" + (f"  [{params}]" if params else ""))
    return 0


def _generate(spec, output: Path) -> dict[str, Path]:
    """Build and write one unit; return ``{role: path}`` (roles of ``artifacts.UnitFiles``)."""
    from .artifacts import build_unit, write_files

    files = build_unit(spec)
    write_files(output, files)
    return {role: Path(output) / files.name(role) for role in files.ROLES}


def _cmd_generate(args) -> int:
    from .artifacts import UnitSpec

    spec = UnitSpec(
        function=args.function,
        in_format=args.in_format,
        out_format=args.out_format,
        method=args.method,
        max_err_lsb=args.max_err_lsb,
        params=_parse_params(args.param),
        lanes=args.lanes,
        stages=args.stages,
        name=args.name,
        rounding=args.rounding,
        overflow=args.overflow,
    )
    with progress(f"planning {spec.function} {spec.in_format} -> {spec.out_format}"):
        written = _generate(spec, args.output)
    manifest = json.loads(written["manifest"].read_text())
    for warning in manifest.get("warnings", []):
        print(f"hwact: warning: {warning}", file=sys.stderr)
    error = manifest["error"]
    print(
        f"{spec.top}: {manifest['function']} {manifest['in_format']} -> {manifest['out_format']}, "
        f"{manifest['lanes']} lane(s), latency {manifest['latency']}; max error {error['max_lsb']:.4g} LSB, "
        f"{100 * error['correctly_rounded_fraction']:.2f}% correctly rounded"
    )
    for path in written.values():
        print(f"  wrote {path}")
    return 0


def _simulate(manifest_path: Path, simulator: str, vectors, seed: int):
    from .artifacts import load_manifest
    from .verify import simulate

    manifest, plan = load_manifest(manifest_path)
    verilog = manifest_path.parent / manifest["files"]["verilog"]
    if not verilog.exists():
        raise ValueError(f"{verilog} does not exist (the manifest names it)")
    with progress(f"simulating {manifest['top']} on {simulator}"):
        result = simulate(
            plan,
            verilog,
            manifest["top"],
            lanes=manifest["lanes"],
            stages=manifest["stages"],
            simulator=simulator,
            vectors=vectors,
            seed=seed,
        )
    # A spot check never replaces the exhaustive proof's record.
    suffix = ".sim.json" if vectors == "exhaustive" else f".sim-{vectors}.json"
    out = manifest_path.with_name(manifest_path.name.removesuffix(".json") + suffix)
    from .artifacts import write_files

    write_files(out.parent, {out.name: json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n"})
    return manifest, result, out


def _cmd_sim(args) -> int:
    manifest, result, out = _simulate(args.manifest, args.simulator, args.vectors, args.seed)
    verdict = "PASS" if result.passed else "FAIL"
    print(
        f"{manifest['top']}: {result.vectors} vectors ({result.coverage}), {result.mismatches} mismatches "
        f"on {result.simulator} in {result.seconds:.1f} s: {verdict}"
    )
    for problem in result.protocol_errors[:3]:
        print(f"  stream rule broken: {problem}")
    for miss in result.first_mismatches[:3]:
        print(
            f"  transfer {miss['transfer']}: input {miss['input']:#x} expected {miss['expected']:#x} got {miss['got']}"
        )
    print(f"  wrote {out}")
    return 0 if result.passed else 1


def _cmd_demo(args) -> int:
    from .defaults import DEFAULT_UNITS

    rows, failed = [], 0
    for spec in DEFAULT_UNITS:
        written = _generate(spec, args.output)
        manifest, result, _ = _simulate(written["manifest"], "icarus", "exhaustive", 1)
        failed += not result.passed
        error = manifest["error"]
        rows.append(
            (
                spec.top,
                f"{spec.function}",
                f"{spec.in_format}->{spec.out_format}",
                spec.lanes,
                spec.stages,
                f"{error['max_lsb']:.3f}",
                f"{100 * error['correctly_rounded_fraction']:.1f}",
                result.vectors,
                result.mismatches,
                f"{result.seconds:.1f}",
            )
        )
    header = ("unit", "function", "formats", "lanes", "stages", "max LSB", "CR %", "vectors", "mismatches", "sim s")
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    print(f"{len(rows) - failed} of {len(rows)} units proven bit-exact on every input code; files in {args.output}")
    from .cfu.demo import demo_cfu  # the default CFU: built, proven on both buses and both cores

    failed += demo_cfu(args.output / "cfu")
    return 1 if failed else 0


def _sentence(message: str) -> str:
    """Messages after ``hwact: error:`` start in lower case (the Python API's may be capitalized)."""
    if len(message) > 1 and message[0].isupper() and message[1].islower():
        return message[0].lower() + message[1:]
    return message


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class progress:
    """Elapsed time on stderr while a long step runs, on a terminal only (never in pipes or CI logs).

    Nothing is shown for steps shorter than :attr:`AFTER` seconds; the line is erased at the end.
    """

    AFTER = 2.0

    def __init__(self, label: str, stream=None):
        self.label, self.stream = label, stream or sys.stderr
        self._done = None

    def __enter__(self):
        import threading
        import time

        if not getattr(self.stream, "isatty", lambda: False)():
            return self
        self._done = threading.Event()
        start = time.monotonic()

        def tick():
            shown = False
            while not self._done.wait(0.5):
                elapsed = time.monotonic() - start
                if elapsed >= self.AFTER:
                    self.stream.write(f"\r{self.label} ... {elapsed:.0f} s")
                    self.stream.flush()
                    shown = True
            if shown:
                self.stream.write("\r\033[K")
                self.stream.flush()

        self._thread = threading.Thread(target=tick, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._done is not None:
            self._done.set()
            self._thread.join()
        return False


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from .approx import PlanError
    from .fixed import FormatError
    from .functions import ParamError
    from .verify.runner import SimError

    try:
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # bare `hwact`: say what it can do
            parser.print_help()
            return 0
        handlers = {"list": _cmd_list, "generate": _cmd_generate, "sim": _cmd_sim, "demo": _cmd_demo}
        for module in _command_modules():
            handlers[module.COMMAND] = module.run
        handler = handlers[args.command]
        return handler(args)
    except UsageError as error:
        print(f"hwact: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`hwact list | head -1`): nothing left to say
        _silence_stdout()
        return 0
    except (FormatError, ParamError, PlanError, SimError, ValueError, TypeError, OSError) as error:
        if os.environ.get("HWACT_DEBUG"):
            raise
        print(
            f"hwact: error: {_sentence(str(error).splitlines()[0] if str(error) else type(error).__name__)}",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print("hwact: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
