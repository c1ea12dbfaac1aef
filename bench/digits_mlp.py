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
firmware classifies the test set three ways: with the instruction, with its bit-exact C
fallback, and with a plain C port of TFLite-Micro's own int8 reference kernels
(``bench/tflm_ref``: FULLY_CONNECTED, LOGISTIC, FULLY_CONNECTED, no accelerator); all three must
equal this module's NumPy model (:func:`model_logits`). It also times the same loops with no
output stage, so (fused - none) / outputs is what the fused instruction costs per output. The
peer tier compares the NumPy model and the C port (compiled for the host) with the TFLite-Micro
interpreter running the ``.tflite`` file.

    python bench/digits_mlp.py --make     # train, quantize, write tests/peers/digits_mlp.*
    python bench/digits_mlp.py            # run on VexRiscv (and TFLite-Micro when installed)
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
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
#: The plain C port of TFLite-Micro's int8 FULLY_CONNECTED and LOGISTIC reference kernels.
TFLM_REF = ROOT / "bench" / "tflm_ref"
#: Functions and loops at fixed alignments, so the variants' loops meet the instruction cache
#: and the branch predictor alike: the cycle differences are then the code's, not its layout's.
ALIGN = ("-falign-functions=64", "-falign-loops=32")
#: Inferences on one digit, caches warm, per variant: the output stage's cost without memory stalls.
WARM = 8
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


def tflm_prepare(q: dict) -> dict[str, tuple[int, ...]]:
    """What TFLite-Micro's Prepare steps derive for the three kernels (``bench/tflm_ref/tflm_ref.h`` order).

    ``fc1``/``fc2``: input, filter and output offsets, output multiplier and shift, activation
    clamp (none fused: the int8 range). ``logistic``: input zero point, input range radius,
    input multiplier and left shift of the int8 LOGISTIC kernel (input rescaled to Q4.27).
    """
    z_x, z_h, z_y, z_o = (int(v) for v in q["zero_points"])
    r1, r2 = requants(q)
    return {"fc1": (-z_x, 0, z_h, r1.multiplier, r1.shift, -128, 127),
            "logistic": logistic_prepare(float(q["scales"][2]), z_h),
            "fc2": (-z_y, 0, z_o, r2.multiplier, r2.shift, -128, 127)}


def logistic_prepare(scale: float, zero_point: int) -> tuple[int, int, int, int]:
    """TFLite-Micro's int8 LOGISTIC Prepare: zero point, input radius, multiplier, left shift (input to Q4.27)."""
    fraction, left_shift = math.frexp(float(np.float32(scale)) * (1 << 27))
    multiplier = math.floor(fraction * (1 << 31) + 0.5)  # TfLiteRound; frexp's fraction is in [0.5, 1)
    radius = math.floor(15 * (1 << 27) / 2.0**left_shift)  # CalculateInputRadius(4, left_shift, 31)
    return zero_point, radius, multiplier, left_shift


def logistic_on_host(params: list[tuple[int, int, int, int]], work: Path, compiler: str = "cc") -> np.ndarray:
    """The port's int8 LOGISTIC kernel on every int8 code (-128..127), for each prepared ``params``: rows."""
    work = Path(work)
    rows = ", ".join("{" + ", ".join(map(str, p)) + "}" for p in params)
    (work / "logistic_main.c").write_text(f"""#include <stdint.h>
#include <stdio.h>
#include "tflm_ref.h"
static const tflm_logistic_params params[] = {{{rows}}};
int main(void)
{{
    int8_t x[256], y[256];
    for (int i = 0; i < 256; i++) x[i] = (int8_t)(i - 128);
    for (unsigned k = 0; k < sizeof params / sizeof params[0]; k++) {{
        tflm_logistic_int8(&params[k], 256, x, y);
        for (int i = 0; i < 256; i++) printf("%d\\n", y[i]);
    }}
    return 0;
}}
""")
    binary = work / "logistic_host"
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{TFLM_REF}",
                    str(work / "logistic_main.c"), str(TFLM_REF / "tflm_ref.c"), "-o", str(binary)],
                   check=True, capture_output=True, text=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.split()
    return np.array(out, dtype=np.int64).reshape(len(params), 256)


def _reference_source(q: dict, x_name: str, logits_name: str) -> str:
    """C calling the TFLite-Micro port (``bench/tflm_ref``) for one inference."""
    p = tflm_prepare(q)
    return f"""#include <stdint.h>
#include "tflm_ref.h"
extern const int8_t net_w1[], net_w2[];
extern const int32_t net_b1[], net_b2[];
static const tflm_fc_params fc1 = {{{", ".join(map(str, p["fc1"]))}}};
static const tflm_logistic_params logistic = {{{", ".join(map(str, p["logistic"]))}}};
static const tflm_fc_params fc2 = {{{", ".join(map(str, p["fc2"]))}}};
/* FULLY_CONNECTED, LOGISTIC, FULLY_CONNECTED: the .tflite graph, kernel by kernel. */
void net_infer_ref(const int8_t *{x_name}, int8_t *{logits_name})
{{
    int8_t pre[{HIDDEN}], h[{HIDDEN}];
    tflm_fully_connected_int8(&fc1, {x_name}, net_w1, net_b1, pre, 1, {HIDDEN}, 64);
    tflm_logistic_int8(&logistic, {HIDDEN}, pre, h);
    tflm_fully_connected_int8(&fc2, h, net_w2, net_b2, {logits_name}, 1, 10, {HIDDEN});
}}

/* The first FULLY_CONNECTED alone, and the LOGISTIC kernel alone on its {HIDDEN} codes: to time
   the activation apart from the fully connected kernels, on the codes the network gives it. */
void net_ref_fc1(const int8_t *{x_name}, int8_t *pre)
{{
    tflm_fully_connected_int8(&fc1, {x_name}, net_w1, net_b1, pre, 1, {HIDDEN}, 64);
}}

void net_ref_logistic(const int8_t *pre, int8_t *h)
{{
    tflm_logistic_int8(&logistic, {HIDDEN}, pre, h);
}}
"""


def _data_source(q: dict, x: np.ndarray) -> str:
    return "\n".join([
        "#include <stdint.h>", _array("int8_t", "net_x", x), _array("int8_t", "net_w1", q["w1"]),
        _array("int32_t", "net_b1", q["b1"]), _array("int8_t", "net_w2", q["w2"]), _array("int32_t", "net_b2", q["b2"]),
    ]) + "\n"


def reference_on_host(q: dict, x: np.ndarray, work: Path, compiler: str = "cc") -> np.ndarray:
    """The TFLite-Micro port compiled for this machine, on int8 inputs ``x`` (rows): the logits."""
    work = Path(work)
    (work / "net_data.c").write_text(_data_source(q, x))
    (work / "net_ref.c").write_text(_reference_source(q, "x", "logits"))
    (work / "host_main.c").write_text(f"""#include <stdint.h>
#include <stdio.h>
extern const int8_t net_x[];
void net_infer_ref(const int8_t *x, int8_t *logits);
int main(void)
{{
    int8_t logits[10];
    for (int n = 0; n < {len(x)}; n++) {{
        net_infer_ref(net_x + 64 * n, logits);
        for (int k = 0; k < 10; k++) printf("%d\\n", logits[k]);
    }}
    return 0;
}}
""")
    binary = work / "net_host"
    sources = [str(work / name) for name in ("host_main.c", "net_ref.c", "net_data.c")] + [str(TFLM_REF / "tflm_ref.c")]
    subprocess.run([compiler, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{TFLM_REF}", *sources,
                    "-o", str(binary)], check=True, capture_output=True, text=True)
    out = subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout.split()
    return np.array(out, dtype=np.int64).reshape(len(x), 10)


def per_channel_scales(q: dict) -> list[float]:
    """The output layer's real multipliers with one weight scale per output row (max |w| / 127 of the row)."""
    s_y, s_w2, s_o = (float(q["scales"][k]) for k in (3, 4, 5))
    rows = np.abs(q["w2"].astype(np.int64)).max(axis=1) / 127 * s_w2
    return [float(s_y * r / s_o) for r in rows]


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

# Not used by the network: the output layer's requantization as if its weights were quantized per
# output channel (the per-channel fused op, rs2 = the channel), for the fused-op proof firmware.
[[unit]]
name = "fc2_per_channel"
function = "identity"
in_format = "{out}"
out_format = "{out}"
requant = {{ scales = [{", ".join(repr(v) for v in per_channel_scales(q))}] }}
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


def run_on_core(q: dict, work: Path, core: str = "vexriscv", count: int | None = None, warm: int = WARM) -> dict:
    """Build the CFU, classify ``count`` test digits on ``core`` three ways (instruction, fallback, the
    TFLite-Micro port): logits and cycles, then ``warm`` inferences of one digit per variant, timed."""
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
    (work / "net_data.c").write_text(_data_source(q, x))
    (work / "net_ref.c").write_text(_reference_source(q, "x", "logits"))
    (work / "net_kernel.inc").write_text(f"""#include <stdint.h>
#include "hwact_cfu.h"
extern const int8_t net_w1[], net_w2[];
extern const int32_t net_b1[], net_b2[];
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#ifdef NET_RAW  /* no output stage: the accumulator's low byte, to time the stage itself */
#define FC1_OUT(acc) ((int8_t)(acc))
#define FC2_OUT(acc) ((int8_t)(acc))
#else
#define FC1_OUT(acc) hwact_cfu_fc1_sigmoid_acc(acc)
#define FC2_OUT(acc) hwact_cfu_fc2_out_acc(acc)
#endif
/* TFLite's int8 fully connected kernels, each ending in the fused requantize + activation op. */
void CAT(net_infer_, NET_SUFFIX)(const int8_t *x, int8_t *logits)
{{
    int8_t h[{HIDDEN}];
    for (uint32_t o = 0; o < {HIDDEN}; o++) {{
        const int8_t *w = net_w1 + o * 64;
        int32_t acc = net_b1[o];
        for (uint32_t i = 0; i < 64; i++) acc += ((int32_t)x[i] - ({z_x})) * w[i];
        h[o] = FC1_OUT(acc);
    }}
    for (uint32_t o = 0; o < 10; o++) {{
        const int8_t *w = net_w2 + o * {HIDDEN};
        int32_t acc = net_b2[o];
        for (uint32_t i = 0; i < {HIDDEN}; i++) acc += ((int32_t)h[i] - ({z_y})) * w[i];
        logits[o] = FC2_OUT(acc);
    }}
}}
""")
    (work / "net_hw.c").write_text('#define NET_SUFFIX hw\n#include "net_kernel.inc"\n')
    (work / "net_sw.c").write_text('#define HWACT_SOFTWARE\n#define NET_SUFFIX sw\n#include "net_kernel.inc"\n')
    (work / "net_raw.c").write_text('#define NET_RAW\n#define NET_SUFFIX raw\n#include "net_kernel.inc"\n')
    main = work / "net_main.c"
    variants = ("hw", "sw", "ref")
    warm_runs = "\n".join(f"""    net_infer_{v}(net_x, scratch);
    t0 = soc_cycles();
    for (uint32_t n = 0; n < {warm}; n++) net_infer_{v}(net_x, scratch);
    t1 = soc_cycles();
    soc_out(t1 - t0);""" for v in (*variants, "raw"))
    runs = "\n".join(f"""    net_infer_{v}(net_x, logits);  /* warm the caches */
    t0 = soc_cycles();
    for (uint32_t n = 0; n < {len(x)}; n++) net_infer_{v}(net_x + 64 * n, logits + 10 * n);
    t1 = soc_cycles();
    soc_out(t1 - t0);
    dump();""" for v in variants)
    main.write_text(f"""#include <stdint.h>
#include "hwact_cfu.h"
#include "soc.h"
extern const int8_t net_x[];
void net_infer_hw(const int8_t *x, int8_t *logits);
void net_infer_sw(const int8_t *x, int8_t *logits);
void net_infer_ref(const int8_t *x, int8_t *logits);
void net_infer_raw(const int8_t *x, int8_t *logits);
void net_ref_fc1(const int8_t *x, int8_t *pre);
void net_ref_logistic(const int8_t *pre, int8_t *h);
static int8_t logits[{len(x)} * 10] __attribute__((aligned(4)));
static int8_t scratch[10];

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
{runs}
    /* The same loops with no output stage (not a classifier: timing only). */
    net_infer_raw(net_x, logits);
    t0 = soc_cycles();
    for (uint32_t n = 0; n < {len(x)}; n++) net_infer_raw(net_x + 64 * n, logits + 10 * n);
    t1 = soc_cycles();
    soc_out(t1 - t0);
    /* Warm: one digit {warm} times over, every variant, so no cache miss blurs the output stage. */
{warm_runs}
    {{
        static int8_t pre[{HIDDEN}], h[{HIDDEN}];
        net_ref_fc1(net_x, pre);
        net_ref_logistic(pre, h);
        t0 = soc_cycles();
        for (uint32_t n = 0; n < {warm}; n++) net_ref_logistic(pre, h);
        t1 = soc_cycles();
        soc_out(t1 - t0);
    }}
    return 0;
}}
""")
    assert len(x) * 10 % 4 == 0
    sources = (*(work / f"net_{v}.c" for v in ("data", "hw", "sw", "raw", "ref")), TFLM_REF / "tflm_ref.c")
    image, sizes = compile_firmware(cfu_dir, work, main=main, defines=(*CORE_DEFINES[core], f"-I{TFLM_REF}", *ALIGN),
                                    extra_sources=sources)
    status, _, lines = simulate_soc(core, cfu_dir, image, work, simulator="verilator", max_cycles=400_000_000)
    if status != 0:
        raise RuntimeError(f"the network firmware exited with status {status} on {core}")
    words = [int(v, 16) for v in lines]
    per = len(x) * 10 // 4
    result = {"samples": len(x), "sizes": sizes, "cfu": cfu}
    for k, v in enumerate(variants):
        chunk = words[k * (1 + per):(k + 1) * (1 + per)]
        result[f"cycles_{v}"] = chunk[0]
        result[v] = np.array(chunk[1:], dtype="<u4").view(np.int8).astype(np.int64).reshape(len(x), 10)
    result["cycles_raw"] = words[len(variants) * (1 + per)]
    for k, v in enumerate((*variants, "raw")):
        result[f"warm_{v}"] = words[len(variants) * (1 + per) + 1 + k] / warm
    result["warm_ref_logistic"] = words[len(variants) * (1 + per) + 5] / warm
    return result


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
        with tempfile.TemporaryDirectory(prefix="hwact-tflm-port-") as tmp:
            port = reference_on_host(q, q["x_test"], Path(tmp))
        result.update({"tflm_logits_differ": int(np.sum(peer != logits)),
                       "tflm_port_on_host_logits_differ": int(np.sum(peer != port)),
                       "tflm_predictions_differ": int(np.sum(peer.argmax(axis=1) != predicted)),
                       "tflm_accuracy": float(np.mean(peer.argmax(axis=1) == q["y_test"]))})
    except ImportError:
        print("tflite-micro not installed (pip install -e .[peers]): no TFLite-Micro comparison", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="hwact-digits-") as tmp:
        run = run_on_core(q, Path(tmp), args.core)
    n, outputs = run["samples"], HIDDEN + 10
    result.update({
        "core": args.core, "hw_equals_model": bool(np.array_equal(run["hw"], logits)),
        "sw_equals_model": bool(np.array_equal(run["sw"], logits)),
        "tflm_port_equals_model": bool(np.array_equal(run["ref"], logits)),
        "cycles_per_inference_fused": run["cycles_hw"] / n, "cycles_per_inference_fallback": run["cycles_sw"] / n,
        "cycles_per_inference_tflm_port": run["cycles_ref"] / n,
        "cycles_per_inference_no_output_stage": run["cycles_raw"] / n,
        "outputs_per_inference": outputs,
        # One digit WARM times over, caches warm: the same loops with no output stage, and what each
        # output stage adds to them per output.
        "warm_cycles_per_inference": {v: run[f"warm_{v}"] for v in ("hw", "sw", "ref", "raw")},
        # The port's LOGISTIC kernel alone (32 codes), warm: its share of the port's inference.
        "warm_cycles_tflm_port_logistic": run["warm_ref_logistic"],
        "fused_cycles_per_output": (run["warm_hw"] - run["warm_raw"]) / outputs,
        "fallback_cycles_per_output": (run["warm_sw"] - run["warm_raw"]) / outputs,
        "firmware_sizes": run["sizes"],
    })
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["hw_equals_model"] and result["sw_equals_model"] and result["tflm_port_equals_model"] else 1


if __name__ == "__main__":
    sys.exit(main())
