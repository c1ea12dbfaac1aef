"""A wheel install works: ``hwact demo`` runs whole from a wheel, without a clone.

The wheel is built from a copy of the source tree (no build isolation: setuptools comes from
the dev extra) and installed into a fresh virtual environment whose only other packages are
the dependencies already in ``.venv`` (made visible by a ``.pth`` line, which does not load
``.venv``'s editable ``hwact``). That environment's ``hwact demo`` then does the main job end
to end: every default unit generated and proven on Icarus (the stream driver, package data),
the default CFU built and proven on both buses (``sim/cocotb``) and by the proof firmware on
VexRiscv and PicoRV32 (``sim/firmware``, ``sim/soc``): every file the clone's ``sim/`` folder
gives, found inside the installed package. Plans come from the plan cache, which a wheel of
the same source shares with the clone.
"""

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from hwact.defaults import DEFAULT_UNITS

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parent.parent

WHERE = """
import sys
from pathlib import Path
import hwact
from hwact.resources import sim_dir

site = Path(sys.argv[1]).resolve()
assert Path(hwact.__file__).resolve().is_relative_to(site), hwact.__file__
assert sim_dir().resolve().is_relative_to(site), sim_dir()
print("installed")
"""


def test_a_wheel_installed_in_a_fresh_venv_runs_the_demo(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for name in ("hwact", "sim"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, capture_output=True, text=True)
    (wheel,) = wheels.glob("hwact-*.whl")

    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "hwact-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, capture_output=True, text=True)

    # Run from tmp_path: ``python -c`` puts the working directory first on sys.path, and the clone's is a source tree.
    where = subprocess.run([str(python), "-c", textwrap.dedent(WHERE), str(site)], cwd=tmp_path,
                           capture_output=True, text=True)
    assert where.returncode == 0 and "installed" in where.stdout, where.stderr[-3000:]
    demo = subprocess.run([str(env_dir / "bin" / "hwact"), "demo", "-o", str(tmp_path / "demo")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert demo.returncode == 0, (demo.stdout[-3000:], demo.stderr[-3000:])
    units = len(DEFAULT_UNITS)
    assert f"{units} of {units} units proven bit-exact on every input code" in demo.stdout
    assert "CFU: proven" in demo.stdout and "FAIL" not in demo.stdout
    assert (tmp_path / "demo" / "cfu" / "Cfu.v").exists()
