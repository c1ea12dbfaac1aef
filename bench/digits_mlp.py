"""An int8 TFLite network end to end: the digits MLP on VexRiscv with hwact's fused instruction.

The network: scikit-learn's 8x8 digits, 64 -> 32 (logistic) -> 10, trained here
(``MLPClassifier``, seeded) and quantized to TFLite's full-integer scheme by this script
(TensorFlow is not needed): int8 activations with calibrated scales and zero points, int8
symmetric per-tensor weights, int32 biases at ``input_scale * weight_scale``, the LOGISTIC
output at TFLite's fixed 1/256, -128; output multipliers as TFLite-Micro derives them
(``float32(s_in * s_w) / s_out`` in double, ``QuantizeMultiplier``). ``--make`` writes the
parameters (``tests/peers/digits_mlp.npz``) and the same network as a ``.tflite`` flatbuffer
(``tests/peers/digits_mlp.tflite``: FULLY_CONNECTED, LOGISTIC, FULLY_CONNECTED), once.

On the core each dense layer ends in a fused requantize + activation op: the hidden layer's
in hwact's int8 sigmoid, the output layer's in ``identity`` (a requantization alone). The
firmware classifies the test set with the instruction and with its bit-exact C fallback;
both must equal this module's NumPy model (:func:`model_logits`). The peer tier compares the
NumPy model with the TFLite-Micro interpreter running the ``.tflite`` file.

    python bench/digits_mlp.py --make     # train, quantize, write tests/peers/digits_mlp.*
    python bench/digits_mlp.py            # run on VexRiscv (and TFLite-Micro when installed)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path

import numpy as np

from hwact import Fmt, make_plan
from hwact.requant import Requant, fused_evaluate, quantize_multiplier

ROOT = Path(__file__).resolve().parent.parent
PARAMS = ROOT / "tests" / "peers" / "digits_mlp.npz"
TFLITE = ROOT / "tests" / "peers" / "digits_mlp.tflite"
RESULTS = ROOT / "bench" / "results" / "digits_mlp.json"
HIDDEN = 32
#: TFLite's LOGISTIC int8 output.
LOGISTIC_OUT = (2.0**-8, -128)


def _f32(v: float) -> float:
    return float(np.float32(v))


def _asymmetric(lo: float, hi: float) -> tuple[float, int]:
    """TFLite's int8 activation quantization of a calibrated range (zero always exact)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = _f32((hi - lo) / 255.0)
    zp = int(np.clip(round(-128 - lo / scale), -128, 127))
    return scale, zp


def _multiplier(s_in: float, s_w: float, s_out: float) -> tuple[int, int]:
    """TFLite-Micro's output multiplier: the float32 product of the scales, divided in double."""
    return quantize_multiplier(float(np.float32(s_in) * np.float32(s_w)) / float(np.float32(s_out)))


def make() -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    x, y = digits.data / 16.0, digits.target
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0, stratify=y)
    net = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="logistic", max_iter=2000, random_state=0)
    net.fit(x_train, y_train)
    w1, b1 = net.coefs_[0].T, net.intercepts_[0]
    w2, b2 = net.coefs_[1].T, net.intercepts_[1]
    s_x, z_x = _f32(1 / 255), -128  # inputs in [0, 1]
    pre1 = x_train @ w1.T + b1
    s_h, z_h = _asymmetric(float(pre1.min()), float(pre1.max()))
    hidden = 1 / (1 + np.exp(-pre1))
    pre2 = hidden @ w2.T + b2
    s_o, z_o = _asymmetric(float(pre2.min()), float(pre2.max()))
    s_w1, s_w2 = _f32(np.abs(w1).max() / 127), _f32(np.abs(w2).max() / 127)
    q = {
        "x_test": np.clip(np.round(x_test / s_x) + z_x, -128, 127).astype(np.int8), "y_test": y_test.astype(np.int8),
        "w1": np.clip(np.round(w1 / s_w1), -127, 127).astype(np.int8),
        "b1": np.round(b1 / (np.float32(s_x) * np.float32(s_w1))).astype(np.int32),
        "w2": np.clip(np.round(w2 / s_w2), -127, 127).astype(np.int8),
        "b2": np.round(b2 / (np.float32(LOGISTIC_OUT[0]) * np.float32(s_w2))).astype(np.int32),
        "scales": np.array([s_x, s_w1, s_h, LOGISTIC_OUT[0], s_w2, s_o]),
        "zero_points": np.array([z_x, z_h, LOGISTIC_OUT[1], z_o]),
        "float_accuracy": np.array(net.score(x_test, y_test)),
    }
    PARAMS.parent.mkdir(parents=True, exist_ok=True)
    np.savez(PARAMS, **q)
    TFLITE.write_bytes(_tflite(q))
    print(f"wrote {PARAMS.relative_to(ROOT)} and {TFLITE.relative_to(ROOT)} ({TFLITE.stat().st_size} bytes); "
          f"float accuracy {net.score(x_test, y_test):.4f}")


def _tflite(q: dict) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    s_x, s_w1, s_h, s_y, s_w2, s_o = (float(v) for v in q["scales"])
    z_x, z_h, z_y, z_o = (int(v) for v in q["zero_points"])
    buffers = [schema.BufferT()]

    def buffer(array: np.ndarray | None) -> int:
        b = schema.BufferT()
        if array is not None:
            b.data = list(np.ascontiguousarray(array).view(np.uint8).reshape(-1))
        buffers.append(b)
        return len(buffers) - 1

    def tensor(name, shape, kind, scale, zp, data=None):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), list(shape), kind, buffer(data)
        qp = schema.QuantizationParametersT()
        qp.scale, qp.zeroPoint = [scale], [zp]
        t.quantization = qp
        return t

    i8, i32 = schema.TensorType.INT8, schema.TensorType.INT32
    tensors = [
        tensor("x", [1, 64], i8, s_x, z_x), tensor("w1", [HIDDEN, 64], i8, s_w1, 0, q["w1"]),
        tensor("b1", [HIDDEN], i32, _f32(s_x * s_w1), 0, q["b1"]), tensor("pre1", [1, HIDDEN], i8, s_h, z_h),
        tensor("h", [1, HIDDEN], i8, s_y, z_y), tensor("w2", [10, HIDDEN], i8, s_w2, 0, q["w2"]),
        tensor("b2", [10], i32, _f32(s_y * s_w2), 0, q["b2"]), tensor("logits", [1, 10], i8, s_o, z_o),
    ]
    codes = []
    for op in (schema.BuiltinOperator.FULLY_CONNECTED, schema.BuiltinOperator.LOGISTIC):
        c = schema.OperatorCodeT()
        version = 4 if op == schema.BuiltinOperator.FULLY_CONNECTED else 2
        c.builtinCode, c.deprecatedBuiltinCode, c.version = op, op, version
        codes.append(c)

    def operator(code, inputs, outputs, fc=False):
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = code, inputs, outputs
        if fc:
            o.builtinOptionsType = schema.BuiltinOptions.FullyConnectedOptions
            o.builtinOptions = schema.FullyConnectedOptionsT()
        return o

    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.name = tensors, [0], [7], b"main"
    graph.operators = [operator(0, [0, 1, 2], [3], True), operator(1, [3], [4]), operator(0, [4, 5, 6], [7], True)]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs, model.buffers = 3, codes, [graph], buffers
    model.description = b"hwact bench/digits_mlp.py: digits 64-32-10 MLP, int8"
    builder = flatbuffers.Builder(8192)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


# -- the NumPy model and the CFU --------------------------------------------------------------


def load() -> dict:
    with np.load(PARAMS) as data:
        return {k: data[k] for k in data.files}


def formats(q: dict) -> tuple[str, str]:
    """The hidden layer's and the output layer's requantized formats (hwact spellings)."""
    scales, zps = [float(v) for v in q["scales"]], [int(v) for v in q["zero_points"]]
    return str(Fmt(8, 0, True, scales[2], zps[1])), str(Fmt(8, 0, True, scales[5], zps[3]))


def requants(q: dict) -> tuple[Requant, Requant]:
    s_x, s_w1, s_h, s_y, s_w2, s_o = (float(v) for v in q["scales"])
    return Requant(*_multiplier(s_x, s_w1, s_h)), Requant(*_multiplier(s_y, s_w2, s_o))


def cfu_config(q: dict) -> str:
    hidden, out = formats(q)
    r1, r2 = requants(q)
    return f"""
[[unit]]
name = "fc1_sigmoid"
function = "sigmoid"
in_format = "{hidden}"
out_format = "tflite:logistic"
requant = {{ multiplier = {r1.multiplier}, shift = {r1.shift} }}

[[unit]]
name = "fc2_out"
function = "identity"
in_format = "{out}"
out_format = "{out}"
requant = {{ multiplier = {r2.multiplier}, shift = {r2.shift} }}
"""


def model_logits(q: dict, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The int8 network on int8 inputs ``x`` (rows): hidden codes and output codes, as the firmware computes them."""
    hidden_fmt, out_fmt = formats(q)
    r1, r2 = requants(q)
    z_x, z_y = int(q["zero_points"][0]), int(q["zero_points"][2])
    acc1 = (x.astype(np.int64) - z_x) @ q["w1"].astype(np.int64).T + q["b1"]
    h = fused_evaluate(make_plan("sigmoid", hidden_fmt, "tflite:logistic"), r1, acc1)
    acc2 = (h - z_y) @ q["w2"].astype(np.int64).T + q["b2"]
    return h, fused_evaluate(make_plan("identity", out_fmt, out_fmt), r2, acc2)


def tflm_logits(x: np.ndarray) -> np.ndarray:
    """TFLite-Micro's interpreter on the committed ``.tflite``, one sample per invoke."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(TFLITE.read_bytes(), arena_size=1 << 16)
    out = []
    for row in x:
        interpreter.set_input(row.astype(np.int8).reshape(1, -1), 0)
        interpreter.invoke()
        out.append(np.asarray(interpreter.get_output(0)).reshape(-1))
    return np.array(out, dtype=np.int64)


# -- the firmware ----------------------------------------------------------------------------------


def _array(ctype: str, name: str, values) -> str:
    flat = np.asarray(values).reshape(-1)
    return f"const {ctype} {name}[{flat.size}] = {{{', '.join(str(int(v)) for v in flat)}}};"


def run_on_core(q: dict, work: Path, core: str = "vexriscv", count: int | None = None) -> dict:
    """Build the CFU, classify ``count`` test digits on ``core``; logits by instruction and by fallback, cycles."""
    from hwact.cfu.build import build_cfu
    from hwact.cfu.config import parse_config
    from hwact.cfu.firmware import CORE_DEFINES, compile_firmware, simulate_soc
    from hwact.cfu.sim import load_cfu

    work = Path(work).resolve()
    cfu_dir = work / "cfu"
    cfu_dir.mkdir(parents=True, exist_ok=True)
    for name, text in build_cfu(parse_config(tomllib.loads(cfu_config(q)))).files.items():
        (cfu_dir / name).write_text(text)
    cfu = load_cfu(cfu_dir)
    x = q["x_test"][:count]
    z_x, z_y = int(q["zero_points"][0]), int(q["zero_points"][2])
    (work / "net_data.c").write_text("\n".join([
        "#include <stdint.h>", _array("int8_t", "net_x", x), _array("int8_t", "net_w1", q["w1"]),
        _array("int32_t", "net_b1", q["b1"]), _array("int8_t", "net_w2", q["w2"]), _array("int32_t", "net_b2", q["b2"]),
    ]) + "\n")
    (work / "net_kernel.inc").write_text(f"""#include <stdint.h>
#include "hwact_cfu.h"
extern const int8_t net_w1[], net_w2[];
extern const int32_t net_b1[], net_b2[];
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
/* TFLite's int8 fully connected kernels, each ending in the fused requantize + activation op. */
void CAT(net_infer_, NET_SUFFIX)(const int8_t *x, int8_t *logits)
{{
    int8_t h[{HIDDEN}];
    for (uint32_t o = 0; o < {HIDDEN}; o++) {{
        const int8_t *w = net_w1 + o * 64;
        int32_t acc = net_b1[o];
        for (uint32_t i = 0; i < 64; i++) acc += ((int32_t)x[i] - ({z_x})) * w[i];
        h[o] = hwact_cfu_fc1_sigmoid_acc(acc);
    }}
    for (uint32_t o = 0; o < 10; o++) {{
        const int8_t *w = net_w2 + o * {HIDDEN};
        int32_t acc = net_b2[o];
        for (uint32_t i = 0; i < {HIDDEN}; i++) acc += ((int32_t)h[i] - ({z_y})) * w[i];
        logits[o] = hwact_cfu_fc2_out_acc(acc);
    }}
}}
""")
    (work / "net_hw.c").write_text('#define NET_SUFFIX hw\n#include "net_kernel.inc"\n')
    (work / "net_sw.c").write_text('#define HWACT_SOFTWARE\n#define NET_SUFFIX sw\n#include "net_kernel.inc"\n')
    main = work / "net_main.c"
    main.write_text(f"""#include <stdint.h>
#include "hwact_cfu.h"
#include "soc.h"
extern const int8_t net_x[];
void net_infer_hw(const int8_t *x, int8_t *logits);
void net_infer_sw(const int8_t *x, int8_t *logits);
static int8_t logits[{len(x)} * 10] __attribute__((aligned(4)));

static void dump(void)
{{
    const uint8_t *b = (const uint8_t *)logits;
    for (uint32_t i = 0; i < {len(x)} * 10; i += 4)
        soc_out((uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 | (uint32_t)b[i + 3] << 24);
}}

int main(void)
{{
    uint32_t t0, t1;
    hwact_cfu_enable();
    net_infer_hw(net_x, logits);  /* warm the caches */
    t0 = soc_cycles();
    for (uint32_t n = 0; n < {len(x)}; n++) net_infer_hw(net_x + 64 * n, logits + 10 * n);
    t1 = soc_cycles();
    soc_out(t1 - t0);
    dump();
    t0 = soc_cycles();
    for (uint32_t n = 0; n < {len(x)}; n++) net_infer_sw(net_x + 64 * n, logits + 10 * n);
    t1 = soc_cycles();
    soc_out(t1 - t0);
    dump();
    return 0;
}}
""")
    assert len(x) * 10 % 4 == 0
    image, sizes = compile_firmware(cfu_dir, work, main=main, defines=CORE_DEFINES[core],
                                    extra_sources=(work / "net_data.c", work / "net_hw.c", work / "net_sw.c"))
    status, _, lines = simulate_soc(core, cfu_dir, image, work, simulator="verilator", max_cycles=200_000_000)
    if status != 0:
        raise RuntimeError(f"the network firmware exited with status {status} on {core}")
    words = [int(v, 16) for v in lines]
    per = len(x) * 10 // 4

    def codes(chunk: list[int]) -> np.ndarray:
        return np.array(chunk, dtype="<u4").view(np.int8).astype(np.int64).reshape(len(x), 10)

    return {"cycles_hw": words[0], "hw": codes(words[1:1 + per]), "cycles_sw": words[1 + per],
            "sw": codes(words[2 + per:2 + 2 * per]), "samples": len(x), "sizes": sizes, "cfu": cfu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make", action="store_true")
    parser.add_argument("--core", default="vexriscv", choices=("vexriscv", "picorv32"))
    args = parser.parse_args(argv)
    if args.make:
        make()
        return 0
    q = load()
    _, logits = model_logits(q, q["x_test"])
    predicted = logits.argmax(axis=1)
    result = {"samples": len(predicted), "float_accuracy": float(q["float_accuracy"]),
              "int8_accuracy": float(np.mean(predicted == q["y_test"]))}
    try:
        peer = tflm_logits(q["x_test"])
        result.update({"tflm_logits_differ": int(np.sum(peer != logits)),
                       "tflm_predictions_differ": int(np.sum(peer.argmax(axis=1) != predicted)),
                       "tflm_accuracy": float(np.mean(peer.argmax(axis=1) == q["y_test"]))})
    except ImportError:
        print("tflite-micro not installed (pip install -e .[peers]): no TFLite-Micro comparison", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hwact-digits-") as tmp:
        run = run_on_core(q, Path(tmp), args.core)
    n = run["samples"]
    result.update({
        "core": args.core, "hw_equals_model": bool(np.array_equal(run["hw"], logits)),
        "sw_equals_model": bool(np.array_equal(run["sw"], logits)),
        "cycles_per_inference_fused": run["cycles_hw"] / n, "cycles_per_inference_fallback": run["cycles_sw"] / n,
        "outputs_per_inference": HIDDEN + 10,
    })
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["hw_equals_model"] and result["sw_equals_model"] else 1


if __name__ == "__main__":
    sys.exit(main())
