"""hwact: activation functions as bit-accurate fixed-point models, Amaranth units and Verilog.

The pipeline is one plan, several backends::

    make_plan(...) -> Plan -> model.evaluate (golden) / hdl.ActivationUnit (Verilog) / ...
"""

from .approx import PlanError, make_plan
from .fixed import Fmt
from .model import evaluate
from .plan import Plan

__all__ = ["Fmt", "Plan", "PlanError", "evaluate", "make_plan"]
__version__ = "0.1.0"
