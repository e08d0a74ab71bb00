"""The linear rule: ``O[n, k] = sum_c X[n, c] W[k, c] + B[k]``, its partials read off the pairs.

Each symbol occurs once in an entry, so ``dO/dx = w``, ``dO/dw = x`` and ``dO/db = 1``.

>>> from symcnn.tensors import Tensors
>>> from .spec import Linear
>>> spec = Linear(input_shape=(1, 2), out_features=1)
>>> next(linear_entries(spec, Tensors.for_layer(spec))).expr
b_0 + w_0_0*x_0_0 + w_0_1*x_0_1
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sympy import Integer

from ... import canonical
from ...rules import Entry
from ...tensors import Tensors
from .spec import Linear


def linear_entries(spec: Linear, tensors: Tensors) -> Iterator[Entry]:
    """One entry per (sample, output feature): the dot product of its row and the weight row."""
    for n, k in np.ndindex(spec.output_shape):
        pairs = [(tensors.X[n, c], tensors.W[k, c]) for c in range(spec.in_features)]
        terms = [canonical.pair(x, w) for x, w in pairs]
        partials = [(x, w) for x, w in pairs] + [(w, x) for x, w in pairs]
        if spec.bias:
            terms.append(tensors.B[k])
            partials.append((tensors.B[k], Integer(1)))
        yield Entry((n, k), canonical.total(terms), tuple(partials))


TABLE = {Linear.type: linear_entries}
