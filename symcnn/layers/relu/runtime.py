"""The ReLU runtime: written from the definition, as ``torch.relu`` and its gradient.

The forward pass is ``np.maximum(x, 0)`` (a NaN stays NaN, as in PyTorch); the backward pass
lets the upstream gradient through where ``x > 0`` and gives 0 elsewhere, at 0 included. On
object arrays of exact rationals both are exact: only comparisons and a selection happen.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import ReLU
>>> spec = ReLU(input_shape=(1, 3))
>>> x = np.array([[-1.0, 0.0, 2.0]])
>>> forward(spec, x), backward(spec, x, np.ones((1, 3)))["X"]
(array([[0., 0., 2.]]), array([[0., 0., 1.]]))
"""

from __future__ import annotations

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import ReLU


def _forward(spec: ReLU, x: np.ndarray) -> np.ndarray:
    return np.maximum(x, x.dtype.type(0))


def _backward(spec: ReLU, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    dtype = common_dtype(x, upstream)
    zero = np.zeros((), dtype=dtype)[()]
    return {"X": np.where(x > 0, upstream, zero).astype(dtype, copy=False)}


TABLE = {ReLU.type: LayerRuntime(_forward, _backward)}
