"""Reports: measured error against the real function (and, later, resources and plots)."""

from .accuracy import ErrorStats, input_grid, measure

__all__ = ["ErrorStats", "input_grid", "measure"]
