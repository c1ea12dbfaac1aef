"""Network-level effect: a small MLP on scikit-learn's bundled 8x8 digits, with float activations
and with hwact's bit-exact units at 8 and 16 bits.

The network is 64 -> 32 -> 10 (one hidden layer), trained once in float by full-batch Adam in
NumPy (a second or two), seeded, for each hidden activation (tanh, sigmoid, GELU). Deployment
is modelled as an integer accelerator would run it: the hidden pre-activation is quantized to
the unit's input format (round half to even, saturating), the unit's output codes come from
:func:`hwact.model.evaluate` on the plan ``make_plan`` returns (``auto``, 1 LSB budget; through the
plan cache), and
they are dequantized for the output layer. Weights stay in float, so the difference from the
float network is the activation's quantization and the unit's approximation, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ACTIVATIONS",
    "FORMATS",
    "evaluate_network",
    "load_digits_split",
    "network_document",
    "network_markdown",
    "network_results",
    "train",
    "units_from_files",
]

#: Unit formats per activation and width: (input, output).
FORMATS: dict[str, dict[int, tuple[str, str]]] = {
    "tanh": {8: ("s4.4", "s1.7"), 16: ("s4.12", "s1.15")},
    "sigmoid": {8: ("s4.4", "u0.8"), 16: ("s4.12", "u0.16")},
    "gelu": {8: ("s4.4", "s4.4"), 16: ("s4.12", "s4.12")},
}
ACTIVATIONS = tuple(FORMATS)
HIDDEN = 32
SEED = 0
#: Full-batch Adam steps of :func:`train`.
EPOCHS = 400


def _act(name: str, z: np.ndarray, params=None) -> tuple[np.ndarray, np.ndarray]:
    """Activation and its derivative (any one-operand function of :mod:`hwact.functions`: its float64
    reference, differentiated numerically, when it is not one of the three built in)."""
    if params is not None:
        from ..functions import get

        fn = get(name)
        step = 1e-4
        a = fn.reference(z, params)
        return a, (fn.reference(z + step, params) - fn.reference(z - step, params)) / (2 * step)
    if name == "tanh":
        a = np.tanh(z)
        return a, 1 - a * a
    if name == "sigmoid":
        a = 1 / (1 + np.exp(-z))
        return a, a * (1 - a)
    from scipy.special import erf

    cdf = 0.5 * (1 + erf(z / np.sqrt(2)))
    return z * cdf, cdf + z * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)


def load_digits_split(seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1,797 digits scaled to [0, 1], split 70/30 with a fixed seed."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = data.data / 16.0, data.target
    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(0.7 * len(y))
    return x[order[:cut]], y[order[:cut]], x[order[cut:]], y[order[cut:]]


def train(activation: str, x: np.ndarray, y: np.ndarray, epochs: int | None = None, seed: int = SEED,
          params=None) -> dict[str, np.ndarray]:
    """Full-batch Adam on softmax cross-entropy (``epochs`` steps, default :data:`EPOCHS`); returns the weights."""
    epochs = EPOCHS if epochs is None else epochs
    rng = np.random.default_rng(seed)
    w = {"w1": rng.normal(0, 1 / np.sqrt(x.shape[1]), (x.shape[1], HIDDEN)), "b1": np.zeros(HIDDEN),
         "w2": rng.normal(0, 1 / np.sqrt(HIDDEN), (HIDDEN, 10)), "b2": np.zeros(10)}
    m = {k: np.zeros_like(v) for k, v in w.items()}
    v = {k: np.zeros_like(val) for k, val in w.items()}
    onehot = np.eye(10)[y]
    lr, b1, b2 = 0.02, 0.9, 0.999
    for step in range(1, epochs + 1):
        z = x @ w["w1"] + w["b1"]
        h, dh = _act(activation, z, params)
        logits = h @ w["w2"] + w["b2"]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / len(y)
        grads = {"w2": h.T @ g, "b2": g.sum(0)}
        gz = (g @ w["w2"].T) * dh
        grads["w1"], grads["b1"] = x.T @ gz, gz.sum(0)
        for k in w:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            w[k] -= lr * (m[k] / (1 - b1 ** step)) / (np.sqrt(v[k] / (1 - b2 ** step)) + 1e-8)
    return w


def evaluate_network(weights: dict[str, np.ndarray], activation: str, x: np.ndarray, plan=None,
                     params=None) -> np.ndarray:
    """Predicted classes with the float activation, or through ``plan`` (bit-exact hwact unit)."""
    from ..model import evaluate

    z = x @ weights["w1"] + weights["b1"]
    if plan is None:
        h = _act(activation, z, params)[0]
    else:
        codes = plan.in_fmt.from_real(z, rounding="RND_CONV", overflow_mode="SAT")
        h = plan.out_fmt.to_real(evaluate(plan, codes))
    return np.argmax(h @ weights["w2"] + weights["b2"], axis=1)


def units_from_files(paths: list[Path]) -> list[tuple[str, Any]]:
    """``(name, plan)`` of every unit in unit manifests and ``cfu.json`` files, for :func:`network_results`.

    A network's hidden layer takes one code in and one out, so two-operand and two-output
    units are refused with a message naming them.
    """
    from ..artifacts import load_manifest, read_json
    from ..cfu.sim import load_cfu

    units = []
    for path in paths:
        data = read_json(path)
        if isinstance(data, dict) and "units" in data and "discovery" in data:
            units += [(op.name, op.plan) for op in load_cfu(Path(path).parent).ops]
        else:
            manifest, plan = load_manifest(Path(path))
            units.append((manifest["top"], plan))
    for name, plan in units:
        if plan.operands != 1 or plan.mirror:
            raise ValueError(f"unit {name!r} ({plan.function}) takes a second operand or gives two outputs; "
                             "a network's hidden layer needs one code in, one out")
    return units


def _user_results(name: str, units: list[tuple[str, Any]], progress=None) -> dict[str, Any]:
    """Accuracy with each given unit as the hidden activation, against the float network with its function."""
    from ..functions import describe
    from ..measure import report

    x_train, y_train, x_test, y_test = load_digits_split()
    trained: dict[str, Any] = {}
    rows = []
    for unit, plan in units:
        label = describe(plan.function, plan.params)
        if label not in trained:
            if progress:
                progress(f"training with {label}")
            weights = train(plan.function, x_train, y_train, params=plan.params)
            trained[label] = (weights, evaluate_network(weights, plan.function, x_test, params=plan.params))
        weights, float_pred = trained[label]
        if progress:
            progress(f"evaluating {unit}")
        pred = evaluate_network(weights, plan.function, x_test, plan)
        stats = report(plan)
        rows.append({"unit": unit, "activation": label, "in_format": str(plan.in_fmt),
                     "out_format": str(plan.out_fmt), "method": plan.method, "max_lsb": stats.max_lsb,
                     "float_accuracy": float(np.mean(float_pred == y_test)),
                     "accuracy": float(np.mean(pred == y_test)),
                     "changed_fraction": float(np.mean(pred != float_pred)),
                     "changed": int(np.sum(pred != float_pred))})
    return {"network": name, "data": "scikit-learn load_digits (1,797 8x8 images, 10 classes)",
            "split": {"train": len(y_train), "test": len(y_test), "seed": SEED},
            "model": f"64 -> {HIDDEN} (activation) -> 10, float weights, Adam {EPOCHS} full-batch steps",
            "units": rows}


def network_results(name: str = "digits", progress=None, units: list[tuple[str, Any]] | None = None
                    ) -> dict[str, Any]:
    """Accuracy with float activations and with hwact units: the built-in 8- and 16-bit units of
    tanh, sigmoid and GELU, or each of ``units`` (``(name, plan)``, e.g. from :func:`units_from_files`)."""
    from ..measure import report
    from ..plan_cache import cached_make_plan

    if name != "digits":
        raise ValueError(f"--network knows 'digits' (scikit-learn's 8x8 digits), not {name!r}")
    if units is not None:
        return _user_results(name, units, progress)
    x_train, y_train, x_test, y_test = load_digits_split()
    rows = []
    for activation in ACTIVATIONS:
        if progress:
            progress(f"training {activation}")
        weights = train(activation, x_train, y_train)
        float_pred = evaluate_network(weights, activation, x_test)
        row: dict[str, Any] = {"activation": activation, "float_accuracy": float(np.mean(float_pred == y_test)),
                               "units": {}}
        for bits, (fin, fout) in FORMATS[activation].items():
            if progress:
                progress(f"planning {activation} {fin} -> {fout}")
            plan = cached_make_plan(activation, fin, fout)
            pred = evaluate_network(weights, activation, x_test, plan)
            stats = report(plan)
            row["units"][str(bits)] = {
                "in_format": fin, "out_format": fout, "method": plan.method,
                "max_lsb": stats.max_lsb, "accuracy": float(np.mean(pred == y_test)),
                "changed_fraction": float(np.mean(pred != float_pred)), "changed": int(np.sum(pred != float_pred))}
        rows.append(row)
    return {"network": name, "data": "scikit-learn load_digits (1,797 8x8 images, 10 classes)",
            "split": {"train": len(y_train), "test": len(y_test), "seed": SEED},
            "model": f"64 -> {HIDDEN} (activation) -> 10, float weights, Adam {EPOCHS} full-batch steps",
            "rows": rows}


def network_markdown(results: dict[str, Any]) -> list[str]:
    """The table: accuracy with float activations and with the 8- and 16-bit units, predictions changed."""
    lines = [(f"Data: {results['data']}; {results['split']['train']} training and {results['split']['test']} test "
             f"images (seed {results['split']['seed']}). Model: {results['model']}. The hidden pre-activation is "
             "quantized to the unit's input format (round half to even, saturating) and run through hwact's "
             "bit-exact model of the unit; changed = test predictions that differ from the float network's."), ""]
    if "units" in results:  # the user's units, one row each
        lines += ["| unit | activation | formats | float accuracy | unit accuracy | changed |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for u in results["units"]:
            lines.append(f"| {u['unit']} | {u['activation']} | {u['in_format']} → {u['out_format']} ({u['method']}, "
                         f"{u['max_lsb']:.3g} LSB) | {100 * u['float_accuracy']:.2f} % | {100 * u['accuracy']:.2f} % "
                         f"| {u['changed']} ({100 * u['changed_fraction']:.2f} %) |")
        return lines
    lines += [("| activation | float accuracy | 8-bit unit | 8-bit accuracy | changed (8-bit) | 16-bit unit "
               "| 16-bit accuracy | changed (16-bit) |"),
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in results["rows"]:
        cells = [row["activation"], f"{100 * row['float_accuracy']:.2f} %"]
        for bits in ("8", "16"):
            u = row["units"][bits]
            cells += [f"{u['in_format']} → {u['out_format']} ({u['method']}, {u['max_lsb']:.3g} LSB)",
                      f"{100 * u['accuracy']:.2f} %", f"{u['changed']} ({100 * u['changed_fraction']:.2f} %)"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def network_document(name: str, units: list[tuple[str, Any]] | None = None, progress=None):
    """``(document, images, stem)`` for :func:`hwact.report.document.render` (``units`` as for
    :func:`network_results`)."""
    from .document import new_document

    results = network_results(name, progress, units)
    document = new_document(f"network effect on {name}")
    document["preamble"] = ["\n".join(network_markdown(results))]
    document["network"] = results
    return document, {}, f"network-{name}.report"
