"""Compatibility alias: the measurement moved to :mod:`hwact.measure` (the core, no heavy imports)."""

from ..measure import (
                       EXHAUSTIVE_LIMIT_BITS,
                       OPERAND_SAMPLES,
                       REPORT_LIMIT_BITS,
                       TIE_TOLERANCE,
                       ErrorStats,
                       input_grid,
                       measure,
                       reference,
                       report,
                       segment_edges,
)

__all__ = [
                       "EXHAUSTIVE_LIMIT_BITS",
                       "OPERAND_SAMPLES",
                       "REPORT_LIMIT_BITS",
                       "TIE_TOLERANCE",
                       "ErrorStats",
                       "input_grid",
                       "measure",
                       "reference",
                       "report",
                       "segment_edges",
]
