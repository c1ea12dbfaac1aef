"""Reports: measured error against the real function (and, later, resources and plots)."""

from .accuracy import ErrorStats, input_grid, measure, report
from .cost import plan_cost

__all__ = ["ErrorStats", "input_grid", "measure", "plan_cost", "report"]
