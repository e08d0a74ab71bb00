"""The softmax cross-entropy runtime, written from the definition as PyTorch's
``F.cross_entropy(x, target)``: the log-sum-exp shifted by each row's maximum (no overflow),
the mean over the batch; the gradient ``grad_out * (softmax(x) - onehot(target)) / N``.

``target`` holds class indices, shape ``(N,)``. Float arrays only.

>>> import numpy as np
>>> from symcnn.runtime import backward, forward
>>> from .spec import SoftmaxCrossEntropy
>>> spec = SoftmaxCrossEntropy(input_shape=(1, 2))
>>> x = np.zeros((1, 2))
>>> forward(spec, x, target=[1]), backward(spec, x, np.ones(1), target=[1])["X"]
(array([0.69314718]), array([[ 0.5, -0.5]]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...runtime_base import LayerRuntime, common_dtype
from .spec import SoftmaxCrossEntropy


def class_indices(spec: SoftmaxCrossEntropy, target: Any) -> np.ndarray:
    """``target`` as an integer array of shape (N,) with every entry in [0, C)."""
    array = np.asarray(target)
    if array.shape != (spec.batch,) or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"target has shape {array.shape} and dtype {array.dtype}: expected ({spec.batch},)"
            " integer class indices"
        )
    if array.size and (array.min() < 0 or array.max() >= spec.classes):
        raise ValueError(
            f"target holds {int(array.min())}..{int(array.max())}: expected class indices"
            f" 0..{spec.classes - 1}"
        )
    return array


def one_hot(spec: SoftmaxCrossEntropy, target: Any, dtype) -> np.ndarray:
    """The one-hot rows of the class indices: the symbolic target T of the derivation."""
    rows = np.zeros(spec.input_shape, dtype=dtype)
    rows[np.arange(spec.batch), class_indices(spec, target)] = 1
    return rows


def _floats(x: np.ndarray) -> np.ndarray:
    if x.dtype == object:
        raise ValueError("x is an object array: softmax_cross_entropy needs float32 or float64")
    return x


def softmax(x: np.ndarray) -> np.ndarray:
    """Each row's softmax, shifted by its maximum so that no ``exp`` overflows."""
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _forward(spec: SoftmaxCrossEntropy, x: np.ndarray, target: Any) -> np.ndarray:
    x = _floats(x)
    top = x.max(axis=1, keepdims=True)
    log_total = np.log(np.exp(x - top).sum(axis=1)) + top[:, 0]
    picked = x[np.arange(spec.batch), class_indices(spec, target)]
    return np.array([np.mean(log_total - picked)], dtype=x.dtype)


def _backward(spec: SoftmaxCrossEntropy, x: np.ndarray, upstream: np.ndarray, target: Any):
    dtype = common_dtype(x, upstream)
    x = _floats(x)
    grad = (softmax(x) - one_hot(spec, target, x.dtype)) * (upstream[0] / spec.batch)
    return {"X": grad.astype(dtype, copy=False)}


TABLE = {SoftmaxCrossEntropy.type: LayerRuntime(_forward, _backward)}
