"""Reports: the presentation layer (Markdown, HTML, JSON, plots, synthesis).

Nothing heavy is imported here: matplotlib and the yowasp tools load only inside the
functions that make a report. The measurement itself lives in :mod:`hwact.measure`; its
names are re-exported for older callers.
"""

from ..cost import plan_cost
from ..measure import ErrorStats, input_grid, measure, report

__all__ = ["ErrorStats", "input_grid", "measure", "plan_cost", "report"]
