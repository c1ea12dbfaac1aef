"""An int8 TFLite network end to end: the digits MLP (bench/digits_mlp.py) on VexRiscv and in TFLite-Micro.

The committed quantized network (``tests/peers/digits_mlp.npz``, the same as
``digits_mlp.tflite``) runs on VexRiscv with a fused requantize + activation instruction
ending each dense layer; the instruction's, the C fallback's and the TFLite-Micro port's
(``bench/tflm_ref``) logits must equal the NumPy model's (firmware tier, in ``make test``, on
the first 12 test digits; the benchmark runs all 360). The peer tier runs the ``.tflite`` file
in TFLite-Micro's interpreter on all 360 test digits: the NumPy model's logits must equal
TFLite-Micro's, code for code, and so must those of the plain C port of TFLite-Micro's kernels
(``bench/tflm_ref``, the benchmark's third column) compiled for the host.
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
    run = digits_mlp.run_on_core(network, tmp_path, "vexriscv", count=12, warm=1)
    _, logits = digits_mlp.model_logits(network, network["x_test"][:12])
    assert np.array_equal(run["hw"], logits), "instruction"
    assert np.array_equal(run["sw"], logits), "C fallback"
    assert np.array_equal(run["ref"], logits), "the C port of TFLite-Micro's kernels"
    assert 0 < run["cycles_hw"] < run["cycles_sw"]


@pytest.mark.peers
def test_the_c_port_of_tflite_micro_equals_its_interpreter(network, tmp_path):
    """bench/tflm_ref (the third cycles column) is TFLite-Micro: same logits on every test digit,
    and its LOGISTIC gives the interpreter's code for every int8 input at many input scales."""
    peer = digits_mlp.tflm_logits(network["x_test"])
    port = digits_mlp.reference_on_host(network, network["x_test"], tmp_path)
    assert np.array_equal(port, peer), int(np.sum(port != peer))

    import peers
    from tflite_micro.python.tflite_micro import runtime

    rng = np.random.default_rng(18)
    quantizations = [(2.0**-4, 0), (float(network["scales"][2]), int(network["zero_points"][1])), (0.3, -128),
                     (1.7, 5), (0.0078, 100)]
    quantizations += [(float(10 ** rng.uniform(-3, 0.5)), int(rng.integers(-128, 128))) for _ in range(15)]
    codes = np.arange(-128, 128)
    ours = digits_mlp.logistic_on_host([digits_mlp.logistic_prepare(s, z) for s, z in quantizations], tmp_path)
    for (scale, zp), row in zip(quantizations, ours, strict=True):
        case = peers.Case("tflm", "sigmoid", f"int8(scale={scale!r}, zp={zp})", "tflite:logistic")
        interpreter = runtime.Interpreter.from_bytes(peers.tflite_model(case), arena_size=1 << 16)
        interpreter.set_input(codes.astype(np.int8).reshape(1, -1), 0)
        interpreter.invoke()
        expected = np.asarray(interpreter.get_output(0)).reshape(-1)
        assert np.array_equal(row, expected), (scale, zp, int(np.sum(row != expected)))


@pytest.mark.peers
def test_tflite_micro_gives_the_same_logits(network):
    _, logits = digits_mlp.model_logits(network, network["x_test"])
    peer = digits_mlp.tflm_logits(network["x_test"])
    assert peer.shape == logits.shape == (360, 10)
    assert np.array_equal(peer, logits), int(np.sum(peer != logits))
