"""The linear runtime, written from the definition: ``x @ w.T + b``; ``grad_x = g @ w``,
``grad_w = g.T @ x``, ``grad_b`` the sum of g over the batch. Exact on object arrays.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import Linear
>>> spec = Linear(input_shape=(1, 2), out_features=1)
>>> x, w, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]]), np.array([5.0])
>>> forward(spec, x, w, b), backward(spec, x, np.ones((1, 1)), w)["W"]
(array([[16.]]), array([[1., 2.]]))
"""

from __future__ import annotations

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import Linear


def _forward(spec: Linear, x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None):
    out = x @ w.T
    if b is not None:
        out = out + b
    return out.astype(common_dtype(x, w, b), copy=False)


def _backward(spec: Linear, x: np.ndarray, upstream: np.ndarray, w: np.ndarray):
    dtype = common_dtype(x, upstream, w)
    grads = {"X": (upstream @ w).astype(dtype), "W": (upstream.T @ x).astype(dtype)}
    if spec.bias:
        grads["B"] = upstream.sum(axis=0).astype(dtype)
    return grads


TABLE = {Linear.type: LayerRuntime(_forward, _backward)}
