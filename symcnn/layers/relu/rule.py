"""The ReLU forward rule: ``O = Max(X, 0)``, local partial 1 where ``X > 0`` and 0 elsewhere.

The partial at ``X = 0`` is 0, as in PyTorch (``torch.relu``'s gradient), so the derived
gradient is ``Piecewise((g, x > 0), (0, True))``: the input receives the upstream gradient
exactly where it was positive.

>>> from symcnn.tensors import Tensors
>>> from .spec import ReLU
>>> spec = ReLU(input_shape=(1, 2))
>>> entry = next(relu_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr, entry.partials
(Max(0, x_0_0), ((x_0_0, Piecewise((1, x_0_0 > 0), (0, True))),))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sympy import Integer, Max, Piecewise, S

from ...rules import Entry
from ...tensors import Tensors
from .spec import ReLU


def relu_entries(spec: ReLU, tensors: Tensors) -> Iterator[Entry]:
    """One entry per input cell: its maximum with 0 and the step function as its partial."""
    for index in itertools.product(*(range(size) for size in spec.output_shape)):
        x = tensors.X[index]
        step = Piecewise((Integer(1), x > 0), (Integer(0), True))
        yield Entry(index, Max(x, S.Zero), ((x, step),))


TABLE = {ReLU.type: relu_entries}
