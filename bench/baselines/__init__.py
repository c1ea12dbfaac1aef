"""Activation units the field already uses, re-implemented from their published descriptions.

Each baseline is a bit-accurate NumPy model on integer codes (input and output formats stated
as hwact :class:`~hwact.fixed.Fmt`), the real function it stands for, its table size, and, where
the baseline is hardware, a Verilog module of the same arithmetic so it can be synthesized next
to hwact's unit. Nothing here is copied from those projects; each module says which published
description it follows and how the description was read where it leaves a choice open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwact.fixed import Fmt

__all__ = ["Baseline", "all_baselines"]


@dataclass(frozen=True)
class Baseline:
    """One baseline unit.

    ``evaluate`` maps input codes of ``in_fmt`` to output codes of ``out_fmt``; ``function``
    names the real function (hwact's name) it approximates, with ``params``.
    """

    name: str
    source: str
    function: str
    in_fmt: Fmt
    out_fmt: Fmt
    evaluate: Callable[[np.ndarray], np.ndarray]
    table_bits: int
    hardware: bool
    verilog: Callable[[str], str] | None = None
    params: tuple[tuple[str, object], ...] = ()
    note: str = ""


def all_baselines() -> list[Baseline]:
    """Every baseline, in the order the comparison lists them."""
    from . import hard, hls4ml, plan_sigmoid, pulp, tflite

    return [*hls4ml.baselines(), *pulp.baselines(), plan_sigmoid.baseline(), *tflite.baselines(), *hard.baselines()]
