"""Files hwact ships beside its code: the SoC wrappers, firmware and cocotb benches of ``sim/``.

In the source tree they live in the top-level ``sim/`` folder; ``setup.py`` installs that folder
as the package ``hwact._sim`` (an editable install maps the name back to the folder), so a
wheel finds them the same way a clone does.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["sim_dir"]


def sim_dir() -> Path:
    """The folder of the SoC wrappers (``soc/``), firmware (``firmware/``) and benches (``cocotb/``)."""
    return Path(str(resources.files("hwact._sim")))
