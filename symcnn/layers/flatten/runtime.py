"""The flatten runtime: a reshape forward, the reshape back for the gradient (exact on any
dtype: entries are only moved).

>>> import numpy as np
>>> from symcnn.runtime import forward
>>> from .spec import Flatten
>>> forward(Flatten(input_shape=(1, 2, 1, 2)), np.arange(4.0).reshape(1, 2, 1, 2))
array([[0., 1., 2., 3.]])
"""

from __future__ import annotations

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import Flatten


def _forward(spec: Flatten, x: np.ndarray) -> np.ndarray:
    return x.reshape(spec.output_shape).copy()


def _backward(spec: Flatten, x: np.ndarray, upstream: np.ndarray) -> dict[str, np.ndarray]:
    dtype = common_dtype(x, upstream)
    return {"X": upstream.reshape(spec.input_shape).astype(dtype)}


TABLE = {Flatten.type: LayerRuntime(_forward, _backward)}
