"""Reports: the presentation layer (Markdown, HTML, JSON, plots, synthesis summaries).

Nothing heavy is imported here: matplotlib and the yowasp tools load only inside the functions
that make a report. The measurement lives in :mod:`hwact.measure`, the cost in :mod:`hwact.cost`.
"""
