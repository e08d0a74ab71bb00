"""The checker's knowledge of sigmoid: its claims are checked entry by entry, and the mistake
of leaving its derivative out (dL/dX written as dL/dO) is named, rebuilt exactly."""

from __future__ import annotations

import numpy as np

from ... import identities
from ...check.kinds import KindCheck, Pattern
from ...derive import Derivation
from .spec import Sigmoid


def _no_derivative(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX = dL/dO: the activation's derivative left out."""
    return {"X": identities.upstream_gradient(derivation)}


PATTERNS = (
    Pattern(
        "sigmoid_no_derivative",
        "sigmoid derivative left out: dL/dX written as dL/dO",
        {"X": ("dL/dO everywhere", "dL/dO * s * (1 - s), s the sigmoid of X")},
        _no_derivative,
    ),
)

TABLE = {Sigmoid.type: KindCheck(PATTERNS)}
