"""The checker's knowledge of linear: its claims are checked entry by entry; every term of a
gradient entry holds one dL/dO factor, so a wrong entry's missing and extra terms are named;
and the mistakes people make with the matrix products are named, each rebuilt exactly:

- dL/dX with the weight transposed (``dL/dO W^T``, as if the layer were ``X W``): it has the
  right shape only for a square weight, so it is tried only there;
- dL/dW not transposed (``X^T dL/dO`` rather than ``(dL/dO)^T X``): its transpose, for a
  square weight again;
- dL/dB not summed over the batch (one sample's dL/dO), told apart from the sum only when the
  batch has more than one sample.
"""

from __future__ import annotations

import numpy as np

from ... import identities
from ...check.kinds import KindCheck, NotApplicable, Pattern
from ...derive import Derivation
from .spec import Linear


def _square(derivation: Derivation) -> None:
    spec = derivation.spec
    if spec.out_features != spec.in_features:
        raise NotApplicable  # the transposed product has another shape: nobody writes it


def _input_with_transposed_weight(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = dL/dO W^T."""
    _square(derivation)
    return {"X": identities.upstream_gradient(derivation).dot(derivation.tensors.W.T)}


def _weight_not_transposed(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dW = X^T dL/dO (the transpose of the right product)."""
    _square(derivation)
    return {"W": derivation.tensors.X.T.dot(identities.upstream_gradient(derivation))}


def _bias_not_summed(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dB = the first sample's dL/dO."""
    if derivation.spec.batch == 1 or not derivation.spec.bias:
        raise NotApplicable
    return {"B": identities.upstream_gradient(derivation)[0].copy()}


#: The known mistakes of linear, in the order they are listed when several match.
PATTERNS = (
    Pattern(
        "linear_input_weight_transposed",
        "dL/dX through the transposed weight",
        {"X": ("{dO} {W}^T", "{dO} {W}")},
        _input_with_transposed_weight,
    ),
    Pattern(
        "linear_weight_gradient_not_transposed",
        "dL/dW not transposed",
        {"W": ("{X}^T {dO}", "({dO})^T {X}")},
        _weight_not_transposed,
    ),
    Pattern(
        "linear_bias_not_summed",
        "dL/dB not summed over the batch",
        {"B": ("{dO} of the first sample", "{dO} summed over every sample")},
        _bias_not_summed,
    ),
)

TABLE = {Linear.type: KindCheck(PATTERNS, upstream_terms=True)}
