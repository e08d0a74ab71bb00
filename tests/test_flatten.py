"""flatten (PyTorch's nn.Flatten()) end to end: the derivation against the runtime exactly,
the row-major order, the gradient as the upstream reshaped back, the command line."""

from __future__ import annotations

import numpy as np
import pytest

from symcnn import derive, notes, runtime
from symcnn.check import check_text
from symcnn.cli import main
from symcnn.codegen.generate import generate, load
from symcnn.codegen.structure import StructureError, _require_equal
from symcnn.evaluate import bind, evaluate
from symcnn.layers.flatten import codegen
from symcnn.layers.flatten.spec import Flatten
from tests.codegen_helpers import (
    compare_exactly,
    compare_with_runtime,
    other_batches,
    random_fractions,
)

SPECS = [Flatten(input_shape=s) for s in [(1, 2, 2, 3), (2, 3, 2), (3, 4)]]


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_the_derivation_equals_the_runtime_exactly(spec):
    rng = np.random.default_rng(2)
    d = derive(spec)
    x, g = random_fractions(rng, spec.input_shape), random_fractions(rng, spec.output_shape)
    values = bind(d.tensors.X, x) | bind(d.tensors.G, g)
    assert (evaluate(d.output, values) == runtime.forward(spec, x)).all()
    assert (evaluate(d.grads["X"], values) == runtime.backward(spec, x, g)["X"]).all()


def test_the_order_is_numpy_reshape_row_major():
    spec = Flatten(input_shape=(2, 3, 4, 5))
    x = np.arange(120.0).reshape(spec.input_shape)
    assert (runtime.forward(spec, x) == x.reshape(2, 60)).all()
    assert spec.output_shape == (2, 60)


def test_a_1d_input_is_refused():
    with pytest.raises(ValueError, match=r"input_shape=\[4\].*a batch and at least one axis"):
        Flatten(input_shape=(4,))


def test_notes_and_commands(capsys):
    assert "unflatten" in notes(derive(Flatten(input_shape=(1, 2, 1, 2)))).text()
    assert main(["derive", "flatten", "--input", "1x2x2x2", "--format", "json"]) == 0


# -- the generated module (symcnn generate flatten) ------------------------------------------------

GENERATED = [
    Flatten(input_shape=(2, 3, 2, 2)),
    Flatten(input_shape=(3, 2, 3), reduction="mean"),
    Flatten(input_shape=(2, 5)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("spec", GENERATED, ids=str)
def test_the_generated_module_matches_the_runtime_at_any_batch(spec, dtype):
    kernels = load(generate(spec, dtype=dtype, strategy="reshape"))
    compare_with_runtime(kernels, spec, dtype)
    for batch in other_batches(spec):
        compare_with_runtime(kernels, spec, dtype, batch=batch)


@pytest.mark.parametrize("spec", GENERATED, ids=str)
def test_the_generated_module_equals_the_derivation_exactly(spec):
    kernels = load(generate(spec, strategy="reshape"))
    compare_exactly(kernels, spec)
    compare_exactly(kernels, spec, seed=1, batch=spec.batch + 1)


def test_the_proof_refuses_the_column_major_order():
    spec = Flatten(input_shape=(1, 2, 2))
    derived = codegen.read(derive(spec))
    assert codegen.reshape_maps(spec) == derived
    column_major = {(0, j): derived.forward[(0, [0, 2, 1, 3][j])] for j in range(4)}
    with pytest.raises(StructureError, match=r"the forward pass at \[0, 1\]"):
        _require_equal("the forward pass", column_major, derived.forward)


def test_an_output_over_an_input_is_refused():
    kernels = load(generate(Flatten(input_shape=(2, 4)), strategy="reshape"))
    x = np.ones((2, 4))
    with pytest.raises(ValueError, match="out shares memory with x"):
        kernels.forward(x, out=x)
    grad_out = np.ones((2, 4))
    with pytest.raises(ValueError, match="grad_x shares memory with x"):
        kernels.backward(x, grad_out, out=x)
    with pytest.raises(ValueError, match="grad_x shares memory with grad_out"):
        kernels.backward(x, grad_out, out=grad_out)


# -- named mistakes --------------------------------------------------------------------------------


def _claims(order: str) -> str:
    """dL/dX of a 1x2x3 flatten with dL/dO unflattened in ``order`` ("C" or "F"), as text."""
    lines = []
    for c, w in np.ndindex(2, 3):
        j = int(np.ravel_multi_index((c, w), (2, 3), order=order))
        lines.append(f"dL/dX{c + 1}{w + 1} = dL/dO1{j + 1}")
    return "\n".join(lines)


def test_the_row_major_order_passes_and_the_column_major_one_is_named():
    layer = Flatten(input_shape=(1, 2, 3))
    report = check_text(_claims("C"), layer)
    assert (report.summary["correct"], report.summary["wrong"]) == (6, 0)
    report = check_text(_claims("F"), layer)
    assert report.summary["wrong"] == 4  # the first and the last entry are the same in both
    assert [d.pattern.key for d in report.diagnoses] == ["flatten_column_major"]


def test_the_column_major_order_is_not_tried_where_it_is_the_same():
    layer = Flatten(input_shape=(1, 3))
    wrong = "dL/dX11 = dL/dO12\ndL/dX12 = dL/dO11\ndL/dX13 = dL/dO13"
    report = check_text(wrong, layer)
    assert report.summary["wrong"] == 2 and report.diagnoses == []
