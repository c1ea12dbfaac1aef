"""The FuseSoC kit `hwact cfu` writes (hwact/cfu/fusesoc.py), checked by fusesoc from PyPI:
the CAPI2 core parses, its lint target passes Verilator --lint-only -Wall with the waivers
shipped beside it, its sim target (tb_Cfu.v on Icarus) agrees with the model on every command,
and the same sim target fails when one expected answer in the testbench is wrong.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hwact.artifacts
from hwact.cfu.build import build_and_write
from hwact.cfu.fusesoc import core_name
from hwact.verify.runner import verilator_bin

pytestmark = pytest.mark.cli

CONFIG = """
[[unit]]
name = "relu6_int8x4"
function = "relu6"
in_format = "s4.4"
out_format = "s4.4"
lanes = 4

[[unit]]
name = "sigmoid_int8x4"
function = "sigmoid"
in_format = "s4.4"
out_format = "u0.8"
lanes = 4
stages = 1

[[unit]]
name = "tanh_int8x4"
function = "tanh"
in_format = "s4.4"
out_format = "s1.7"
lanes = 4
stages = 1
"""


@pytest.fixture(scope="module")
def kit(tmp_path_factory, cached_plan):
    directory = tmp_path_factory.mktemp("kit")
    (directory / "cfu.toml").write_text(CONFIG)
    with pytest.MonkeyPatch.context() as patch:  # plans from the session's plan cache
        patch.setattr(hwact.artifacts, "cached_make_plan", cached_plan)
        build_and_write(directory / "cfu.toml", directory / "cfu")
    return directory / "cfu"


def fusesoc(cores: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).with_name("fusesoc")
    env = {**os.environ, "PATH": f"{verilator_bin()}{os.pathsep}{os.environ.get('PATH', '')}",
           "XDG_CACHE_HOME": str(work / "cache"), "XDG_DATA_HOME": str(work / "data"),
           "XDG_CONFIG_HOME": str(work / "config")}
    return subprocess.run([str(tool), "--cores-root", str(cores), *args], cwd=work, env=env,
                          capture_output=True, text=True, check=False)


def test_core_file_parses_with_three_targets(tmp_path, kit):
    text = (kit / "hwact_cfu.core").read_text()
    assert text.startswith("CAPI=2:") and f"name: {core_name()}" in text
    result = fusesoc(kit, tmp_path, "core-info", core_name())
    assert result.returncode == 0, result.stderr
    targets = re.findall(r"^(\w+)\s*:", result.stdout.split("Targets:")[1], re.MULTILINE)
    assert targets == ["default", "lint", "sim"]


def test_lint_target_is_clean(tmp_path, kit):
    result = fusesoc(kit, tmp_path, "run", "--target=lint", core_name())
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]


def test_sim_target_agrees_with_the_model_and_can_fail(tmp_path, kit):
    (tmp_path / "good").mkdir()
    result = fusesoc(kit, tmp_path / "good", "run", "--target=sim", core_name())
    assert result.returncode == 0 and "tb_Cfu: PASS" in result.stdout, (result.stdout + result.stderr)[-2000:]
    # One expected answer off by one: the testbench must say so and fail the run.
    bad = tmp_path / "bad_kit"
    bad.mkdir()
    for path in kit.iterdir():
        (bad / path.name).write_text(path.read_text())
    bench = (bad / "tb_Cfu.v").read_text()
    first = re.search(r"vectors\[0\] = 106'h([0-9a-f]+);", bench)
    wrong = f"{int(first.group(1), 16) ^ 1:027x}"
    (bad / "tb_Cfu.v").write_text(bench.replace(first.group(0), f"vectors[0] = 106'h{wrong};"))
    (tmp_path / "bad").mkdir()
    result = fusesoc(bad, tmp_path / "bad", "run", "--target=sim", core_name())
    assert result.returncode != 0 and "differ from the model" in result.stdout + result.stderr
