"""Tier 4: the command line as users and scripts call it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hwact.cli import main

HWACT = [sys.executable, "-m", "hwact.cli"]

pytestmark = pytest.mark.cli


def run(*args, env=None, cwd=None):
    return subprocess.run([*HWACT, *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_generate_then_sim_proves_every_code(tmp_path):
    out = tmp_path / "out"
    generated = run("generate", "relu6", "--in", "s4.12", "--out", "s4.12", "-o", str(out))
    assert generated.returncode == 0, generated.stderr
    assert sorted(p.name for p in out.iterdir()) == ["relu6.h", "relu6.json", "relu6.v"]
    manifest = json.loads((out / "relu6.json").read_text())
    for key in ("function", "params", "in_format", "out_format", "method", "lanes", "stages", "latency", "top"):
        assert key in manifest
    assert (manifest["function"], manifest["in_format"], manifest["out_format"], manifest["top"]) == (
        "relu6", "s4.12", "s4.12", "relu6")
    assert set(manifest["error"]) >= {"max_lsb", "mean_lsb", "rms_lsb", "correctly_rounded_fraction", "monotonic"}
    simulated = run("sim", str(out / "relu6.json"))
    assert simulated.returncode == 0, simulated.stderr
    assert "65536 vectors" in simulated.stdout and "0 mismatches" in simulated.stdout
    report = json.loads((out / "relu6.sim.json").read_text())
    assert (report["vectors"], report["mismatches"], report["passed"]) == (65536, 0, True)


def test_sim_with_random_vectors_and_pipelining(tmp_path):
    assert main(["generate", "prelu", "--in", "s4.4", "--out", "s4.4", "--lanes", "4", "--stages", "2",
                 "--name", "p", "-o", str(tmp_path)]) == 0
    assert main(["sim", str(tmp_path / "p.json"), "--vectors", "1000", "--seed", "3"]) == 0
    report = json.loads((tmp_path / "p.sim-1000.json").read_text())
    assert report["vectors"] == 1000 and report["coverage"] == "1000 random"


def test_a_mismatch_fails_the_sim(tmp_path):
    main(["generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", str(tmp_path)])
    manifest = json.loads((tmp_path / "relu.json").read_text())
    manifest["plan"]["table"]["rows"][1][1] += 1  # the model now disagrees with the Verilog
    (tmp_path / "relu.json").write_text(json.dumps(manifest))
    result = run("sim", str(tmp_path / "relu.json"))
    assert result.returncode == 1 and "FAIL" in result.stdout
    # Every word of a mismatch line in hexadecimal (the got word was once printed in decimal).
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  transfer ")]
    assert lines and all(line[w].startswith("0x") for line in lines for w in (3, 5, 7)), result.stdout
    assert json.loads((tmp_path / "relu.sim.json").read_text())["mismatches"] > 0


def test_generating_twice_gives_identical_bytes(tmp_path):
    for attempt in ("a", "b"):
        args = ["generate", "hardswish", "--in", "s4.12", "--out", "s4.12", "--stages", "2",
                "-o", str(tmp_path / attempt)]
        assert main(args) == 0
    for name in ("hardswish.v", "hardswish.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_list(capsys):
    assert main(["list", "--json"]) == 0
    listed = {f["name"]: f for f in json.loads(capsys.readouterr().out)}
    assert {"relu", "relu6", "prelu", "hardswish", "step", "identity"} <= set(listed)
    assert [p["name"] for p in listed["hardtanh"]["params"]] == ["min_val", "max_val"]
    assert "mean slope" in listed["rrelu"]["notes"]
    assert main(["list"]) == 0 and "leaky_relu" in capsys.readouterr().out


BAD = {
    "unknown function": (["generate", "swishy", "--in", "s4.12", "--out", "s4.12"], "unknown function 'swishy'"),
    "malformed format": (["generate", "relu", "--in", "s4.x", "--out", "s4.12"], "bad format 's4.x'"),
    "empty format": (["generate", "relu", "--in", "s0.0", "--out", "s4.12"], "bad format 's0.0'"),
    "too wide": (["generate", "relu", "--in", "s40.2", "--out", "s4.12"], "42 bits wide"),
    "min above max": (["generate", "hardtanh", "--in", "s4.12", "--out", "s4.12", "--param", "min_val=2"],
                      "min_val (2) must be below"),
    "negative ceiling": (["generate", "clipped_relu", "--in", "s4.12", "--out", "s4.12", "--param", "ceiling=-1"],
                         "ceiling must be >= 0"),
    "unknown param": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--param", "alpha=1"],
                      "no parameter 'alpha'"),
    "param syntax": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--param", "alpha"], "NAME=VALUE"),
    "lanes": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--lanes", "3"], "lane count"),
    "lanes too wide": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--lanes", "4"], "do not fit"),
    "stages": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--stages", "-1"], "stage count"),
    "method": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--method", "magic"], "invalid choice"),
    "budget": (["generate", "leaky_relu", "--in", "s4.4", "--out", "s4.4", "--max-err-lsb", "0.1"], "best reachable"),
    "name": (["generate", "relu", "--in", "s4.12", "--out", "s4.12", "--name", "a-b"], "Verilog identifier"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, case):
    args, words = BAD[case]
    out = tmp_path / "new"
    result = run(*args, "-o", str(out))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwact: error:") and words in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = run("generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", str(blocker / "sub"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "cannot create output directory" in result.stderr
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        if os.access(readonly, os.W_OK):  # root ignores permissions; use a path that cannot exist
            target = "/proc/hwact-cannot-write"
        else:
            target = str(readonly)
        result = run("generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", target)
        assert result.returncode == 1 and result.stderr.count("\n") == 1 and "cannot" in result.stderr
    finally:
        readonly.chmod(0o755)
    assert list(readonly.iterdir()) == []


def test_missing_simulator_is_one_line(tmp_path):
    assert main(["generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", str(tmp_path)]) == 0
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # no iverilog here
    result = run("sim", str(tmp_path / "relu.json"), env=env)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [
        "hwact: error: simulator icarus needs `iverilog` on PATH (Debian package iverilog)"]
    assert not (tmp_path / "relu.sim.json").exists()


def test_sim_of_a_file_that_is_not_a_manifest(tmp_path):
    (tmp_path / "x.json").write_text("{")
    result = run("sim", str(tmp_path / "x.json"))
    assert result.returncode == 1 and "is not JSON" in result.stderr and result.stderr.count("\n") == 1


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "hwact"
    result = subprocess.run([str(script), "list"], capture_output=True, text=True)
    assert result.returncode == 0 and "relu6" in result.stdout


def test_a_broken_verilog_file_is_one_line(tmp_path):
    main(["generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", str(tmp_path)])
    verilog = tmp_path / "relu.v"
    text = verilog.read_text()
    verilog.write_text("module relu(\n")  # the right module, cut short: caught before any tool runs
    result = run("sim", str(tmp_path / "relu.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "module 'relu' has no i__payload port" in result.stderr
    verilog.write_text(text.replace("endmodule", "assign ;\nendmodule", 1))  # ports intact, body broken
    result = run("sim", str(tmp_path / "relu.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "icarus run failed" in result.stderr


def test_a_manifest_missing_keys_is_one_line(tmp_path):
    main(["generate", "relu", "--in", "s4.4", "--out", "s4.4", "-o", str(tmp_path)])
    manifest = json.loads((tmp_path / "relu.json").read_text())
    del manifest["files"]
    (tmp_path / "relu.json").write_text(json.dumps(manifest))
    result = run("sim", str(tmp_path / "relu.json"))
    assert result.returncode == 1 and result.stderr.count("\n") == 1 and "not an hwact manifest" in result.stderr


def test_more_random_vectors_than_inputs_means_every_input(tmp_path):
    main(["generate", "relu", "--in", "s2.0", "--out", "s2.0", "-o", str(tmp_path)])
    assert main(["sim", str(tmp_path / "relu.json"), "--vectors", "100000000"]) == 0
    # Defect: the exhaustive run was recorded as relu.sim-100000000.json; it is the proof, so it is relu.sim.json.
    assert json.loads((tmp_path / "relu.sim.json").read_text())["coverage"] == "exhaustive"
    assert not (tmp_path / "relu.sim-100000000.json").exists()


def test_sim_with_random_vectors_adds_every_segment_edge(tmp_path, cached_planner):
    assert main(["generate", "tanh", "--in", "s4.12", "--out", "s1.15", "-o", str(tmp_path)]) == 0
    assert main(["sim", str(tmp_path / "tanh.json"), "--vectors", "500"]) == 0
    report = json.loads((tmp_path / "tanh.sim-500.json").read_text())
    segments = json.loads((tmp_path / "tanh.json").read_text())["cost"]["segments"]
    assert report["coverage"].startswith("500 random + ") and report["vectors"] > 500 + segments


def test_sim_asks_for_a_sample_when_the_input_is_too_wide(tmp_path):
    # Any unit will do: the refusal depends on the input width only (a 24-bit table plan takes minutes).
    assert main(["generate", "relu", "--in", "s11.10", "--out", "s11.10", "-o", str(tmp_path)]) == 0
    result = run("sim", str(tmp_path / "relu.json"))
    assert result.returncode != 0 and "--vectors N" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "relu.sim.json").exists()
