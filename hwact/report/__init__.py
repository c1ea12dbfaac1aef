"""Reports: the presentation layer (Markdown, HTML, JSON, plots, synthesis).

Nothing heavy is imported here: matplotlib and the yowasp tools load only inside the
functions that make a report. The measurement itself lives in :mod:`hwact.measure`; its
names are re-exported for older callers.
"""

from ..measure import ErrorStats, input_grid, measure, report
from .cost import plan_cost

__all__ = ["ErrorStats", "input_grid", "measure", "plan_cost", "report"]
