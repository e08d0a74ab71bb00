"""The mean squared error runtime, as ``nn.MSELoss()``: ``mean((x - target)**2)`` and the
gradient ``grad_out * 2 (x - target) / M``. Exact on object arrays of rationals.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import MSE
>>> spec = MSE(input_shape=(1, 2))
>>> x, t = np.array([[1.0, 3.0]]), np.array([[0.0, 0.0]])
>>> forward(spec, x, target=t), backward(spec, x, np.ones(1), target=t)["X"]
(array([5.]), array([[1., 3.]]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...runtime_base import LayerRuntime, checked, common_dtype
from .spec import MSE


def _target(spec: MSE, target: Any) -> np.ndarray:
    return checked("target", target, spec.input_shape, "the spec's input_shape")


def _forward(spec: MSE, x: np.ndarray, target: Any) -> np.ndarray:
    difference = x - _target(spec, target)
    return np.array([np.sum(difference * difference) / difference.size], dtype=difference.dtype)


def _backward(spec: MSE, x: np.ndarray, upstream: np.ndarray, target: Any):
    target = _target(spec, target)
    dtype = common_dtype(x, upstream, target)
    difference = x - target
    return {"X": (difference * (2 * upstream[0]) / difference.size).astype(dtype, copy=False)}


TABLE = {MSE.type: LayerRuntime(_forward, _backward)}
