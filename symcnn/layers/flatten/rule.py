"""The flatten rule: output entry ``(n, j)`` is the input entry ``n`` and the j-th of the
rest in row-major order; its partial is 1.

>>> from symcnn.tensors import Tensors
>>> from .spec import Flatten
>>> spec = Flatten(input_shape=(1, 2, 1, 2))
>>> [entry.expr for entry in flatten_entries(spec, Tensors.for_layer(spec))]
[x_0_0_0_0, x_0_0_0_1, x_0_1_0_0, x_0_1_0_1]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sympy import Integer

from ...rules import Entry
from ...tensors import Tensors
from .spec import Flatten


def flatten_entries(spec: Flatten, tensors: Tensors) -> Iterator[Entry]:
    """One entry per output cell: the input cell it copies, with the partial 1."""
    rest = spec.input_shape[1:]
    for n, j in np.ndindex(spec.output_shape):
        x = tensors.X[(n, *np.unravel_index(j, rest))]
        yield Entry((n, j), x, ((x, Integer(1)),))


TABLE = {Flatten.type: flatten_entries}
