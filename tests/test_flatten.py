"""flatten (PyTorch's nn.Flatten()) end to end: the derivation against the runtime exactly,
the row-major order, the gradient as the upstream reshaped back, the command line."""

from __future__ import annotations

import numpy as np
import pytest

from symcnn import derive, notes, runtime
from symcnn.cli import main
from symcnn.evaluate import bind, evaluate
from symcnn.layers.flatten.spec import Flatten
from tests.codegen_helpers import random_fractions

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
