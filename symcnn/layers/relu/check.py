"""The checker's knowledge of ReLU: its claims are checked entry by entry, and two mistakes
people make are named.

- The gradient passed at 0 as well (a mask ``X >= 0``): PyTorch's ReLU gives 0 there, so only
  an input entry of exactly 0 tells the two apart; the checker's equality tries that point.
- No mask at all: dL/dX written as dL/dO, as if the activation were the identity.

Each mistake is rebuilt exactly from the layer's own symbols.
"""

from __future__ import annotations

import numpy as np
from sympy import Integer, Piecewise

from ... import identities
from ...check.kinds import KindCheck, Pattern
from ...derive import Derivation
from .spec import ReLU

RIGHT = "dL/dO where X > 0, and 0 where X <= 0 (at 0 too, as PyTorch)"


def _passed_at_zero(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX with the mask ``X >= 0``: the upstream gradient also where the input is 0."""
    upstream = identities.upstream_gradient(derivation)
    grad = np.empty(derivation.spec.input_shape, dtype=object)
    for index, x in np.ndenumerate(derivation.tensors.X):
        grad[index] = upstream[index] * Piecewise((Integer(1), x >= 0), (Integer(0), True))
    return {"X": grad}


def _no_mask(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = dL/dO: the activation's derivative left out."""
    return {"X": identities.upstream_gradient(derivation)}


#: The known mistakes of ReLU, in the order they are listed when several match.
PATTERNS = (
    Pattern(
        "relu_gradient_at_zero",
        "ReLU gradient passed where the input is 0 (a mask X >= 0, not X > 0)",
        {"X": ("dL/dO where X >= 0", RIGHT)},
        _passed_at_zero,
    ),
    Pattern(
        "relu_no_mask",
        "ReLU derivative left out: dL/dX written as dL/dO",
        {"X": ("dL/dO everywhere", RIGHT)},
        _no_mask,
    ),
)

TABLE = {ReLU.type: KindCheck(PATTERNS)}
