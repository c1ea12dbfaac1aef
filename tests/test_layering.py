"""The library imports no application: the command line, the reports and the demo sit on top.

Library: the number formats, planners, model, widths, cost, HDL, C backend, CFU builder,
verification runners. Applications: ``hwact.cli`` (the command line), ``hwact.report`` (the
documents) and the command modules that glue them. A library module importing an application,
or any module importing another's private name, fails here with the line that does it.
"""

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

PACKAGE = Path(__file__).resolve().parent.parent / "hwact"
#: Modules (dotted, relative to hwact) that are applications; everything else is library.
APPLICATIONS = ("cli", "report", "cfu.command", "cfu.demo", "soc.command", "__main__")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_application(name: str) -> bool:
    return any(name == app or name.startswith(app + ".") for app in APPLICATIONS)


def _imports(path: Path):
    """(line, imported module relative to hwact, names) of every hwact import in ``path``."""
    module = _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == "hwact" or node.module.startswith("hwact.")):
                target = node.module.removeprefix("hwact").removeprefix(".")
            else:
                continue
            yield node.lineno, target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hwact."):
                    yield node.lineno, alias.name.removeprefix("hwact."), []


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_the_library_imports_no_application():
    offences = []
    for path in SOURCES:
        if _is_application(_module_name(path)):
            continue
        for line, target, names in _imports(path):
            targets = [target] if target else []
            targets += [f"{target}.{name}".strip(".") for name in names]
            if any(_is_application(t) for t in targets):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target or 'hwact'} {names}")
    assert not offences, "\n".join(offences)


def test_no_module_imports_another_modules_private_names():
    offences = []
    for path in SOURCES:
        for line, target, names in _imports(path):
            private = [name for name in names if name.startswith("_") and not name.startswith("__")]
            if private:
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {private} from {target}")
    assert not offences, "\n".join(offences)


def test_importing_the_library_runs_no_application_module():
    import subprocess
    import sys

    code = ("import sys, hwact, hwact.approx, hwact.model, hwact.hdl, hwact.cgen, hwact.cfu.build; "
            "print(' '.join(sorted(m for m in sys.modules if m.startswith(('hwact.cli', 'hwact.report')))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == []
