"""Peer tier: hwact's affine units against TFLite-Micro's and ONNX Runtime's own kernels, every code.

The committed models of ``tests/peers/`` (one activation each, made by ``bench/peers.py
--make-models``) run in the peers' interpreters (the ``peers`` extra; ``make test-peers``
installs it). At int8 every peer rounds correctly, and hwact's unit must give the same codes
(ties aside, which the real function decides) and never a larger error; at int16 hwact must
have a smaller maximum error and a larger share of correctly rounded outputs than TFLite-Micro.
ONNX Runtime's int16 graph evaluates each element in float32 rather than from a table; there
hwact's faithful table unit is only checked to stay faithful and monotonic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import peers

pytestmark = pytest.mark.peers

INT8 = [case for case in peers.CASES if "int16" not in case.in_format]
INT16 = [case for case in peers.CASES if "int16" in case.in_format and case.peer == "tflm"]
#: ONNX Runtime's int16 QDQ graph computes each element in float32 (no table): near correct rounding.
ORT_INT16 = [case for case in peers.CASES if "int16" in case.in_format and case.peer == "ort"]


def _id(case: peers.Case) -> str:
    return case.file.stem


@pytest.mark.parametrize("case", INT8, ids=_id)
def test_int8_equals_the_peer(case):
    result = peers.compare(case)
    peer, ours = result["peer_error"], result["hwact_error"]
    assert result["codes"] == 256
    assert ours["correctly_rounded"] == 1.0 and ours["max_lsb"] <= 0.5 + 1e-9
    assert ours["max_lsb"] <= peer["max_lsb"] + 1e-9
    # Where the peer is correctly rounded too, the codes can differ only at exact ties.
    if peer["correctly_rounded"] == 1.0:
        assert result["differing_codes"] <= 2, result


@pytest.mark.slow
@pytest.mark.parametrize("case", INT16, ids=_id)
def test_int16_beats_tflite_micro(case):
    result = peers.compare(case)
    peer, ours = result["peer_error"], result["hwact_error"]
    assert result["codes"] == 65536
    # The peer's figures as measured (the anchors: logistic 1.016 LSB / 87.2 %, tanh 1.476 / 72.3 %).
    assert peer["max_lsb"] > 1.0 and peer["correctly_rounded"] < 0.9
    assert ours["max_lsb"] < peer["max_lsb"] and ours["max_lsb"] < 1.0
    assert ours["correctly_rounded"] > peer["correctly_rounded"]
    assert ours["monotonic"]


@pytest.mark.slow
@pytest.mark.parametrize("case", ORT_INT16, ids=_id)
def test_int16_against_onnx_runtimes_float_path(case):
    """No claim to win here: ORT evaluates float32 per element. hwact's table unit stays faithful and monotonic."""
    result = peers.compare(case)
    peer, ours = result["peer_error"], result["hwact_error"]
    assert result["codes"] == 65536
    assert peer["max_lsb"] < 0.51 and peer["correctly_rounded"] > 0.99
    assert ours["max_lsb"] < 1.0 and ours["correctly_rounded"] > 0.9 and ours["monotonic"]


@pytest.mark.slow
def test_the_comparison_table_in_the_docs_is_what_the_script_measures():
    """docs/comparison.md's peer table is `bench/peers.py --write-docs` as of today's code and peers."""
    rows = [peers.compare(case) for case in peers.CASES]
    block = f"{peers.BEGIN}\n{peers.table(rows)}\n{peers.END}"
    assert block in peers.DOC.read_text(), "rerun: python bench/peers.py --write-docs"
