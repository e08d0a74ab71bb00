"""The tanh runtime: written from the definition, as ``torch.tanh`` and its gradient.

The forward pass is ``np.tanh(x)``; the backward pass is ``grad_out * (1 - tanh(x)**2)``.
Float arrays only: the value of an exact rational is not rational.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import Tanh
>>> spec = Tanh(input_shape=(1, 2))
>>> x = np.array([[0.0, 1.0]])
>>> forward(spec, x)[0, 0], backward(spec, x, np.ones((1, 2)))["X"][0, 0]
(np.float64(0.0), np.float64(1.0))
"""

from __future__ import annotations

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import Tanh


def _checked(x: np.ndarray) -> np.ndarray:
    if x.dtype == object:
        raise ValueError("x is an object array: tanh needs float32 or float64 values")
    return x


def _forward(spec: Tanh, x: np.ndarray) -> np.ndarray:
    return np.tanh(_checked(x))


def _backward(spec: Tanh, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    dtype = common_dtype(x, upstream)
    t = np.tanh(_checked(x))
    return {"X": (upstream * (1 - t * t)).astype(dtype, copy=False)}


TABLE = {Tanh.type: LayerRuntime(_forward, _backward)}
