"""Verilog export with a fixed port list and no source paths."""

from __future__ import annotations

import re

from amaranth.back import verilog
from amaranth.hdl import ClockDomain, Fragment, Value
from amaranth.lib import wiring

__all__ = ["to_verilog", "check_module_name"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_module_name(name: str) -> str:
    """Return ``name`` if it is a plain Verilog identifier, else raise ``ValueError``."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"Module name must be a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*), not {name!r}")
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
