"""flatten in a generated network: a reshape each way, proved on the derivation's entries."""

from __future__ import annotations

import numpy as np

from ...network.steps import NetworkStep
from .spec import Flatten


def _prove(derivation) -> bool:
    spec = derivation.spec
    tensors = derivation.tensors
    forward = (derivation.output == tensors.X.reshape(spec.output_shape)).all()
    backward = (derivation.grads["X"] == tensors.G.reshape(spec.input_shape)).all()
    return bool(forward and backward and np.shape(derivation.output) == spec.output_shape)


TABLE = {
    Flatten.type: NetworkStep(
        forward=("out = x.reshape(x.shape[0], -1)",),
        backward=("grad_x = grad_out.reshape(x.shape)",),
        prove=_prove,
        proves="O = X.reshape(N, -1) and dL/dX = dL/dO.reshape(X.shape), entry by entry",
    )
}
