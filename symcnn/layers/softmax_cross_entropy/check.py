"""The checker's knowledge of softmax_cross_entropy: its claims are checked entry by entry
(dL/dX written with ``exp`` and the one-hot target T, without the factor dL/dL = 1), and the
mistakes people make are named, each rebuilt exactly:

- the 1/N of the mean over the batch left out (``softmax(X) - T``, the gradient of the sum),
  told apart from the mean only for a batch of more than one sample;
- ``softmax(X) - 1`` in every class, the target's one-hot row taken as 1 everywhere.
"""

from __future__ import annotations

import numpy as np
from sympy import Add, Integer, Rational, exp

from ...check.kinds import KindCheck, NotApplicable, Pattern
from ...derive import Derivation
from .spec import SoftmaxCrossEntropy


def _softmax(derivation: Derivation) -> np.ndarray:
    """Each logit's softmax, exactly: exp(X[n, c]) over its row's sum of exponentials."""
    logits = derivation.tensors.X
    out = np.empty(logits.shape, dtype=object)
    for n in range(logits.shape[0]):
        total = Add(*(exp(x) for x in logits[n]))
        for c, x in enumerate(logits[n]):
            out[n, c] = exp(x) / total
    return out


def _no_mean(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = softmax(X) - T: the gradient of the sum over the batch, not of its mean."""
    if derivation.spec.batch == 1:
        raise NotApplicable
    return {"X": _softmax(derivation) - derivation.tensors.T}


def _minus_one_everywhere(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = (softmax(X) - 1) / N in every class, not only the target's."""
    scale = Rational(1, derivation.spec.batch)
    return {"X": (_softmax(derivation) - Integer(1)) * scale}


def _fields(spec: SoftmaxCrossEntropy) -> dict[str, str]:
    return {"N": str(spec.batch)}


RIGHT = "(softmax({X}) - T) / {N}, T the one-hot target"

#: The known mistakes of softmax cross-entropy, in the order they are listed.
PATTERNS = (
    Pattern(
        "cross_entropy_no_mean",
        "the mean over the batch left out (the 1/N of PyTorch's default)",
        {"X": ("softmax({X}) - T", RIGHT)},
        _no_mean,
    ),
    Pattern(
        "cross_entropy_minus_one_everywhere",
        "1 subtracted in every class, not the one-hot target",
        {"X": ("(softmax({X}) - 1) / {N}", RIGHT)},
        _minus_one_everywhere,
    ),
)

TABLE = {SoftmaxCrossEntropy.type: KindCheck(PATTERNS, fields=_fields)}
