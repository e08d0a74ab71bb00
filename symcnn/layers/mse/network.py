"""mse in a generated network: the mean of squared differences, ``2 (x - target) / M``."""

from __future__ import annotations

from sympy import Add, Rational, expand

from ...network.steps import NetworkStep
from ...spec import prod
from .spec import MSE


def _prove(derivation) -> bool:
    tensors = derivation.tensors
    scale = Rational(1, prod(derivation.spec.input_shape))
    pairs = list(zip(tensors.X.flat, tensors.T.flat, strict=True))
    loss = Add(*(scale * (x - t) ** 2 for x, t in pairs))
    grads = [tensors.G[0] * 2 * scale * (x - t) for x, t in pairs]
    derived = list(derivation.grads["X"].flat)
    same = all(expand(a - b) == 0 for a, b in zip(derived, grads, strict=True))
    return same and expand(derivation.output[0] - loss) == 0


TABLE = {
    MSE.type: NetworkStep(
        forward=("difference = x - target", "loss = np.sum(difference * difference) / x.size"),
        backward=("grad_x = 2 * (x - target) / x.size",),
        prove=_prove,
        proves="L = sum((X - T)**2) / M, dL/dX = 2 (X - T) / M",
    )
}
