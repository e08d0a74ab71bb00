"""The losses, softmax_cross_entropy and mse, as PyTorch's defaults: the derived partial
against sympy.diff of the derived loss, the derivation against the runtime (exactly for mse,
at 50 digits for cross-entropy), the runtime against finite differences and against the
definitions written out here, the target's errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy

from symcnn import derive, runtime
from symcnn.check import check_text
from symcnn.cli import main
from symcnn.codegen.generate import generate, load
from symcnn.codegen.structure import StructureError
from symcnn.evaluate import bind, evaluate
from symcnn.jsonio import dumps
from symcnn.layers import entry
from symcnn.layers.mse.spec import MSE
from symcnn.layers.softmax_cross_entropy import codegen as ce_codegen
from symcnn.layers.softmax_cross_entropy.spec import SoftmaxCrossEntropy
from tests.codegen_helpers import (
    compare_exactly,
    compare_with_runtime,
    other_batches,
    random_fractions,
)


@pytest.mark.parametrize(
    "spec",
    [SoftmaxCrossEntropy(input_shape=(2, 3)), MSE(input_shape=(2, 3)), MSE(input_shape=(3,))],
)
def test_the_partials_are_sympy_diff_of_the_loss(spec):
    d = derive(spec)
    (entry,) = d.entries
    assert len(entry.partials) == np.prod(spec.input_shape)
    for symbol, partial in entry.partials:
        assert sympy.simplify(sympy.diff(entry.expr, symbol) - partial) == 0
    g = d.tensors.G[0]
    for index, grad in np.ndenumerate(d.grads["X"]):
        assert sympy.simplify(grad - g * sympy.diff(entry.expr, d.tensors.X[index])) == 0


def test_mse_derivation_equals_the_runtime_exactly():
    spec = MSE(input_shape=(2, 2, 3))
    rng = np.random.default_rng(1)
    d = derive(spec)
    x, t = random_fractions(rng, spec.input_shape), random_fractions(rng, spec.input_shape)
    g = random_fractions(rng, (1,))
    values = bind(d.tensors.X, x) | bind(d.tensors.T, t) | bind(d.tensors.G, g)
    assert (evaluate(d.output, values) == runtime.forward(spec, x, target=t)).all()
    grad = runtime.backward(spec, x, g, target=t)["X"]
    assert (evaluate(d.grads["X"], values) == grad).all()
    # nn.MSELoss(): the mean over every element
    assert runtime.forward(spec, x, target=t)[0] == np.sum((x - t) ** 2) / x.size


def test_cross_entropy_derivation_equals_the_runtime_at_50_digits():
    spec = SoftmaxCrossEntropy(input_shape=(3, 4))
    rng = np.random.default_rng(4)
    d = derive(spec)
    x = rng.standard_normal(spec.input_shape) * 3
    target = np.array([0, 3, 1])
    onehot = np.eye(4)[target]
    values = {s: sympy.Float(float(v), 50) for s, v in zip(d.tensors.X.flat, x.flat, strict=True)}
    values |= {s: sympy.Integer(int(v)) for s, v in zip(d.tensors.T.flat, onehot.flat, strict=True)}
    values[d.tensors.G[0]] = sympy.Integer(1)
    loss = float(d.output[0].evalf(50, subs=values))
    assert np.isclose(loss, runtime.forward(spec, x, target=target)[0], rtol=1e-14)
    grad = np.array([float(e.evalf(50, subs=values)) for e in d.grads["X"].flat]).reshape(3, 4)
    assert np.allclose(grad, runtime.backward(spec, x, np.ones(1), target=target)["X"], rtol=1e-13)
    # PyTorch's definition, written out: mean over the batch of -log softmax at the target
    log_softmax = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    assert np.isclose(loss, -np.mean(log_softmax[np.arange(3), target]), rtol=1e-14)


@pytest.mark.parametrize("kind", ["ce", "mse"])
def test_the_runtime_gradient_matches_finite_differences(kind):
    rng = np.random.default_rng(9)
    if kind == "ce":
        spec, target = SoftmaxCrossEntropy(input_shape=(4, 5)), np.array([0, 4, 2, 2])
    else:
        spec = MSE(input_shape=(2, 3, 2))
        target = rng.standard_normal(spec.input_shape)
    x = rng.standard_normal(spec.input_shape)
    grad = runtime.backward(spec, x, np.array([1.5]), target=target)["X"]
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += 1e-6
        down[index] -= 1e-6
        diff = runtime.forward(spec, up, target=target) - runtime.forward(spec, down, target=target)
        numeric[index] = 1.5 * diff[0] / 2e-6
    assert np.allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_cross_entropy_does_not_overflow():
    spec = SoftmaxCrossEntropy(input_shape=(1, 2))
    loss = runtime.forward(spec, np.array([[1000.0, 0.0]]), target=[1])
    assert np.isclose(loss[0], 1000.0)


def test_target_errors_name_what_is_valid():
    spec = SoftmaxCrossEntropy(input_shape=(2, 3))
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"expected class indices 0\.\.2"):
        runtime.forward(spec, x, target=[0, 3])
    with pytest.raises(ValueError, match=r"expected \(2,\) integer class indices"):
        runtime.forward(spec, x, target=[0.0, 1.0])
    with pytest.raises(ValueError, match="is a loss and needs a target"):
        runtime.forward(spec, x)
    with pytest.raises(ValueError, match=r"target must be None for this mse|target has shape"):
        runtime.forward(MSE(input_shape=(2, 3)), x, target=np.zeros((3, 2)))
    with pytest.raises(
        ValueError, match=r"reduction='mean' is not valid: .* already PyTorch's mean"
    ):
        MSE(input_shape=(2, 3), reduction="mean")


def test_json_names_the_target_symbols():
    data = json.loads(dumps(derive(SoftmaxCrossEntropy(input_shape=(1, 2)))))
    assert data["output_shape"] == [1]
    loss = sympy.sympify(data["forward"][0])
    assert {str(s) for s in loss.free_symbols} == {"x_0_0", "x_0_1", "t_0_0", "t_0_1"}
    assert main(["derive", "mse", "--input", "2x3", "--format", "json"]) == 0


@pytest.mark.parametrize("spec", [SoftmaxCrossEntropy(input_shape=(2, 2)), MSE(input_shape=(1, 2))])
@pytest.mark.parametrize("form", ["text", "markdown", "latex"])
def test_the_notes_print_the_target_and_every_input(spec, form):
    from symcnn import notes

    printed = getattr(notes(derive(spec)), form)()
    spell = "{}{}{}" if form == "text" else "{}_{{{}{}}}"
    digits = "₁₂" if form == "text" else "12"
    rows = digits[: spec.input_shape[0]]
    for letter in ("X", "T"):
        for i in rows:
            for j in digits:
                assert spell.format(letter, i, j) in printed, (letter, i, j)


# -- the generated modules (symcnn generate softmax_cross_entropy / mse) --------------------------

GENERATED = [
    SoftmaxCrossEntropy(input_shape=(4, 3)),
    SoftmaxCrossEntropy(input_shape=(1, 5)),
    MSE(input_shape=(3, 2, 2)),
    MSE(input_shape=(2, 5)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", GENERATED, ids=str)
def test_the_generated_loss_matches_the_runtime_at_any_batch(spec, dtype):
    kernels = load(generate(spec, dtype=dtype, strategy="elementwise"))
    compare_with_runtime(kernels, spec, dtype)
    for batch in other_batches(spec):  # the mean divides by the run-time count
        compare_with_runtime(kernels, spec, dtype, batch=batch)


@pytest.mark.parametrize("batch", [None, 5])
def test_the_generated_mse_equals_the_derivation_exactly(batch):
    spec = MSE(input_shape=(2, 3))
    kernels = load(generate(spec, strategy="elementwise"))
    compare_exactly(kernels, spec, batch=batch)


@pytest.mark.parametrize("batch", [3, 1, 6])
def test_the_generated_cross_entropy_equals_the_derivation_at_50_digits(batch):
    kernels = load(generate(SoftmaxCrossEntropy(input_shape=(3, 4)), strategy="elementwise"))
    spec = SoftmaxCrossEntropy(input_shape=(batch, 4))  # derived at this batch: its own 1/N
    d = derive(spec)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal(spec.input_shape) * 3
    target = rng.integers(0, 4, size=batch)
    upstream = np.array([0.75])
    values = {s: sympy.Float(float(v), 50) for s, v in zip(d.tensors.X.flat, x.flat, strict=True)}
    onehot = np.eye(4, dtype=int)[target]
    values |= {s: sympy.Integer(int(v)) for s, v in zip(d.tensors.T.flat, onehot.flat, strict=True)}
    values[d.tensors.G[0]] = sympy.Float(0.75, 50)
    loss = float(d.output[0].evalf(50, subs=values))
    assert np.isclose(kernels.forward(x, target)[0], loss, rtol=1e-14, atol=0)
    grad = np.array([float(e.evalf(50, subs=values)) for e in d.grads["X"].flat])
    generated = kernels.backward(x, target, upstream)
    assert np.allclose(generated.ravel(), grad, rtol=1e-13, atol=1e-16)


def test_the_generated_cross_entropy_does_not_overflow():
    kernels = load(generate(SoftmaxCrossEntropy(input_shape=(2, 3)), strategy="elementwise"))
    spec = SoftmaxCrossEntropy(input_shape=(2, 3))
    x = np.array([[1000.0, 0.0, -1000.0], [5.0, 900.0, 899.0]])
    target = np.array([1, 2])
    assert np.allclose(kernels.forward(x, target), runtime.forward(spec, x, target=target))
    grad = runtime.backward(spec, x, np.ones(1), target=target)["X"]
    assert np.allclose(kernels.backward(x, target, np.ones(1)), grad)
    assert np.isfinite(kernels.backward(x, target, np.ones(1))).all()


def test_the_proof_refuses_a_gradient_without_its_mean():
    spec = SoftmaxCrossEntropy(input_shape=(2, 2))
    d = derive(spec)
    read, recover = ce_codegen.read, ce_codegen.recover
    recover(spec, read(d))  # the derivation itself is read
    d.grads["X"][1, 0] = d.grads["X"][1, 0] * 2  # one entry forgets the 1/N
    with pytest.raises(StructureError, match="dL/dX: the entries have 2 forms"):
        recover(spec, read(d))


def test_the_loss_modules_refuse_bad_targets_aliases_and_objects():
    ce = load(generate(SoftmaxCrossEntropy(input_shape=(2, 3)), strategy="elementwise"))
    x = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"target holds 0\.\.3: expected class indices 0\.\.2"):
        ce.forward(x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"expected \(2,\) integer class indices"):
        ce.forward(x, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="x has dtype object"):
        ce.forward(x.astype(object), np.array([0, 1]))
    with pytest.raises(ValueError, match="grad_x shares memory with x"):
        ce.backward(x, np.array([0, 1]), np.ones(1), out=x)
    mse = load(generate(MSE(input_shape=(2, 3)), strategy="elementwise"))
    with pytest.raises(ValueError, match=r"target has shape \(2, 2\): expected \(2, 3\)"):
        mse.forward(x, np.zeros((2, 2)))
    target = np.zeros((2, 3))
    with pytest.raises(ValueError, match="grad_x shares memory with target"):
        mse.backward(x, target, np.ones(1), out=target)


# -- named mistakes --------------------------------------------------------------------------------


def _softmax_claims(batch: int, classes: int, form: str) -> str:
    """dL/dX of cross-entropy written out; ``form`` over ``{p}`` (the softmax), ``{t}``."""
    lines = []
    for n, c in np.ndindex(batch, classes):
        row = " + ".join(f"exp(X{n + 1}{k + 1})" for k in range(classes))
        p, t = f"exp(X{n + 1}{c + 1})/({row})", f"T{n + 1}{c + 1}"
        lines.append(f"dL/dX{n + 1}{c + 1} = " + form.format(p=p, t=t))
    return "\n".join(lines)


def _mse_claims(shape, form: str) -> str:
    lines = []
    for n, c in np.ndindex(*shape):
        x, t = f"X{n + 1}{c + 1}", f"T{n + 1}{c + 1}"
        lines.append(f"dL/dX{n + 1}{c + 1} = " + form.format(x=x, t=t))
    return "\n".join(lines)


CE = SoftmaxCrossEntropy(input_shape=(2, 3))
SQUARES = MSE(input_shape=(2, 3))


@pytest.mark.parametrize(
    "layer, text, key",
    [
        (CE, _softmax_claims(2, 3, "({p} - {t})/2"), None),
        (CE, _softmax_claims(2, 3, "{p} - {t}"), "cross_entropy_no_mean"),
        (CE, _softmax_claims(2, 3, "({p} - 1)/2"), "cross_entropy_minus_one_everywhere"),
        (SQUARES, _mse_claims((2, 3), "2*({x} - {t})/6"), None),
        (SQUARES, _mse_claims((2, 3), "({x} - {t})/6"), "mse_no_factor_two"),
        (SQUARES, _mse_claims((2, 3), "2*({x} - {t})"), "mse_no_mean"),
        (SQUARES, _mse_claims((2, 3), "2*({x} - {t})/2"), "mse_mean_over_batch"),
    ],
)
def test_a_loss_gradient_is_read_with_its_target_and_its_mistake_named(layer, text, key):
    report = check_text(text, layer)
    if key is None:  # the right gradient, written without the factor dL/dL = 1
        assert (report.summary["correct"], report.summary["wrong"]) == (6, 0)
        assert report.diagnoses == []
    else:
        assert report.summary["wrong"] == 6
        assert [diagnosis.pattern.key for diagnosis in report.diagnoses] == [key]


def test_a_mean_mistake_is_not_named_where_it_cannot_differ():
    one = SoftmaxCrossEntropy(input_shape=(1, 2))
    report = check_text(_softmax_claims(1, 2, "({p} - 1)"), one)  # N = 1: no mean to forget
    assert [diagnosis.pattern.key for diagnosis in report.diagnoses] == [
        "cross_entropy_minus_one_everywhere"
    ]
    per_sample = MSE(input_shape=(3, 1))  # one entry a sample: the two means are one
    report = check_text(_mse_claims((3, 1), "({x} - {t})/3"), per_sample)
    assert [diagnosis.pattern.key for diagnosis in report.diagnoses] == ["mse_no_factor_two"]


def test_every_loss_pattern_has_a_test():
    keys = {"cross_entropy_no_mean", "cross_entropy_minus_one_everywhere"}
    keys |= {"mse_no_factor_two", "mse_no_mean", "mse_mean_over_batch"}
    found = {
        p.key for kind in ("softmax_cross_entropy", "mse") for p in entry("check", kind).patterns
    }
    assert keys == found


def test_the_report_names_the_target_and_prints_the_softmax(tmp_path, capsys):
    path = tmp_path / "ce.txt"
    path.write_text(_softmax_claims(2, 3, "{p} - {t}"))
    assert main(["check", str(path), "softmax_cross_entropy", "--input", "2x3"]) == 1
    out = capsys.readouterr().out
    assert "-T11/2 + exp(X11)/(2*(exp(X11) + exp(X12) + exp(X13)))" in out
    assert "upstream" not in out  # a loss has no upstream gradient to set
