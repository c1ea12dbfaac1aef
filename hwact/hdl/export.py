"""Verilog export with a fixed port list and no source paths."""

from __future__ import annotations

import re

from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Fragment, Value
from amaranth.lib import wiring

__all__ = ["to_verilog", "check_module_name"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


#: Verilog-2005 and SystemVerilog keywords: a module by one of these names would need escaping
#: (``\\module``), which no user wants in a file name or an instance.
VERILOG_KEYWORDS = frozenset("""
    always and assign automatic begin buf bufif0 bufif1 case casex casez cell cmos config deassign default
    defparam design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
    endspecify endtable endtask event for force forever fork function generate genvar highz0 highz1 if
    ifnone incdir include initial inout input instance integer join large liblist library localparam
    macromodule medium module nand negedge nmos nor noshowcancelled not notif0 notif1 or output parameter
    pmos posedge primitive pull0 pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent rcmos real
    realtime reg release repeat rnmos rpmos rtran rtranif0 rtranif1 scalared showcancelled signed small
    specify specparam strong0 strong1 supply0 supply1 table task time tran tranif0 tranif1 tri tri0 tri1
    triand trior trireg unsigned use uwire vectored wait wand weak0 weak1 while wire wor xnor xor
    always_comb always_ff always_latch assert bit byte class const enum export extern final import int
    interface logic longint modport package program property return shortint static string struct
    typedef union unique var void
""".split())


def check_module_name(name: str) -> str:
    """Return ``name`` if it is a plain Verilog identifier, else raise ``ValueError``."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"module name must be a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*), not {name!r}")
    if name in VERILOG_KEYWORDS:
        raise ValueError(f"module name must not be a Verilog keyword, not {name!r}")
    return name


def to_verilog(component: wiring.Component, name: str, *, reset: str = "rst") -> str:
    """Verilog text for ``component`` as module ``name``.

    The module always has ports ``clk`` and ``reset`` (named ``rst`` unless told otherwise;
    the CFU bus calls it ``reset``) first, then the component's signature members under their
    own names, even when it is combinational (they are then unused), so every unit drops into
    the same wrapper. The text is deterministic: the same component gives the same bytes.
    """
    check_module_name(name)
    check_module_name(reset)
    sync = ClockDomain("sync")
    fragment = Fragment.get(component, None)
    fragment.add_domains(sync)
    ports = [("clk", sync.clk, None), (reset, sync.rst, None)]
    ports += [(None, Value.cast(value), None) for _, _, value in component.signature.flatten(component)]
    return verilog.convert(fragment, name=name, ports=ports, emit_src=False)
