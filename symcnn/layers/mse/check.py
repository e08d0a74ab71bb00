"""The checker's knowledge of mse: its claims are checked entry by entry (dL/dX written with
the target T, without the factor dL/dL = 1), and the mistakes people make with
``nn.MSELoss()``'s gradient ``2 (X - T) / M`` (M every entry) are named, each rebuilt exactly:

- the factor 2 of the square's derivative left out;
- the 1/M of the mean left out (the gradient of the sum of squares);
- the mean taken over the batch alone (1/N), not over every entry, told apart only when a
  sample has more than one entry.
"""

from __future__ import annotations

import numpy as np
from sympy import Integer, Rational

from ...check.kinds import KindCheck, NotApplicable, Pattern
from ...derive import Derivation
from ...spec import prod
from .spec import MSE


def _difference(derivation: Derivation) -> np.ndarray:
    return derivation.tensors.X - derivation.tensors.T


def _entries(derivation: Derivation) -> int:
    return prod(derivation.spec.input_shape)


def _no_factor_two(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = (X - T) / M."""
    return {"X": _difference(derivation) * Rational(1, _entries(derivation))}


def _no_mean(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = 2 (X - T)."""
    if _entries(derivation) == 1:
        raise NotApplicable
    return {"X": _difference(derivation) * Integer(2)}


def _mean_over_batch(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = 2 (X - T) / N."""
    if _entries(derivation) == derivation.spec.batch:
        raise NotApplicable  # one entry per sample: the two means are the same
    return {"X": _difference(derivation) * Rational(2, derivation.spec.batch)}


def _fields(spec: MSE) -> dict[str, str]:
    return {"M": str(prod(spec.input_shape)), "N": str(spec.batch)}


RIGHT = "2 ({X} - T) / {M}, the mean over all {M} entries"

#: The known mistakes of mean squared error, in the order they are listed.
PATTERNS = (
    Pattern(
        "mse_no_factor_two",
        "the factor 2 of the square's derivative left out",
        {"X": ("({X} - T) / {M}", RIGHT)},
        _no_factor_two,
    ),
    Pattern(
        "mse_no_mean",
        "the mean left out (the gradient of the sum of squares)",
        {"X": ("2 ({X} - T)", RIGHT)},
        _no_mean,
    ),
    Pattern(
        "mse_mean_over_batch",
        "the mean taken over the batch, not over every entry as nn.MSELoss()",
        {"X": ("2 ({X} - T) / {N}", RIGHT)},
        _mean_over_batch,
    ),
)

TABLE = {MSE.type: KindCheck(PATTERNS, fields=_fields)}
