"""A wheel install works: the package finds its SoC wrappers, firmware and benches without a clone.

The wheel is built from a copy of the source tree (no build isolation: setuptools comes from
the dev extra) and installed into a fresh virtual environment whose only other packages are
the dependencies already in ``.venv`` (made visible by a ``.pth`` line, which does not load
``.venv``'s editable ``hwact``). That environment then builds a CFU, proves it with the
protocol benches (``sim/cocotb``) and runs the proof firmware on PicoRV32 (``sim/firmware``,
``sim/soc``): every file the clone's ``sim/`` folder gives.
"""

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parent.parent

CONFIG = """\
[[unit]]
name = "relu6_int8x4"
function = "relu6"
in_format = "s4.4"
out_format = "s4.4"
lanes = 4
function_id = 0

[[unit]]
name = "sigmoid_int8x4"
function = "sigmoid"
in_format = "s4.4"
out_format = "u0.8"
lanes = 4
stages = 1
function_id = 1
"""

PROGRAM = """\
import sys
from pathlib import Path
import hwact
from hwact.cfu.firmware import run_firmware
from hwact.cfu.sim import load_cfu, run_protocol
from hwact.resources import sim_dir

site = Path(sys.argv[1]).resolve()
assert Path(hwact.__file__).resolve().is_relative_to(site), hwact.__file__
assert sim_dir().resolve().is_relative_to(site), sim_dir()
cfu = load_cfu(Path("cfu").resolve())
(Path("protocol")).mkdir()
protocol = run_protocol(cfu, "Cfu", per_unit=8, work_dir=Path("protocol").resolve())
assert protocol["tests"] == 3 and protocol["failures"] == 0, protocol
run = run_firmware(cfu, "picorv32", Path("firmware").resolve(), count=8, simulator="verilator")
assert run.passed, run
print("wheel ok")
"""


def test_a_wheel_installed_in_a_fresh_venv_builds_and_proves_a_cfu(tmp_path):
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

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "small.toml").write_text(CONFIG)
    built = subprocess.run([str(env_dir / "bin" / "hwact"), "cfu", "small.toml", "-o", "cfu"], cwd=run_dir,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    done = subprocess.run([str(python), "-c", textwrap.dedent(PROGRAM), str(site)], cwd=run_dir,
                          capture_output=True, text=True)
    assert done.returncode == 0 and "wheel ok" in done.stdout, done.stderr[-3000:]
