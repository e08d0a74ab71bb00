"""linear (PyTorch's nn.Linear) end to end through the registry: the exact derivation against
the runtime on exact rationals, the runtime against finite differences, the JSON, the notes,
the checker and the command line."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import sympy

from symcnn import derive, layer_from_dict, notes, runtime
from symcnn.check import check_text
from symcnn.cli import main
from symcnn.codegen.generate import generate, load
from symcnn.codegen.structure import StructureError, _require_equal
from symcnn.evaluate import bind, evaluate
from symcnn.jsonio import dumps
from symcnn.layers import entry
from symcnn.layers.linear import codegen
from symcnn.layers.linear.spec import Linear
from tests.codegen_helpers import (
    compare_exactly,
    compare_with_runtime,
    other_batches,
    random_fractions,
)

SPECS = [
    Linear(input_shape=(1, 3), out_features=2),
    Linear(input_shape=(2, 3), out_features=4, reduction="mean"),
    Linear(input_shape=(3, 2), out_features=1, bias=False),
]


def _arrays(spec, rng):
    arrays = {"x": random_fractions(rng, spec.input_shape)}
    arrays["w"] = random_fractions(rng, spec.weight_shape)
    arrays["b"] = random_fractions(rng, (spec.out_features,)) if spec.bias else None
    arrays["g"] = random_fractions(rng, spec.output_shape)
    return arrays


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_derivation_equals_the_runtime_exactly(spec):
    rng = np.random.default_rng(3)
    d = derive(spec)
    a = _arrays(spec, rng)
    values = bind(d.tensors.X, a["x"]) | bind(d.tensors.W, a["w"]) | bind(d.tensors.G, a["g"])
    if spec.bias:
        values |= bind(d.tensors.B, a["b"])
    assert (evaluate(d.output, values) == runtime.forward(spec, a["x"], a["w"], a["b"])).all()
    grads = runtime.backward(spec, a["x"], a["g"], a["w"])
    assert sorted(grads) == sorted(d.grads)
    for name, grad in d.grads.items():
        assert (evaluate(grad, values) == grads[name]).all(), name


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_runtime_gradient_matches_finite_differences(spec):
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal(spec.input_shape), rng.standard_normal(spec.weight_shape)
    b = rng.standard_normal(spec.out_features) if spec.bias else None
    g = rng.standard_normal(spec.output_shape)
    scale = 1 / spec.batch if spec.reduction == "mean" else 1
    grads = runtime.backward(spec, x, g, w)

    def loss(x, w, b):
        return scale * float(np.sum(g * runtime.forward(spec, x, w, b)))

    for name, array in (("X", x), ("W", w), ("B", b)):
        if array is None:
            continue
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            up, down = array.copy(), array.copy()
            up[index] += 1e-6
            down[index] -= 1e-6
            args = {"X": (x, w, b), "W": (x, w, b), "B": (x, w, b)}[name]
            pick = {"X": 0, "W": 1, "B": 2}[name]
            hi, lo = list(args), list(args)
            hi[pick], lo[pick] = up, down
            numeric[index] = (loss(*hi) - loss(*lo)) / 2e-6
        assert np.allclose(grads[name], numeric, rtol=1e-6, atol=1e-8), name


def test_a_4d_input_is_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"input_shape=\[1, 1, 2, 2\].*flatten an image first"):
        Linear(input_shape=(1, 1, 2, 2), out_features=3)


def test_json_follows_the_contract_and_reads_back():
    spec = Linear(input_shape=(2, 3), out_features=2, bias=False)
    data = json.loads(dumps(derive(spec)))
    assert data["layer"] == {
        "type": "linear",
        "input_shape": [2, 3],
        "reduction": "sum",
        "out_features": 2,
        "bias": False,
    }
    assert layer_from_dict(data["layer"]) == spec
    assert sympy.sympify(data["grads"]["W"][1][2]) == sympy.sympify("g_0_1*x_0_2 + g_1_1*x_1_2")


def test_the_notes_print_every_weight():
    printed = notes(derive(Linear(input_shape=(1, 2), out_features=2))).text()
    for name in ("W₁₁", "W₁₂", "W₂₁", "W₂₂", "B₁", "B₂"):
        assert name in printed


def test_a_right_hand_derivation_passes_and_a_wrong_one_fails():
    layer = Linear(input_shape=(1, 2), out_features=1)
    right = "dL/dW11 = dL/dO11 * X11\ndL/dW12 = dL/dO11 * X12"
    summary = check_text(right, layer).summary
    assert (summary["correct"], summary["wrong"]) == (2, 0)
    wrong = "dL/dW11 = dL/dO11 * X12\ndL/dW12 = dL/dO11 * X12"
    summary = check_text(wrong, layer).summary
    assert (summary["correct"], summary["wrong"]) == (1, 1)


def test_every_command_takes_linear(capsys):
    assert main(["derive", "linear", "--input", "2x3", "--out-features", "2"]) == 0
    assert main(["derive", "linear", "--input", "2x3", "--format", "json", "--no-bias"]) == 0
    capsys.readouterr()
    assert main(["derive", "linear", "--input", "2x3", "--kernel", "2"]) == 2
    assert "--kernel does not apply to linear" in capsys.readouterr().err


def test_the_identities_hold_and_are_named():
    from symcnn import identities

    spec = Linear(input_shape=(2, 3), out_features=2, reduction="mean")
    found = identities.verify(derive(spec, namespace="l4"))
    assert [(i.key, i.holds) for i in found] == [
        ("linear_input", True),
        ("linear_weight", True),
        ("linear_bias", True),
    ]


# -- the generated module (symcnn generate linear) -------------------------------------------------

GENERATED = [
    Linear(input_shape=(4, 5), out_features=3),
    Linear(input_shape=(3, 2), out_features=4, reduction="mean"),
    Linear(input_shape=(2, 3), out_features=2, bias=False),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", GENERATED, ids=str)
def test_the_generated_module_matches_the_runtime_at_any_batch(spec, dtype):
    kernels = load(generate(spec, dtype=dtype, strategy="matmul"))
    compare_with_runtime(kernels, spec, dtype)
    for batch in other_batches(spec):
        compare_with_runtime(kernels, spec, dtype, batch=batch)


@pytest.mark.parametrize("spec", GENERATED, ids=str)
def test_the_generated_module_equals_the_derivation_exactly(spec):
    kernels = load(generate(spec, strategy="matmul"))
    compare_exactly(kernels, spec)
    compare_exactly(kernels, spec, seed=1, batch=spec.batch + 2)  # mean: 1/N of that batch


def test_the_proof_refuses_a_structure_that_is_not_the_derivation():
    spec = Linear(input_shape=(2, 2), out_features=2)
    derived = codegen.read(derive(spec))
    rebuilt = codegen.products_maps(spec)
    assert rebuilt == derived
    # dL/dX with W instead of W^T is what a transposed product would give: not the derivation
    swapped = dict(rebuilt.grads["X"])
    swapped[(0, 0)], swapped[(0, 1)] = swapped[(0, 1)], swapped[(0, 0)]
    with pytest.raises(StructureError, match=r"dL/dX at \[0, 0\]"):
        _require_equal("dL/dX", swapped, derived.grads["X"])


def test_an_output_over_an_input_is_refused():
    spec = Linear(input_shape=(2, 3), out_features=3)
    kernels = load(generate(spec, strategy="matmul"))
    x, w = np.ones((2, 3)), np.ones((3, 3))
    with pytest.raises(ValueError, match="out shares memory with x"):
        kernels.forward(x, w, out=x)
    grad_out = np.ones((2, 3))
    with pytest.raises(ValueError, match="grad_x shares memory with grad_out"):
        kernels.backward(x, w, grad_out, out=(grad_out, np.empty((3, 3)), np.empty(3)))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\): expected \(N, 3\)"):
        kernels.forward(np.ones((2, 4)), w)
    with pytest.raises(ValueError, match=r"no taps kernels for linear \(its strategies: matmul\)"):
        generate(spec, strategy="taps")


def test_generate_writes_a_linear_module(tmp_path, capsys):
    args = ["generate", "linear", "--input", "8x6", "--out-features", "4", "-o", str(tmp_path)]
    assert main(args) == 0
    text = (tmp_path / "linear_8x6_out4_float64.py").read_text()
    assert "np.matmul(grad_out.T, x, out=grad_w)" in text
    assert str(tmp_path / "linear_8x6_out4_float64.py") in capsys.readouterr().out


# -- named mistakes --------------------------------------------------------------------------------

SQUARE = Linear(input_shape=(2, 2), out_features=2)


def _claims(grads) -> str:
    """Every entry of every gradient as plain text (1-based, dL/dO written out)."""
    lines = []
    for name, array in grads.items():
        for index, expr in np.ndenumerate(array):
            text = str(sympy.expand(expr))
            text = re.sub(r"g_(\d)_(\d)", lambda m: f"dL/dO{int(m[1]) + 1}{int(m[2]) + 1}", text)
            text = re.sub(
                r"([xw])_(\d)_(\d)", lambda m: f"{m[1].upper()}{int(m[2]) + 1}{int(m[3]) + 1}", text
            )
            text = re.sub(r"b_(\d)", lambda m: f"B{int(m[1]) + 1}", text)
            lines.append(f"dL/d{name}{''.join(str(i + 1) for i in index)} = {text}")
    return "\n".join(lines)


def test_the_right_products_are_read_as_right():
    report = check_text(_claims(derive(SQUARE).grads), SQUARE)
    assert report.summary["wrong"] == 0 and report.summary["correct"] == 10


@pytest.mark.parametrize(
    "key, build",
    [
        ("linear_input_weight_transposed", lambda t, g: {"X": g.dot(t.W.T)}),
        ("linear_weight_gradient_not_transposed", lambda t, g: {"W": t.X.T.dot(g)}),
        ("linear_bias_not_summed", lambda t, g: {"B": g[0]}),
    ],
)
def test_each_linear_mistake_is_named(key, build):
    d = derive(SQUARE)
    wrong = build(d.tensors, d.tensors.G)  # written out here, not with the checker's builders
    report = check_text(_claims({**d.grads, **wrong}), SQUARE)
    assert report.summary["wrong"] > 0
    assert [diagnosis.pattern.key for diagnosis in report.diagnoses] == [key]


def test_a_transposed_product_is_not_tried_on_a_rectangular_weight():
    spec = Linear(input_shape=(1, 3), out_features=2)
    d = derive(spec)
    wrong = {"X": np.array([[d.tensors.G[0, 0] * d.tensors.W[0, 1]] * 3], dtype=object)}
    report = check_text(_claims({**d.grads, **wrong}), spec)
    assert report.summary["wrong"] == 3 and report.diagnoses == []


def test_every_linear_pattern_has_a_test():
    keys = {"linear_input_weight_transposed", "linear_weight_gradient_not_transposed"}
    keys.add("linear_bias_not_summed")
    assert keys == {pattern.key for pattern in entry("check", "linear").patterns}
