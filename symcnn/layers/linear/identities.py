"""The operator identities of linear: ``dL/dX = dL/dO W``, ``dL/dW = (dL/dO)^T X``, ``dL/dB``
the sum of dL/dO over the batch; each built from the matrices and proved against the derived
gradient entry by entry (:func:`symcnn.identities.verify`)."""

from __future__ import annotations

import numpy as np

from ... import canonical
from ...derive import Derivation
from ...identities import LayerIdentities, matmul, upstream_gradient
from .spec import Linear


def _input_form(d: Derivation) -> np.ndarray:
    return matmul(upstream_gradient(d), d.tensors.W)


def _weight_form(d: Derivation) -> np.ndarray:
    return matmul(upstream_gradient(d).T, d.tensors.X)


def _bias_form(d: Derivation) -> np.ndarray:
    upstream = upstream_gradient(d)
    return np.array([canonical.total(column) for column in upstream.T], dtype=object)


TABLE = {
    Linear.type: LayerIdentities(
        rules=(
            (
                "linear_input",
                "X",
                "dL/dX = dL/dO W (the transpose of the forward map)",
                _input_form,
            ),
            ("linear_weight", "W", "dL/dW = (dL/dO)^T X", _weight_form),
            ("linear_bias", "B", "dL/dB = sum of dL/dO over the batch", _bias_form),
        )
    )
}
