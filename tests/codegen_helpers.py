"""Shared by the code generation tests: compare a generated module with the runtime and with the
exact derivation."""

from __future__ import annotations

import dataclasses
import inspect
from fractions import Fraction

import numpy as np
from sympy import Rational

from symcnn import runtime
from symcnn.codegen.generate import random_arrays
from symcnn.derive import derive
from symcnn.evaluate import bind, evaluate
from symcnn.spec import Layer

#: The parameters of the generated functions, per layer kind (the contract's signatures).
SIGNATURES = {
    "conv2d": {
        "forward": ["x", "w", "b", "out", "workspace"],
        "backward": ["x", "w", "grad_out", "out", "workspace", "x_unchanged"],
    },
    "pool": {"forward": ["x", "out"], "backward": ["x", "grad_out", "out"]},
    "linear": {"forward": ["x", "w", "b", "out"], "backward": ["x", "w", "grad_out", "out"]},
    "loss": {"forward": ["x", "target", "out"], "backward": ["x", "target", "grad_out", "out"]},
}
#: Largest error allowed, relative to the largest entry of the reference.
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


def _kind(spec: Layer) -> str:
    """Which of the contract's signatures the module of ``spec`` has."""
    if spec.is_loss:
        return "loss"
    return spec.type if spec.type in ("conv2d", "linear") else "pool"


def at_batch(spec: Layer, batch: int | None) -> Layer:
    """``spec`` with another batch size (None: unchanged): what a module derived for ``spec``
    runs when its first axis is ``batch``."""
    if batch is None:
        return spec
    return dataclasses.replace(spec, input_shape=(batch, *spec.input_shape[1:]))


def other_batches(spec: Layer) -> list[int]:
    """Two batch sizes besides the derived one: one sample, and one more than derived."""
    return sorted({1, spec.batch + 1} - {spec.batch}) or [2]


def check_signatures(kernels, spec: Layer) -> None:
    """The module's SPEC, shapes and function signatures agree with the spec and the contract."""
    assert spec.to_dict() == kernels.SPEC
    assert spec.input_shape == kernels.INPUT_SHAPE
    assert spec.output_shape == kernels.OUTPUT_SHAPE
    for name, parameters in SIGNATURES[_kind(spec)].items():
        assert list(inspect.signature(getattr(kernels, name)).parameters) == parameters


def _sentinel_like(shape, dtype):
    """NaN everywhere (an object array holds a marker no rational equals)."""
    if np.dtype(dtype) == object:
        return np.full(shape, "unwritten", dtype=object)
    return np.full(shape, np.nan, dtype=dtype)


def run_generated(kernels, spec: Layer, arrays: dict, dtype) -> dict[str, np.ndarray]:
    """Forward and every gradient of a generated module, each written into a sentinel array."""
    out = _sentinel_like(spec.output_shape, dtype)
    if _kind(spec) in ("conv2d", "linear"):
        result = kernels.forward(arrays["x"], arrays["w"], arrays.get("b"), out=out)
        buffers = (
            _sentinel_like(spec.input_shape, dtype),
            _sentinel_like(spec.weight_shape, dtype),
            _sentinel_like(spec.parameters()["B"], dtype) if spec.bias else None,
        )
        grads = kernels.backward(arrays["x"], arrays["w"], arrays["grad_out"], out=buffers)
        assert all(g is buffer for g, buffer in zip(grads, buffers, strict=True))
        named = {"X": grads[0], "W": grads[1]}
        if spec.bias:
            named["B"] = grads[2]
        else:
            assert grads[2] is None
    elif _kind(spec) == "loss":
        result = kernels.forward(arrays["x"], arrays["target"], out=out)
        buffer = _sentinel_like(spec.input_shape, dtype)
        grad_x = kernels.backward(arrays["x"], arrays["target"], arrays["grad_out"], out=buffer)
        assert grad_x is buffer
        named = {"X": grad_x}
    else:
        result = kernels.forward(arrays["x"], out=out)
        buffer = _sentinel_like(spec.input_shape, dtype)
        grad_x = kernels.backward(arrays["x"], arrays["grad_out"], out=buffer)
        assert grad_x is buffer
        named = {"X": grad_x}
    assert result is out
    return {"output": out, **named}


def run_runtime(spec: Layer, arrays: dict) -> dict[str, np.ndarray]:
    w, b = arrays.get("w"), arrays.get("b")
    if spec.is_loss:
        target = arrays["target"]
        output = runtime.forward(spec, arrays["x"], target=target)
        return {
            "output": output,
            **runtime.backward(spec, arrays["x"], arrays["grad_out"], target=target),
        }
    output = runtime.forward(spec, arrays["x"], w, b)
    return {"output": output, **runtime.backward(spec, arrays["x"], arrays["grad_out"], w)}


def compare_with_runtime(
    kernels, spec: Layer, dtype: str, seed: int = 0, batch: int | None = None
) -> None:
    """Generated forward and every gradient equal the runtime's on seeded random inputs.

    Signatures are checked first; outputs are pre-filled with NaN so that an entry the kernel
    forgot cannot pass. ``batch``, if given, runs the module (derived for ``spec``) on that
    many samples, against the runtime of the layer with that batch.
    """
    check_signatures(kernels, spec)
    spec = at_batch(spec, batch)
    arrays = random_arrays(spec, dtype, seed)
    generated = run_generated(kernels, spec, arrays, dtype)
    expected = run_runtime(spec, arrays)
    assert sorted(generated) == sorted(expected)
    for name, reference in expected.items():
        actual = generated[name]
        assert actual.dtype == np.dtype(dtype), (name, actual.dtype)
        assert actual.shape == reference.shape, name
        assert not np.isnan(actual).any(), f"{name}: entries left unwritten"
        scale = max(float(np.max(np.abs(reference))), 1.0)
        error = float(np.max(np.abs(actual.astype(np.float64) - reference)))
        assert error <= TOLERANCE[dtype] * scale, (name, error, scale)


def random_fractions(rng: np.random.Generator, shape) -> np.ndarray:
    """An object array of small exact fractions (ties are likely: useful for pools)."""
    values = [
        Fraction(int(n), int(d))
        for n, d in zip(
            rng.integers(-6, 7, size=int(np.prod(shape))),
            rng.integers(1, 4, size=int(np.prod(shape))),
            strict=True,
        )
    ]
    return np.array(values, dtype=object).reshape(shape)


def compare_exactly(
    kernels, spec: Layer, seed: int = 0, arrays: dict | None = None, batch: int | None = None
) -> None:
    """On exact rationals, the generated kernels equal the derived expressions entry by entry.

    ``arrays`` holds the inputs (``x``, ``grad_out`` and for conv2d ``w``, ``b``) as object
    arrays of exact numbers; by default seeded small fractions, among which ties are common.
    ``batch``, if given, runs the module (derived for ``spec``) on that many samples, against
    the exact derivation of the layer with that batch.
    """
    check_signatures(kernels, spec)
    spec = at_batch(spec, batch)
    rng = np.random.default_rng(seed)
    derivation = derive(spec)
    tensors = derivation.tensors
    if arrays is None:
        arrays = {"x": random_fractions(rng, spec.input_shape)}
        arrays["grad_out"] = random_fractions(rng, spec.output_shape)
        for name, shape in spec.parameters().items():  # W and B of a convolution, in order
            if name != "X":
                arrays[name.lower()] = random_fractions(rng, shape)
        if spec.is_loss:  # an exact loss (mse): its target holds rationals too
            arrays["target"] = random_fractions(rng, spec.target_shape)
    pairs = [(tensors.X, "x"), (tensors.G, "grad_out"), (tensors.W, "w"), (tensors.B, "b")]
    pairs.append((tensors.T, "target"))
    values = {}
    for symbols, name in pairs:
        if symbols is not None:
            values.update(bind(symbols, arrays[name]))
    generated = run_generated(kernels, spec, arrays, object)
    expected = {"output": derivation.output, **derivation.grads}
    assert sorted(generated) == sorted(expected)
    for name, expressions in expected.items():
        exact = evaluate(expressions, values)
        for index, value in np.ndenumerate(generated[name]):
            assert isinstance(value, Fraction | int), (name, index, value)
            assert Rational(value.numerator, value.denominator) == exact[index], (
                name,
                index,
                value,
                exact[index],
            )
