"""Reports: the presentation layer (Markdown, HTML, JSON, plots, synthesis).

Nothing heavy is imported here: matplotlib and the yowasp tools load only inside the
functions that make a report. The measurement itself lives in :mod:`hwact.measure`, the cost
model in :mod:`hwact.cost`.
"""
