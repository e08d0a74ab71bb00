"""The checker's knowledge of flatten: its claims are checked entry by entry, and the mistake
of unflattening dL/dO in the wrong order is named: column-major (Fortran's, MATLAB's) rather
than row-major (NumPy's and PyTorch's). It is rebuilt exactly, and tried only where the two
orders differ (two axes after the batch longer than 1).
"""

from __future__ import annotations

import numpy as np

from ... import identities
from ...check.kinds import KindCheck, NotApplicable, Pattern
from ...derive import Derivation
from .spec import Flatten


def _column_major(derivation: Derivation) -> dict[str, np.ndarray]:
    """dL/dX[n, idx] = dL/dO[n, the column-major position of idx]."""
    spec = derivation.spec
    rest = spec.input_shape[1:]
    if sum(size > 1 for size in rest) < 2:
        raise NotApplicable  # one axis: both orders are the same
    upstream = identities.upstream_gradient(derivation)
    grad = np.empty(spec.input_shape, dtype=object)
    for index in np.ndindex(spec.input_shape):
        position = int(np.ravel_multi_index(index[1:], rest, order="F"))
        grad[index] = upstream[index[0], position]
    return {"X": grad}


#: The known mistakes of flatten.
PATTERNS = (
    Pattern(
        "flatten_column_major",
        "dL/dO unflattened column-major, not row-major",
        {"X": ("{dO} reshaped column-major", "{dO} reshaped row-major, as the forward pass")},
        _column_major,
    ),
)

TABLE = {Flatten.type: KindCheck(PATTERNS, upstream_terms=True)}
