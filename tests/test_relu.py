"""ReLU end to end, the acceptance test of the one-folder layout (symcnn/layers/relu/).

Every command and subsystem reaches ReLU through the registry: the exact derivation (gradient
0 at 0, as PyTorch), the runtime, the generated module, the printed notes and the checker.
Each is held against an independent witness: the derivation evaluated on exact rationals
(with zeros and negatives among them), the runtime written from the definition, and central
finite differences away from the kink.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest
import sympy

from symcnn import derive, layer_from_dict, notes, runtime
from symcnn.check import check_text
from symcnn.cli import main
from symcnn.codegen.generate import generate, load
from symcnn.evaluate import bind, evaluate
from symcnn.jsonio import dumps
from symcnn.layers.relu.spec import ReLU
from tests.codegen_helpers import compare_exactly, compare_with_runtime

SHAPES = [(1, 1, 2, 2), (2, 3), (3,), (2, 2, 3)]
SPECS = [ReLU(input_shape=shape, reduction=r) for shape in SHAPES for r in ("sum", "mean")]


def _values(rng, shape):
    """Exact small rationals of both signs, with exact zeros among them (the kink)."""
    numerators = rng.integers(-3, 4, size=int(np.prod(shape)))
    return np.array([Fraction(int(n), 2) for n in numerators], dtype=object).reshape(shape)


def test_the_gradient_is_zero_at_zero_as_pytorch():
    d = derive(ReLU(input_shape=(1, 1)))
    x, g = d.tensors.X[0, 0], d.tensors.G[0, 0]
    assert d.output[0, 0] == sympy.Max(0, x)
    grad = d.grads["X"][0, 0]
    assert grad.subs({x: 0, g: 1}) == 0
    assert grad.subs({x: sympy.Rational(1, 10**9), g: 1}) == 1
    assert grad.subs({x: -1, g: 1}) == 0


def test_a_2d_input_is_samples_by_features_not_an_image():
    assert ReLU(input_shape=(2, 3)).input_shape == (2, 3)
    with pytest.raises(ValueError, match=r"input_shape=.*1 to 4 integers"):
        ReLU(input_shape=(1, 1, 1, 1, 1))


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_derivation_equals_the_runtime_exactly(spec):
    rng = np.random.default_rng(len(spec.input_shape))
    d = derive(spec)
    x, g = _values(rng, spec.input_shape), _values(rng, spec.output_shape)
    values = bind(d.tensors.X, x) | bind(d.tensors.G, g)
    assert (evaluate(d.output, values) == runtime.forward(spec, x)).all()
    assert (evaluate(d.grads["X"], values) == runtime.backward(spec, x, g)["X"]).all()


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_runtime_gradient_matches_finite_differences(spec):
    rng = np.random.default_rng(7)
    x = rng.uniform(0.1, 1.0, spec.input_shape) * rng.choice([-1.0, 1.0], spec.input_shape)
    g = rng.standard_normal(spec.output_shape)
    scale = 1 / spec.batch if spec.reduction == "mean" else 1

    def loss(values):
        return scale * float(np.sum(g * runtime.forward(spec, values)))

    numeric = np.zeros_like(x)
    step = 1e-6  # every |x| >= 0.1: no step crosses the kink
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (loss(up) - loss(down)) / (2 * step)
    assert np.allclose(runtime.backward(spec, x, g)["X"], numeric, rtol=1e-6, atol=1e-9)


def test_json_follows_the_contract_and_reads_back():
    spec = ReLU(input_shape=(1, 2))
    d = derive(spec)
    data = json.loads(dumps(d))
    assert data["layer"] == {"type": "relu", "input_shape": [1, 2], "reduction": "sum"}
    assert layer_from_dict(data["layer"]) == spec
    for text, expr in zip(data["grads"]["X"][0], d.grads["X"][0], strict=True):
        assert sympy.sympify(text) == expr


@pytest.mark.parametrize("shape", [(2, 3, 4, 4), (5, 7), (4,)])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_generated_module_matches_the_runtime_and_the_derivation(shape, dtype):
    spec = ReLU(input_shape=shape)
    kernels = load(generate(spec, dtype=dtype, strategy="elementwise"))
    compare_with_runtime(kernels, spec, dtype)
    rng = np.random.default_rng(1)
    small = ReLU(input_shape=tuple(min(n, 3) for n in shape), reduction="mean")
    kernels = load(generate(small, strategy="elementwise"))
    arrays = {"x": _values(rng, small.input_shape), "grad_out": _values(rng, small.output_shape)}
    compare_exactly(kernels, small, arrays=arrays)  # zeros among the inputs: the kink


def test_a_sum_module_runs_any_batch_and_a_mean_module_keeps_its_own():
    spec = ReLU(input_shape=(2, 3, 4, 4))
    kernels = load(generate(spec, strategy="elementwise"))
    compare_with_runtime(kernels, spec, "float64", batch=5)
    mean = load(generate(ReLU(input_shape=(2, 3), reduction="mean"), strategy="elementwise"))
    assert "Batch: 2 only" in mean.__doc__
    with pytest.raises(ValueError, match=r"x has shape \(3, 3\): expected \(2, 3\)"):
        mean.forward(np.zeros((3, 3)))


def test_the_generated_module_prints_the_derived_form():
    text = generate(ReLU(input_shape=(2, 3)), strategy="elementwise").text
    assert "out[...] = np.maximum(x, 0)" in text
    assert "grad_x[...] = np.where(x > 0, grad_out, 0)" in text
    assert "dL/dX = G*Piecewise((1, X > 0), (0, True))" in text  # the proven form, quoted


@pytest.mark.parametrize("form", ["text", "markdown", "latex"])
def test_the_notes_print_every_entry(form):
    printed = getattr(notes(derive(ReLU(input_shape=(1, 1, 2, 2)))), form)()
    assert "Backpropagation through ReLU" in printed
    spell = "X{}{}" if form == "text" else "X_{{{}{}}}"
    digits = "₁₂" if form == "text" else "12"
    for i in digits:
        for j in digits:
            assert spell.format(i, j) in printed


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not installed")
def test_the_latex_notes_compile(tmp_path):
    (tmp_path / "relu.tex").write_text(notes(derive(ReLU(input_shape=(2, 3)))).latex())
    result = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "relu.tex"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:]


RIGHT = "\n".join(f"dL/dX{i} = dL/dO{i} * 1[X{i} > 0]" for i in ("11", "12", "21", "22"))
MISTAKES = {
    "relu_gradient_at_zero": RIGHT.replace("> 0", ">= 0"),
    "relu_no_mask": RIGHT.replace(" * 1[X11 > 0]", "")
    .replace(" * 1[X12 > 0]", "")
    .replace(" * 1[X21 > 0]", "")
    .replace(" * 1[X22 > 0]", ""),
}
LAYER = ReLU(input_shape=(1, 1, 2, 2))


def test_a_right_hand_derivation_passes():
    report = check_text(RIGHT, LAYER)
    assert report.summary["correct"] == 4 and report.summary["wrong"] == 0


@pytest.mark.parametrize("key", sorted(MISTAKES))
def test_each_mistake_is_named(key):
    report = check_text(MISTAKES[key], LAYER)
    assert report.summary["wrong"] == 4
    assert [d.pattern.key for d in report.diagnoses] == [key]


def test_every_command_takes_relu(tmp_path, capsys):
    assert main(["derive", "relu", "--input", "1x1x2x2"]) == 0
    assert main(["derive", "relu", "--input", "2x3", "--format", "json"]) == 0
    assert main(["generate", "relu", "--input", "2x3", "-o", str(tmp_path)]) == 0
    (tmp_path / "answer.txt").write_text(RIGHT)
    assert main(["check", str(tmp_path / "answer.txt"), "relu", "--input", "1x1x2x2"]) == 0
    capsys.readouterr()
    assert main(["derive", "relu", "--input", "2x3", "--kernel", "2"]) == 2
    assert "--kernel does not apply to relu" in capsys.readouterr().err
