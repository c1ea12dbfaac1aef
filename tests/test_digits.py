"""An int8 TFLite network end to end: the digits MLP (bench/digits_mlp.py) on VexRiscv and in TFLite-Micro.

The committed quantized network (``tests/peers/digits_mlp.npz``, the same as
``digits_mlp.tflite``) runs on VexRiscv with a fused requantize + activation instruction
ending each dense layer; the instruction's and the C fallback's logits must equal the NumPy
model's (firmware tier, in ``make test``, on the first 20 test digits). The peer tier runs
the ``.tflite`` file in TFLite-Micro's interpreter on all 360 test digits: the NumPy model's
logits must equal TFLite-Micro's, code for code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import digits_mlp


@pytest.fixture(scope="module")
def network():
    return digits_mlp.load()


@pytest.mark.model
def test_the_int8_network_classifies_like_the_float_one(network):
    _, logits = digits_mlp.model_logits(network, network["x_test"])
    accuracy = np.mean(logits.argmax(axis=1) == network["y_test"])
    assert len(logits) == 360 and accuracy >= float(network["float_accuracy"]) - 0.01


@pytest.mark.firmware
def test_vexriscv_runs_the_network_as_the_model(network, tmp_path):
    run = digits_mlp.run_on_core(network, tmp_path, "vexriscv", count=20)
    _, logits = digits_mlp.model_logits(network, network["x_test"][:20])
    assert np.array_equal(run["hw"], logits), "instruction"
    assert np.array_equal(run["sw"], logits), "C fallback"
    assert 0 < run["cycles_hw"] < run["cycles_sw"]


@pytest.mark.peers
def test_tflite_micro_gives_the_same_logits(network):
    _, logits = digits_mlp.model_logits(network, network["x_test"])
    peer = digits_mlp.tflm_logits(network["x_test"])
    assert peer.shape == logits.shape == (360, 10)
    assert np.array_equal(peer, logits), int(np.sum(peer != logits))
