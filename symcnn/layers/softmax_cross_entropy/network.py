"""softmax cross-entropy in a generated network: shifted log-sum-exp, softmax minus one-hot.

The shift by each row's maximum changes no value (``log sum exp(x) = m + log sum exp(x - m)``)
and keeps ``exp`` from overflowing; the proof holds the derived loss and gradient against the
unshifted forms the statements compute.
"""

from __future__ import annotations

from sympy import Add, Rational, exp, expand, log

from ...network.steps import NetworkStep
from .spec import SoftmaxCrossEntropy


def _prove(derivation) -> bool:
    spec, tensors = derivation.spec, derivation.tensors
    scale = Rational(1, spec.batch)
    g = tensors.G[0]
    loss = 0
    for n in range(spec.batch):
        total = Add(*(exp(x) for x in tensors.X[n]))
        loss += scale * (
            log(total) - Add(*(t * x for t, x in zip(tensors.T[n], tensors.X[n], strict=True)))
        )
        for c, x in enumerate(tensors.X[n]):
            form = g * scale * (exp(x) / total - tensors.T[n, c])
            if expand(derivation.grads["X"][n, c] - form) != 0:
                return False
    return expand(derivation.output[0] - loss) == 0


TABLE = {
    SoftmaxCrossEntropy.type: NetworkStep(
        forward=(
            "shifted = x - x.max(axis=1, keepdims=True)",
            "log_total = np.log(np.exp(shifted).sum(axis=1))",
            "rows = np.arange(x.shape[0])",
            "loss = np.mean(log_total - shifted[rows, target])",
        ),
        backward=(
            "shifted = x - x.max(axis=1, keepdims=True)",
            "grad_x = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)",
            "grad_x[np.arange(x.shape[0]), target] -= 1",
            "grad_x = grad_x / x.shape[0]",
        ),
        prove=_prove,
        proves="L = mean(log sum exp(X) - X[target]), dL/dX = (softmax(X) - onehot(target)) / N",
    )
}
