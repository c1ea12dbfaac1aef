"""Firmware runs of a built CFU on real RISC-V cores in simulation (VexRiscv and PicoRV32).

:func:`run_firmware` generates the test data and the per-unit glue for ``sim/firmware/cfu_test.c``,
compiles it with Debian's ``riscv64-unknown-elf-gcc -march=rv32im -mabi=ilp32`` against
``hwact_cfu.h`` twice (instruction, and ``HWACT_SOFTWARE`` fallback), links it with picolibc,
simulates the SoC wrapper of ``sim/soc`` with Icarus (or Verilator) and parses the words the
firmware dumped. The caller compares them with the model (:func:`expected_outputs`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..cache import atomic_copy, cache_dir
from ..fixed import Fmt
from ..model import evaluate
from .config import split_function_id
from .header import c_type
from .sim import SIM_DIR, LoadedCfu, edge_codes

__all__ = [
    "CORES",
    "FirmwareRun",
    "UnitResult",
    "compile_firmware",
    "core_sources",
    "dense_case",
    "expected_outputs",
    "run_firmware",
    "simulate_soc",
    "toolchain",
    "unit_inputs",
    "unused_function_id",
]

#: Core name -> (SoC wrapper, top module, the CFU file it instantiates).
CORES = {
    "vexriscv": ("vexriscv_soc.v", "vexriscv_soc", "Cfu.v"),
    "picorv32": ("picorv32_soc.v", "picorv32_soc", "CfuPcpi.v"),
}
#: Per core: PicoRV32 has no CSRs for mtvec or the CFU enable (hwact_cfu.h, crt0.S).
CORE_DEFINES = {"vexriscv": (), "picorv32": ("-DHWACT_CFU_PCPI",)}
CFLAGS = ["-march=rv32im", "-mabi=ilp32", "-O2", "-ffreestanding", "-fno-builtin", "-Wall", "-Wextra", "-Werror",
          "-std=gnu99"]
PICOLIBC = Path("/usr/lib/picolibc/riscv64-unknown-elf/lib/release/rv32im/ilp32")
PICOLIBC_INCLUDE = Path("/usr/lib/picolibc/riscv64-unknown-elf/include")
DENSE_IN, DENSE_OUT = 64, 16


def core_sources(core: str) -> list[Path]:
    """The core's Verilog from its PyPI package (never copied into the repository)."""
    if core == "vexriscv":
        import pythondata_cpu_vexriscv

        return [Path(pythondata_cpu_vexriscv.data_location) / "VexRiscv_FullCfu.v"]
    if core == "picorv32":
        import pythondata_cpu_picorv32

        return [Path(pythondata_cpu_picorv32.data_location) / "picorv32.v"]
    raise ValueError(f"core must be one of {', '.join(CORES)}, not {core!r}")


def toolchain() -> dict[str, str]:
    """The RISC-V tools, or a one-line error naming the Debian packages."""
    tools = {}
    for tool in ("gcc", "objcopy", "size"):
        found = shutil.which(f"riscv64-unknown-elf-{tool}")
        if found is None:
            raise RuntimeError(f"riscv64-unknown-elf-{tool} not found (Debian: gcc-riscv64-unknown-elf)")
        tools[tool] = found
    if not PICOLIBC.is_dir():
        raise RuntimeError(f"{PICOLIBC} not found (Debian: picolibc-riscv64-unknown-elf)")
    return tools


def libgcc_dir(gcc: str) -> Path:
    """Debian gcc's rv32im/ilp32 libgcc (the multilib that matches -march=rv32im)."""
    out = subprocess.run([gcc, "-march=rv32im", "-mabi=ilp32", "-print-libgcc-file-name"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return Path(out).parent


# -- test data ---------------------------------------------------------------------------------


def unit_inputs(op, count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """Edge codes then random codes of the unit's input (and operand), ``count`` of each."""
    plan = op.plan
    x = np.concatenate([edge_codes(plan.in_fmt),
                        rng.integers(plan.in_fmt.min_code, plan.in_fmt.max_code, size=count, endpoint=True)])[:count]
    if plan.operand_fmt is None:
        return x, None
    a_edges = edge_codes(plan.operand_fmt)
    a = np.concatenate([np.resize(a_edges, len(x) // 2),
                        rng.integers(plan.operand_fmt.min_code, plan.operand_fmt.max_code, size=count,
                                     endpoint=True)])[:count]
    return x, a


def dense_case(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The dense layer's input (s4.4 codes), weights (s1.7 codes) and int32 biases, from a seed."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, size=DENSE_IN, endpoint=True)
    w = rng.integers(-48, 48, size=(DENSE_OUT, DENSE_IN), endpoint=True)
    b = rng.integers(-2048, 2048, size=DENSE_OUT, endpoint=True)
    return x, w, b


def dense_model(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The firmware's dense layer in NumPy: ``saturate_int8((W x + b + 64) >> 7)``."""
    acc = w.astype(np.int64) @ x.astype(np.int64) + b
    return np.clip((acc + 64) >> 7, -128, 127)


def expected_outputs(op, x: np.ndarray, a: np.ndarray | None) -> np.ndarray:
    """The model's output codes in the order the array helper writes them (mirror: f(x), f(-x))."""
    return np.asarray(evaluate(op.plan, x, a)).reshape(-1)


def _c_array(ctype: str, name: str, values) -> str:
    body = ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1))
    return f"const {ctype} {name}[] __attribute__((aligned(4))) = {{{body}}};\n"


def _words(fmt: Fmt, count: int) -> int:
    size = {8: 1, 16: 2, 32: 4}[int(c_type(fmt).removeprefix("u").removeprefix("int").removesuffix("_t"))]
    return -(-count * size // 4)


def plain_ops(cfu: LoadedCfu) -> tuple:
    """The ops this firmware proves: all but the fused requantize ops (``hwact.cfu.requant_firmware``)."""
    return tuple(op for op in cfu.ops if op.requant is None)


def _choose_dense_unit(cfu: LoadedCfu) -> int | None:
    """The activation after the dense layer (an index into :func:`plain_ops`), or None if none fits.

    GELU on s4.4 when the CFU has it, else any s4.4 unit, else any one-operand unit with a signed
    8-bit input (an affine ``int8(scale=...)`` one included: the layer's int8 codes are its codes).
    """
    ops = plain_ops(cfu)
    fits = [i for i, op in enumerate(ops) if op.plan.operand_fmt is None and not op.plan.mirror
            and op.plan.in_fmt.width == 8 and op.plan.in_fmt.signed]
    ranked = sorted(fits, key=lambda i: (str(ops[i].plan.in_fmt) != "s4.4", ops[i].plan.function != "gelu"))
    return ranked[0] if ranked else None


def unused_function_id(cfu: LoadedCfu) -> int:
    """The highest function id with no unit and not the discovery id (the proofs' unknown id)."""
    taken = {op.function_id for op in cfu.ops} | {cfu.discovery_id}
    return next(i for i in range(1023, -1, -1) if i not in taken)


@dataclass
class FirmwareInputs:
    """What the firmware processes: per unit ``(x, a)``, and the dense layer's data."""

    units: list[tuple[np.ndarray, np.ndarray | None]]
    dense: tuple[np.ndarray, np.ndarray, np.ndarray]
    dense_unit: int | None  # None: no unit takes the dense layer's int8 codes, no dense layer
    unknown_id: int


def make_inputs(cfu: LoadedCfu, count: int, seed: int) -> FirmwareInputs:
    rng = np.random.default_rng(seed)
    return FirmwareInputs([unit_inputs(op, count, rng) for op in plain_ops(cfu)], dense_case(seed),
                          _choose_dense_unit(cfu), unused_function_id(cfu))


def generate_sources(cfu: LoadedCfu, inputs: FirmwareInputs, work: Path) -> None:
    """Write ``fw_data.h``, ``fw_data.c`` and ``fw_units.c`` for ``cfu_test.c`` into ``work``."""
    ops = plain_ops(cfu)
    out_words = []
    for op, (x, _) in zip(ops, inputs.units):
        out_words.append(_words(op.plan.out_fmt, len(x) * op.plan.outputs))
    has_dense = inputs.dense_unit is not None
    dense_words = _words(ops[inputs.dense_unit].plan.out_fmt, DENSE_OUT) if has_dense else 0
    header = [
        "/* Generated by hwact.cfu.firmware for cfu_test.c. */",
        "#ifndef FW_DATA_H", "#define FW_DATA_H", "#include <stdint.h>",
        "typedef void (*fw_unit_fn)(const void *x, const void *a, void *y, uint32_t n);",
        "struct fw_unit { const void *x; const void *a; uint32_t n; uint32_t out_words; };",
        f"#define FW_UNITS {len(ops)}",
        f"#define FW_MAX_WORDS {max([*out_words, dense_words, 1])}",
        f"#define FW_DENSE_IN {DENSE_IN}", f"#define FW_DENSE_OUT {DENSE_OUT}",
        f"#define FW_DENSE_UNIT {inputs.dense_unit if has_dense else -1}", f"#define FW_DENSE_WORDS {dense_words}",
        "extern const struct fw_unit FW_UNIT[];",
        "extern const fw_unit_fn units_hw[];", "extern const fw_unit_fn units_sw[];",
        "extern const int8_t FW_DENSE_X[];", "extern const int8_t FW_DENSE_W[];", "extern const int32_t FW_DENSE_B[];",
        "void cfu_hw_init(void);", "uint32_t cfu_hw_discover(void);", "uint32_t cfu_hw_unknown(void);",
        "#endif", "",
    ]
    (work / "fw_data.h").write_text("\n".join(header))
    data = ['#include "fw_data.h"\n']
    entries = []
    for index, (op, (x, a), words) in enumerate(zip(ops, inputs.units, out_words)):
        data.append(_c_array(c_type(op.plan.in_fmt), f"x_{index}", x))
        if a is not None:
            data.append(_c_array(c_type(op.plan.operand_fmt), f"a_{index}", a))
        entries.append(f"    {{x_{index}, {f'a_{index}' if a is not None else '0'}, {len(x)}u, {words}u}},")
    x, w, b = inputs.dense
    data.append(_c_array("int8_t", "FW_DENSE_X", x))
    data.append(_c_array("int8_t", "FW_DENSE_W", w))
    data.append(_c_array("int32_t", "FW_DENSE_B", b))
    data.append("const struct fw_unit FW_UNIT[] = {\n" + "\n".join(entries) + "\n};\n")
    (work / "fw_data.c").write_text("".join(data))
    units = ['/* Generated: each unit\'s array helper behind one signature; compiled twice (FW_TABLE). */',
             '#include "hwact_cfu.h"', '#include "fw_data.h"', ""]
    for op in ops:
        plan = op.plan
        x_t, y_t = c_type(plan.in_fmt), c_type(plan.out_fmt)
        call = (f"hwact_cfu_{op.name}_array((const {x_t} *)x, (const {c_type(plan.operand_fmt)} *)a, ({y_t} *)y, n);"
                if plan.operand_fmt is not None else
                f"(void)a;\n    hwact_cfu_{op.name}_array((const {x_t} *)x, ({y_t} *)y, n);")
        units += [f"static void run_{op.name}(const void *x, const void *a, void *y, uint32_t n)", "{",
                  f"    {call}", "}"]
    units += ["const fw_unit_fn FW_TABLE[] = {", *(f"    run_{op.name}," for op in ops), "};", "",
              "#ifndef HWACT_SOFTWARE",
              "void cfu_hw_init(void) { hwact_cfu_enable(); }",
              "uint32_t cfu_hw_discover(void) { return hwact_cfu_discover(); }",
              "uint32_t cfu_hw_unknown(void)", "{", "    uint32_t rd;",
              "    HWACT_CFU_INSN({}, {}, rd, 0x12345678u, 0x9abcdef0u);".format(*split_function_id(inputs.unknown_id)),
              "    return rd;", "}", "#endif", ""]
    (work / "fw_units.c").write_text("\n".join(units))


def write_unit_headers(cfu: LoadedCfu, work: Path) -> None:
    """Write the C backend's ``NAME.h`` into ``work`` for every unit whose directory lacks it."""
    for op in cfu.ops:
        if not (cfu.directory / f"{op.name}.h").exists():
            from ..cgen import c_header

            (work / f"{op.name}.h").write_text(c_header(op.plan, op.name, op.lanes,
                                                        error=cfu.manifests[op.name]["error"]))


def compile_firmware(cfu_dir: Path, work: Path, main: Path | None = None, extra_sources: tuple[Path, ...] = (),
                     defines: tuple[str, ...] = (), link_script: Path | None = None,
                     array_sources: bool = True, startup: Path | None = None) -> tuple[Path, dict[str, int]]:
    """Compile and link ``main`` (default ``sim/firmware/cfu_test.c``); return the hex image and sizes.

    ``link_script`` replaces ``sim/firmware/link.ld`` (the FPGA SoCs link code into ROM). With
    ``array_sources``, ``fw_data.c`` and ``fw_units.c`` (:func:`generate_sources`) are linked in
    when ``work`` has them; a firmware of its own (the board proof) says False, so files of an
    earlier build in the same folder stay out of its image. ``startup`` replaces
    ``sim/firmware/crt0.S`` (a SoC with another I/O map: bench/litex_sim.py).
    """
    tools = toolchain()
    firmware = SIM_DIR / "firmware"
    main = main or firmware / "cfu_test.c"
    includes = [f"-I{work}", f"-I{cfu_dir}", f"-I{firmware}", "-isystem", str(PICOLIBC_INCLUDE)]
    objects = []

    def cc(source: Path, obj: str, *flags: str) -> None:
        command = [tools["gcc"], *CFLAGS, *includes, *defines, *flags, "-c", str(source), "-o", str(work / obj)]
        result = subprocess.run(command, check=False, capture_output=True, text=True)
        if result.returncode:
            first = result.stderr.strip().splitlines()[0] if result.stderr else ""
            raise RuntimeError(f"compiling {source.name} failed: {first}"
                               + "\n" + result.stderr)
        objects.append(str(work / obj))

    cc(startup or firmware / "crt0.S", "crt0.o")
    cc(main, "main.o")
    for source in extra_sources:
        cc(source, source.with_suffix(".o").name)
    if array_sources and (work / "fw_data.c").exists():
        cc(work / "fw_data.c", "fw_data.o")
        cc(work / "fw_units.c", "fw_units_hw.o", "-DFW_TABLE=units_hw")
        cc(work / "fw_units.c", "fw_units_sw.o", "-DFW_TABLE=units_sw", "-DHWACT_SOFTWARE")
    elf = work / "firmware.elf"
    link = [tools["gcc"], *CFLAGS, "-nostdlib", "-nostartfiles", "-Wl,--no-warn-rwx-segments",
            "-T", str(link_script or firmware / "link.ld"), *objects,
            f"-L{PICOLIBC}", f"-L{libgcc_dir(tools['gcc'])}", "-lm", "-lc", "-lgcc", "-o", str(elf)]
    result = subprocess.run(link, check=False, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"linking the firmware failed: {result.stderr.strip()}")
    binary = work / "firmware.bin"
    subprocess.run([tools["objcopy"], "-O", "binary", str(elf), str(binary)], check=True)
    raw = binary.read_bytes()
    raw += b"\0" * (-len(raw) % 4)
    if len(raw) > 64 * 1024:
        raise RuntimeError(f"the firmware needs {len(raw)} bytes, more than the SoC's 64 KiB")
    words = np.frombuffer(raw, dtype="<u4")
    image = work / "firmware.hex"
    image.write_text("".join(f"{w:08x}\n" for w in words))
    printed = subprocess.run([tools["size"], str(elf)], capture_output=True, text=True, check=True).stdout
    sizes = printed.split("\n")[1].split()
    return image, {"text": int(sizes[0]), "data": int(sizes[1]), "bss": int(sizes[2])}


#: Verilator's options for a SoC model (a timing-aware binary that reads its plusargs).
SOC_VERILATOR_FLAGS = ("--binary", "-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--timing",
                       "-CFLAGS", "-fcoroutines",
                       # the wheel's make rules leave the precompiled-header flag empty
                       "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", "-j", "1")


def _soc_cache_key(verilator: Path, top: str, soc: Path, sources: list[str]) -> str:
    """What a built SoC model is a function of: Verilator, its options, every Verilog input."""
    digest = hashlib.sha256()
    stat = verilator.resolve().stat()
    digest.update(f"{verilator.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{top}\0".encode())
    digest.update("\0".join(SOC_VERILATOR_FLAGS).encode())
    for path in [*sources, *sorted(str(p) for p in soc.glob("*.vh"))]:
        digest.update(b"\0" + Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    return digest.hexdigest()[:32]


def _build_soc_model(core: str, top: str, soc: Path, sources: list[str], binary: Path) -> None:
    """Build the Verilator model of a SoC into ``binary``, or copy it from the cache.

    A built model depends only on Verilator, its options and the Verilog (the wrapper, the
    core, the CFU, the included files), never on the firmware: it is kept in
    ``$XDG_CACHE_HOME/hwact/soc-models`` (``HWACT_CACHE_DIR`` moves it) under a hash of all of
    them, so a model is compiled once per CFU, core and Verilator, whatever the session.
    """
    from ..verify.runner import verilator_bin, verilator_build_env

    verilator = Path(verilator_bin()) / "verilator"
    cached = cache_dir("soc-models") / f"{_soc_cache_key(verilator, top, soc, sources)}-V{top}"
    binary.parent.mkdir(parents=True, exist_ok=True)
    if cached.exists():
        try:
            shutil.copy2(cached, binary)
            return
        except OSError:
            pass
    # The C++ run-time library (verilated*.cpp) comes from the object cache of hwact.verify.
    result = subprocess.run([str(verilator), *SOC_VERILATOR_FLAGS, "-I" + str(soc), "--top-module", top,
                             "-Mdir", str(binary.parent), *sources],
                            check=False, capture_output=True, text=True, env={**os.environ, **verilator_build_env()})
    if result.returncode or not binary.exists():
        raise RuntimeError(f"verilator could not build the {core} SoC: {result.stderr.strip()[-500:]}")
    with contextlib.suppress(OSError):
        atomic_copy(binary, cached)  # a concurrent build never sees half a binary


def simulate_soc(core: str, cfu_dir: Path, image: Path, work: Path, *, simulator: str = "icarus",
                 max_cycles: int = 3_000_000) -> tuple[int, int, list[str]]:
    """Run ``image`` on ``core``; return ``(exit status, cycles, dumped lines)``."""
    # The simulator runs in ``work``: every path handed to it must be absolute.
    cfu_dir, image, work = Path(cfu_dir).resolve(), Path(image).resolve(), Path(work).resolve()
    wrapper, top, cfu_file = CORES[core]
    soc = SIM_DIR / "soc"
    sources = [str(soc / wrapper), *(str(p) for p in core_sources(core)), str(cfu_dir / cfu_file)]
    dump, status = work / f"{core}.dump", work / f"{core}.status"
    plusargs = [f"+firmware={image}", f"+dump={dump}", f"+status={status}", f"+max_cycles={max_cycles}"]
    if simulator == "icarus":
        for tool in ("iverilog", "vvp"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"`{tool}` not found (Debian package iverilog)")
        vvp = work / f"{core}.vvp"
        result = subprocess.run(["iverilog", "-g2012", "-I", str(soc), "-s", top, "-o", str(vvp), *sources],
                                check=False, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"iverilog could not build the {core} SoC: {result.stderr.strip()[:500]}")
        run = subprocess.run(["vvp", "-n", str(vvp), *plusargs], check=False, capture_output=True, text=True, cwd=work)
    elif simulator == "verilator":
        binary = work / f"obj_dir_{core}" / f"V{top}"
        if not binary.exists():  # the model does not depend on the firmware: built once per directory
            _build_soc_model(core, top, soc, sources, binary)
        run = subprocess.run([str(binary), *plusargs], check=False, capture_output=True, text=True, cwd=work)
    else:
        raise ValueError(f"simulator must be icarus or verilator, not {simulator!r}")
    if not status.exists():
        raise RuntimeError(f"the {core} simulation ended without a status: {(run.stdout + run.stderr).strip()[-300:]}")
    code, cycles = (int(v) for v in status.read_text().split())
    lines = dump.read_text().split() if dump.exists() else []
    return code, cycles, lines


@dataclass
class UnitResult:
    """One unit's firmware run: inputs, what the instruction and the fallback gave, and cycles."""

    name: str
    x: np.ndarray
    a: np.ndarray | None
    hw: np.ndarray
    sw: np.ndarray
    expected: np.ndarray
    cycles_hw: int
    cycles_sw: int

    @property
    def hw_matches(self) -> bool:
        return bool(np.array_equal(self.hw, self.expected))

    @property
    def sw_matches(self) -> bool:
        return bool(np.array_equal(self.sw, self.expected))


@dataclass
class FirmwareRun:
    """Everything one firmware run on one core reported."""

    core: str
    status: int
    cycles: int
    discovery: int
    unknown: int
    units: list[UnitResult]
    dense: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        # No dense layer ({}) only when no unit of the CFU takes int8 codes (see _choose_dense_unit).
        return (self.status == 0 and all(u.hw_matches and u.sw_matches for u in self.units)
                and (not self.dense or (self.dense.get("hw_matches", False) and self.dense.get("sw_matches", False))))


def _codes(words: list[int], fmt: Fmt, count: int) -> np.ndarray:
    ctype = c_type(fmt)
    dtype = np.dtype(("<" if ctype[-3:] != "8_t" else "") + ("u" if ctype.startswith("u") else "i")
                     + str(int(ctype.removeprefix("u").removeprefix("int").removesuffix("_t")) // 8))
    raw = np.array(words, dtype="<u4").tobytes()
    return np.frombuffer(raw, dtype=dtype)[:count].astype(np.int64)


def run_firmware(cfu: LoadedCfu, core: str, work: Path, *, count: int = 32, seed: int = 1,
                 simulator: str = "icarus", defines: tuple[str, ...] | None = None, link_script: Path | None = None,
                 simulate=None) -> FirmwareRun:
    """Build the proof firmware for ``cfu`` and run it on ``core``; parse and model-check the dump.

    ``defines`` (extra compiler flags; default the core's), ``link_script`` and ``simulate``
    (``simulate(image, work) -> (status, cycles, lines)`` instead of :func:`simulate_soc`) let
    other SoCs (``hwact.soc``: the FPGA SoCs and their gate-level netlists) run the same proof.
    """
    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(cfu, count, seed)
    generate_sources(cfu, inputs, work)
    write_unit_headers(cfu, work)
    image, sizes = compile_firmware(cfu.directory, work, defines=CORE_DEFINES[core] if defines is None else defines,
                                    link_script=link_script)
    if simulate is None:
        status, cycles, lines = simulate_soc(core, cfu.directory, image, work, simulator=simulator)
    else:
        status, cycles, lines = simulate(image, work)
    words = [int(line, 16) for line in lines]
    if status & 0x80 or len(words) < 2:
        raise RuntimeError(f"the firmware trapped on {core} (status {status:#x}, dump {[hex(w) for w in words[-2:]]})")
    position = 0

    def take(n: int) -> list[int]:
        nonlocal position
        chunk = words[position:position + n]
        if len(chunk) != n:
            raise RuntimeError(f"the {core} firmware dump ends early ({len(words)} words)")
        position += n
        return chunk

    discovery, unknown = take(2)
    units = []
    for op, (x, a) in zip(plain_ops(cfu), inputs.units):
        n_out = len(x) * op.plan.outputs
        n_words = _words(op.plan.out_fmt, n_out)
        cycles_hw, cycles_sw = take(2)
        hw = _codes(take(n_words), op.plan.out_fmt, n_out)
        sw = _codes(take(n_words), op.plan.out_fmt, n_out)
        units.append(UnitResult(op.name, x, a, hw, sw, expected_outputs(op, x, a), cycles_hw, cycles_sw))
    dense = {}
    if inputs.dense_unit is not None:
        dense_op = plain_ops(cfu)[inputs.dense_unit]
        c_dense, c_hw, c_sw = take(3)
        pre = _codes(take(DENSE_OUT // 4), Fmt.parse("int8"), DENSE_OUT)
        n_words = _words(dense_op.plan.out_fmt, DENSE_OUT)
        hw = _codes(take(n_words), dense_op.plan.out_fmt, DENSE_OUT)
        sw = _codes(take(n_words), dense_op.plan.out_fmt, DENSE_OUT)
        pre_model = dense_model(*inputs.dense)
        y_model = expected_outputs(dense_op, pre_model, None)
        dense = {"unit": dense_op.name, "cycles_dense": c_dense, "cycles_activation": c_hw,
                 "cycles_activation_sw": c_sw, "activation_share": c_hw / (c_dense + c_hw),
                 "activation_share_sw": c_sw / (c_dense + c_sw), "pre_matches": bool(np.array_equal(pre, pre_model)),
                 "hw_matches": bool(np.array_equal(hw, y_model) and np.array_equal(pre, pre_model)),
                 "sw_matches": bool(np.array_equal(sw, y_model) and np.array_equal(pre, pre_model))}
    return FirmwareRun(core, status, cycles, discovery, unknown, units, dense, sizes)
