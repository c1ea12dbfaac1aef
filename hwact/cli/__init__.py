"""The ``hwact`` command line (docs/guide.md): one module per command.

Every command module has ``COMMAND`` (its name), ``add_parser(commands)`` (adds its
subparser) and ``run(args) -> int``; heavy imports stay inside ``run``. Every failure the user
can cause ends with one line on stderr (``hwact: error: ...``) and a non-zero exit: 2 for a
malformed command line, 1 for everything else (including a simulation with mismatches), 130
when interrupted (Ctrl-C or SIGTERM, after removing any partial output and temporary
folders). Set ``HWACT_DEBUG=1`` to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import warnings

from .options import UsageError
from .progress import Progress

__all__ = ["COMMANDS", "Progress", "UsageError", "build_parser", "main"]

#: The command modules, in the order ``hwact --help`` lists them.
COMMANDS: tuple[str, ...] = ("listing", "generate", "sim", "demo", "report", "explore", "cfu", "soc")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(message)


def _modules():
    return [importlib.import_module(f"{__name__}.{name}") for name in COMMANDS]


def build_parser() -> argparse.ArgumentParser:
    """The whole ``hwact`` argument parser."""
    from .. import __version__

    parser = _Parser(prog="hwact", description="Activation functions as bit-accurate hardware: a fixed-point "
                     "model, Verilog, a proof that the two agree, and a RISC-V custom-instruction unit.",
                     epilog="`hwact COMMAND --help` describes a command. Docs: docs/guide.md.")
    parser.add_argument("--version", action="version", version=f"hwact {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in _modules():
        module.add_parser(commands)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail on a closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _terminated(signum, frame):
    # SIGTERM unwinds like Ctrl-C, so every `finally` removes its temporary folder and partial output.
    raise KeyboardInterrupt


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"hwact: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from ..approx import PlanError
    from ..fixed import FormatError
    from ..functions import ParamError
    from ..verify.runner import SimError

    try:
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        with warnings.catch_warnings():
            from ..artifacts import SpecNotice

            warnings.simplefilter("always", SpecNotice)
            warnings.showwarning = _show_warning
            parser = build_parser()
            args = parser.parse_args(argv)
            if args.command is None:  # bare `hwact`: say what it can do
                parser.print_help()
                return 0
            handlers = {module.COMMAND: module.run for module in _modules()}
            return handlers[args.command](args)
    except UsageError as error:
        print(f"hwact: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`hwact list | head -1`): nothing left to say
        _silence_stdout()
        return 0
    except (FormatError, ParamError, PlanError, SimError, ValueError, TypeError, OSError, RuntimeError) as error:
        if os.environ.get("HWACT_DEBUG"):
            raise
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"hwact: error: {text}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hwact: interrupted", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
