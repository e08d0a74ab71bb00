"""The sigmoid runtime: written from the definition, as ``torch.sigmoid`` and its gradient.

The forward pass is ``1 / (1 + exp(-x))``, computed as ``exp(x) / (1 + exp(x))`` where x is
negative so that no ``exp`` overflows; the backward pass is ``grad_out * s * (1 - s)``.
Float arrays only: the value of an exact rational is not rational.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import Sigmoid
>>> spec = Sigmoid(input_shape=(1, 2))
>>> x = np.array([[0.0, 2.0]])
>>> forward(spec, x)[0, 0], backward(spec, x, np.ones((1, 2)))["X"][0, 0]
(np.float64(0.5), np.float64(0.25))
"""

from __future__ import annotations

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import Sigmoid


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function without overflow for inputs of either sign."""
    if x.dtype == object:
        raise ValueError("x is an object array: sigmoid needs float32 or float64 values")
    positive = np.exp(-np.abs(x))  # exp of a non-positive number: at most 1
    return np.where(x >= 0, 1 / (1 + positive), positive / (1 + positive)).astype(x.dtype)


def _forward(spec: Sigmoid, x: np.ndarray) -> np.ndarray:
    return sigmoid(x)


def _backward(spec: Sigmoid, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    dtype = common_dtype(x, upstream)
    s = sigmoid(x)
    return {"X": (upstream * s * (1 - s)).astype(dtype, copy=False)}


TABLE = {Sigmoid.type: LayerRuntime(_forward, _backward)}
