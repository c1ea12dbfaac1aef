"""hwact against the real peers' kernels: TFLite-Micro and ONNX Runtime, on every input code.

Each peer runs a tiny committed model holding one activation (``tests/peers/``; ``--make-models``
writes them: the ``.tflite`` files through the flatbuffer schema that the ``tflite-micro``
package ships, the ``.onnx`` files with ``onnx.helper``, so no TensorFlow is needed). Every
input code of the model's input quantization goes through the peer's interpreter in one
batch; hwact plans a unit for the same affine formats; both are measured against the real
function (float64) in output LSBs, the output scale.

    python bench/peers.py                # print the table, write bench/results/peers.json
    python bench/peers.py --write-docs   # also replace the table in docs/comparison.md
    python bench/peers.py --make-models  # rewrite tests/peers/*.tflite, *.onnx (done once)

Needs the ``peers`` extra (``pip install -e .[peers]``: tflite-micro, onnxruntime, onnx).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "peers"
RESULTS = ROOT / "bench" / "results" / "peers.json"
DOC = ROOT / "docs" / "comparison.md"
BEGIN, END = "<!-- peers:begin (bench/peers.py --write-docs) -->", "<!-- peers:end -->"


@dataclass(frozen=True)
class Case:
    """One model: a peer, an activation, and the input and output quantization (hwact spellings)."""

    peer: str  # "tflm" or "ort"
    function: str  # hwact's name
    in_format: str
    out_format: str

    @property
    def file(self) -> Path:
        kind = "tflite" if self.peer == "tflm" else "onnx"
        bits = "int16" if "int16" in self.in_format else ("uint8" if self.in_format.startswith("uint8") else "int8")
        return MODELS / f"{self.peer}_{self.function}_{bits}.{kind}"


CASES = [
    Case("tflm", "sigmoid", "int8(scale=2^-4)", "tflite:logistic"),
    Case("tflm", "tanh", "int8(scale=2^-4)", "tflite:tanh"),
    Case("tflm", "sigmoid", "int16(scale=2^-12)", "tflite:logistic:int16"),
    Case("tflm", "tanh", "int16(scale=2^-12)", "tflite:tanh:int16"),
    Case("ort", "sigmoid", "int8(scale=2^-4)", "onnx:sigmoid:int8"),
    Case("ort", "tanh", "int8(scale=2^-4)", "onnx:tanh:int8"),
    Case("ort", "sigmoid", "uint8(scale=0.0625, zp=128)", "onnx:sigmoid"),
    Case("ort", "tanh", "uint8(scale=0.0625, zp=128)", "onnx:tanh"),
    # ONNX has no int16 activation convention: TFLite's scales, for a side-by-side reading.
    Case("ort", "sigmoid", "int16(scale=2^-12)", "tflite:logistic:int16"),
    Case("ort", "tanh", "int16(scale=2^-12)", "tflite:tanh:int16"),
]


# -- making the models (once) ---------------------------------------------------------------


def tflite_model(case: Case) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    from hwact import Fmt

    fin, fout = Fmt.parse(case.in_format), Fmt.parse(case.out_format)
    kind = {8: schema.TensorType.INT8, 16: schema.TensorType.INT16}[fin.width]
    n = fin.n_codes

    def tensor(name: str, fmt, buffer: int):
        t = schema.TensorT()
        t.shape, t.type, t.buffer, t.name = [1, n], kind, buffer, name.encode()
        q = schema.QuantizationParametersT()
        q.scale, q.zeroPoint = [float(np.float32(fmt.scale))], [fmt.zero_point]
        t.quantization = q
        return t

    code = schema.OperatorCodeT()
    op_code = {"sigmoid": schema.BuiltinOperator.LOGISTIC, "tanh": schema.BuiltinOperator.TANH}[case.function]
    code.builtinCode, code.deprecatedBuiltinCode, code.version = op_code, op_code, 2 if fin.width == 16 else 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph = schema.SubGraphT()
    graph.tensors = [tensor("x", fin, 1), tensor("y", fout, 2)]
    graph.inputs, graph.outputs, graph.operators, graph.name = [0], [1], [op], b"main"
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [schema.BufferT() for _ in range(3)]
    model.description = f"hwact peer model: {case.function} {case.in_format} -> {case.out_format}".encode()
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _onnx_model(case: Case) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    from hwact import Fmt

    fin, fout = Fmt.parse(case.in_format), Fmt.parse(case.out_format)
    kinds = {(8, True): TensorProto.INT8, (8, False): TensorProto.UINT8, (16, True): TensorProto.INT16}
    elem, out_elem = kinds[(fin.width, fin.signed)], kinds[(fout.width, fout.signed)]
    inits = [helper.make_tensor("x_scale", TensorProto.FLOAT, [], [fin.scale]),
             helper.make_tensor("x_zp", elem, [], [fin.zero_point]),
             helper.make_tensor("y_scale", TensorProto.FLOAT, [], [fout.scale]),
             helper.make_tensor("y_zp", out_elem, [], [fout.zero_point])]
    # The QDQ form quantization tools write; ONNX Runtime fuses it into its QLinear lookup-table kernel.
    nodes = [helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zp"], ["xf"]),
             helper.make_node({"sigmoid": "Sigmoid", "tanh": "Tanh"}[case.function], ["xf"], ["yf"]),
             helper.make_node("QuantizeLinear", ["yf", "y_scale", "y_zp"], ["y"])]
    graph = helper.make_graph(nodes, f"{case.function}", [helper.make_tensor_value_info("x", elem, [None])],
                              [helper.make_tensor_value_info("y", out_elem, [None])], initializer=inits)
    opset = 21 if fin.width == 16 else 13  # int16 QuantizeLinear / DequantizeLinear arrived in opset 21
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="hwact bench/peers.py")
    model.ir_version = 10 if opset == 21 else 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def make_models() -> None:
    MODELS.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        case.file.write_bytes(tflite_model(case) if case.peer == "tflm" else _onnx_model(case))
        print(f"wrote {case.file.relative_to(ROOT)} ({case.file.stat().st_size} bytes)")


# -- running them --------------------------------------------------------------------------


def peer_outputs(case: Case, codes: np.ndarray) -> np.ndarray:
    """The peer's output code for every input code, from the committed model."""
    data = case.file.read_bytes()
    if case.peer == "tflm":
        from tflite_micro.python.tflite_micro import runtime

        interpreter = runtime.Interpreter.from_bytes(data, arena_size=16 * codes.size + (1 << 16))
        dtype = np.int16 if "int16" in case.in_format else np.int8
        interpreter.set_input(codes.astype(dtype).reshape(1, -1), 0)
        interpreter.invoke()
        return np.asarray(interpreter.get_output(0)).reshape(-1).astype(np.int64)
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    dtype = np.uint8 if case.in_format.startswith("uint8") else np.int16 if "int16" in case.in_format else np.int8
    (y,) = session.run(None, {"x": codes.astype(dtype)})
    return np.asarray(y).astype(np.int64)


@functools.cache
def compare(case: Case) -> dict:
    """The peer and hwact on every input code of the case, both measured against the real function (once)."""
    from hwact import Fmt, make_plan
    from hwact.cost import plan_cost
    from hwact.functions import get
    from hwact.measure import TIE_TOLERANCE
    from hwact.model import evaluate

    fin, fout = Fmt.parse(case.in_format), Fmt.parse(case.out_format)
    codes = fin.all_codes()
    peer = peer_outputs(case, codes)
    started = time.perf_counter()
    plan = make_plan(case.function, fin, fout)
    planning = time.perf_counter() - started
    ours = evaluate(plan, codes)
    real = np.clip(fout.code_units(get(case.function).reference(fin.to_real(codes), {})), fout.min_code, fout.max_code)

    def stats(y: np.ndarray) -> dict:
        err = np.abs(y - real)
        return {"max_lsb": float(err.max()), "mean_abs_lsb": float(err.mean()),
                "correctly_rounded": float(np.mean(err <= 0.5 + TIE_TOLERANCE)),
                "monotonic": bool(np.all(np.diff(y) >= 0))}

    return {
        "peer": {"tflm": "TFLite-Micro", "ort": "ONNX Runtime"}[case.peer], "model": str(case.file.relative_to(ROOT)),
        "function": case.function, "in_format": str(fin), "out_format": str(fout), "codes": int(codes.size),
        "peer_error": stats(peer), "hwact_error": stats(ours), "differing_codes": int(np.sum(peer != ours)),
        "hwact_method": plan.method, "hwact_table_bits": plan_cost(plan).table_bits,
        "hwact_planning_s": round(planning, 2),
    }


def table(rows: list[dict]) -> str:
    lines = ["| peer | function | input → output | codes | peer max (LSB) | peer CR | hwact max (LSB) | hwact CR "
             "| codes that differ |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        p, h = r["peer_error"], r["hwact_error"]
        lines.append(f"| {r['peer']} | {r['function']} | `{r['in_format']}` → `{r['out_format']}` | {r['codes']:,} "
                     f"| {p['max_lsb']:.3f} | {100 * p['correctly_rounded']:.1f} % | {h['max_lsb']:.3f} "
                     f"| {100 * h['correctly_rounded']:.1f} % | {r['differing_codes']:,} |")
    return "\n".join(lines)


def write_docs(text: str) -> None:
    doc = DOC.read_text()
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc:
        head, _, rest = doc.partition(BEGIN)
        doc = head + block + rest.partition(END)[2]
    else:
        doc = doc.rstrip("\n") + "\n\n## Against the peers' own kernels, every code\n\n" + block + "\n"
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--make-models", action="store_true")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    if args.make_models:
        make_models()
        return 0
    rows = [compare(case) for case in CASES]
    text = table(rows)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=2) + "\n")
    if args.write_docs:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
