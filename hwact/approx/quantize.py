"""Coefficient quantization and the nudge search on the integer datapath.

Fitted coefficients (real, powers of ``t``, output LSBs) become integers with enough fraction
bits that every Horner step but the last is exact; then each segment's constant and linear
terms are nudged by a few units to minimize the *measured* error over its codes.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..fixed import overflow, shift_round
from ..model import evaluate, row_of, segment_of, unfold
from ..plan import Plan
from ..widths import MODEL_BITS

__all__ = ["column_scales", "nudge_search", "product_bits", "quantize"]



def quantize(coef_t: np.ndarray, scales: list[int]) -> np.ndarray | None:
    """Integer coefficients, or None when one would not fit the model's int64.

    The products these coefficients enter are checked on the built plan
    (:func:`hwact.widths.model_overflow`); this only guards the conversion to int64.
    """
    scaled = np.round(coef_t * np.exp2(scales))
    return scaled.astype(np.int64) if np.all(np.abs(scaled) < 2.0 ** (MODEL_BITS - 1)) else None


def column_scales(degree: int, shift_bits: int, guard: int, exact_inner: bool = True) -> list[int]:
    """Fraction bits (beyond the output LSB) of each coefficient column, constant term first.

    The top term ``c_d * t**d`` with ``t < 2**shift_bits`` must carry ``guard`` bits below the
    output LSB, so ``c_d`` needs ``d * shift_bits`` more. The lower coefficients get as many,
    so every Horner step but the last is exact: one truncation of a polynomial that is
    monotone on its segment keeps the outputs monotone (truncating inside the Horner chain
    would let the accumulator jitter by a unit and flip roundings backwards).

    Without ``exact_inner``, ``c_k`` carries ``k * shift_bits`` more and every step drops
    ``shift_bits``: narrower products, for segments too long for the exact scheme.
    """
    if not exact_inner:
        return [guard + k * shift_bits for k in range(degree + 1)]
    return [guard] + [guard + degree * shift_bits] * degree


def product_bits(coef_t: np.ndarray, shift_bits: int, guard: int = 8) -> float:
    """Estimated widest Horner product of one segment under the rounded-inner scheme (float, quick)."""
    degree = len(coef_t) - 1
    magnitude = np.abs(coef_t) * np.exp2(guard + shift_bits * np.arange(degree + 1))
    acc, widest = magnitude[-1], 0.0
    for k in range(degree - 1, -1, -1):
        widest = max(widest, np.log2(acc + 1) + shift_bits)
        acc = acc + magnitude[k]
    return widest


def nudge_search(plan: Plan, target_codes: np.ndarray, target: np.ndarray, radius: int) -> Plan:
    """Nudge each segment's c0 (and c1) to minimize its measured error.

    Per segment: the fewest steps against the real function between adjacent codes, then the
    smallest maximum error, then the smallest mean error.

    Every trial moves all segments at once, so one evaluation per trial scores them all. For
    the table plans this module builds (one operand, no product), the part of the datapath
    before the constant term is computed once per ``c1`` trial and only the constant term and
    the output stage once per ``c0`` trial (:func:`_trial_outputs`); the outputs are those of
    :func:`hwact.model.evaluate`, which scores any other plan.
    """
    rows = np.asarray(plan.table.rows, dtype=np.int64)
    segment = row_of(plan, target_codes)
    n_seg = rows.shape[0]
    linear = [0] if rows.shape[1] == 1 else [-1, 0, 1]
    best_score = np.full(n_seg, np.inf)
    best_rows = rows.copy()
    count = np.maximum(np.bincount(segment, minlength=n_seg), 1)
    rise = np.diff(target)
    # Per-segment maxima by one sorted pass (np.maximum.at is slow); empty segments keep 0.
    order = np.argsort(segment, kind="stable")
    present = np.nonzero(np.bincount(segment, minlength=n_seg))[0]
    firsts = np.searchsorted(segment[order], present)
    for trial, output in _trial_outputs(plan, rows, target_codes, segment, linear, radius):
        err = np.abs(output - target)
        worst = np.zeros(n_seg)
        if present.size:
            worst[present] = np.maximum.reduceat(err[order], firsts)
        total = np.bincount(segment, weights=err, minlength=n_seg)
        # A step against the real function (codes are sorted) is charged to the later code's segment.
        against = (np.diff(output) * rise < 0).astype(np.float64)
        backwards = np.bincount(segment[1:], weights=against, minlength=n_seg)
        score = worst + 1e-3 * total / count + backwards
        better = score < best_score
        best_score = np.where(better, score, best_score)
        best_rows[better] = trial()[better]
    return replace(plan, table=replace(plan.table, rows=tuple(map(tuple, best_rows.tolist()))))


def _trial_rows(rows: np.ndarray, d1: int, d0: int) -> np.ndarray:
    trial = rows.copy()
    trial[:, 0] += d0
    if rows.shape[1] > 1:
        trial[:, 1] += d1
    return trial


def _trial_outputs(plan: Plan, rows: np.ndarray, codes: np.ndarray, segment: np.ndarray, linear: list[int],
                   radius: int):
    """``(rows of the trial (a callable), outputs at codes)`` for every trial, in the search's order."""
    simple = (plan.product is None and plan.operand_fmt is None and not plan.mirror and not plan.maximum
              and not plan.table.operand)
    if not simple:
        for d1 in linear:
            for d0 in range(-radius, radius + 1):
                trial = _trial_rows(rows, d1, d0)
                candidate = replace(plan, table=replace(plan.table, rows=tuple(map(tuple, trial.tolist()))))
                yield (lambda trial=trial: trial), evaluate(candidate, codes)
        return
    # As hwact.model.evaluate, step by step: clamp, fold, select, Horner up to the constant term.
    x = codes
    if plan.clamp is not None:
        x = np.clip(x, plan.clamp.lo, plan.clamp.hi)
    negative = None
    if plan.fold is not None:
        negative = x < 0
        x = np.abs(x)
    _, t = segment_of(plan, x)
    degree = plan.table.degree
    out = plan.output
    fmt = plan.out_fmt
    for d1 in linear:
        coef = _trial_rows(rows, d1, 0)[segment]
        if degree == 0:
            before = np.zeros(len(codes), dtype=np.int64)
        else:
            before = coef[..., degree]
            for step, k in zip(plan.horner, range(degree - 1, -1, -1)):
                before = shift_round(before * t, step.shift, step.rounding)
                if k:
                    before = before + coef[..., k]
        base = before + coef[..., 0]
        for d0 in range(-radius, radius + 1):
            acc = base + d0
            if negative is not None:
                acc = np.where(negative, unfold(plan.fold, acc, x), acc)
            if out.shift < 0 and out.overflow != "WRAP":
                acc = np.clip(acc, (fmt.min_code >> -out.shift) - 1, (fmt.max_code >> -out.shift) + 1)
            output = overflow(shift_round(acc, out.shift, out.rounding), fmt, out.overflow)
            yield (lambda d1=d1, d0=d0: _trial_rows(rows, d1, d0)), output
