"""Shared by the tests of the smooth activations (sigmoid, tanh): the derivation, the runtime,
finite differences and the generated module, each held against the others.

Their values are not rational, so the derivation is evaluated at 50 significant digits (SymPy's
``evalf``) and held against the float64 runtime; its local partial is held against
``sympy.diff`` of its own forward expression, exactly (the difference simplifies to 0).
"""

from __future__ import annotations

import numpy as np
import sympy

from symcnn import derive, runtime
from symcnn.codegen.generate import generate, load
from tests.codegen_helpers import compare_with_runtime


def check_partials_are_the_derivative(spec) -> None:
    d = derive(spec)
    for entry in d.entries:
        ((symbol, partial),) = entry.partials
        assert sympy.simplify(sympy.diff(entry.expr, symbol) - partial) == 0


def check_derivation_against_runtime(spec, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    d = derive(spec)
    x = rng.uniform(-3, 3, spec.input_shape)
    g = rng.standard_normal(spec.output_shape)
    values = {s: sympy.Float(float(v), 50) for s, v in zip(d.tensors.X.flat, x.flat, strict=True)}
    values |= {s: sympy.Float(float(v), 50) for s, v in zip(d.tensors.G.flat, g.flat, strict=True)}

    def at(array):
        return np.array([float(e.evalf(50, subs=values)) for e in array.flat]).reshape(array.shape)

    assert np.allclose(at(d.output), runtime.forward(spec, x), rtol=1e-14, atol=1e-15)
    grad = runtime.backward(spec, x, g)["X"]
    assert np.allclose(at(d.grads["X"]), grad, rtol=1e-13, atol=1e-15)


def check_runtime_against_finite_differences(spec, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, spec.input_shape)
    g = rng.standard_normal(spec.output_shape)
    scale = 1 / spec.batch if spec.reduction == "mean" else 1

    def loss(values):
        return scale * float(np.sum(g * runtime.forward(spec, values)))

    numeric = np.zeros_like(x)
    step = 1e-6
    for index in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (loss(up) - loss(down)) / (2 * step)
    assert np.allclose(runtime.backward(spec, x, g)["X"], numeric, rtol=1e-6, atol=1e-9)


def check_generated_module(spec, dtype: str) -> None:
    kernels = load(generate(spec, dtype=dtype, strategy="elementwise"))
    compare_with_runtime(kernels, spec, dtype)
