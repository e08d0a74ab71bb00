"""The mean squared error rule: one entry, the loss, with the partial ``2 (X - T) / M`` for
every prediction (M the number of entries, as ``nn.MSELoss()``).

>>> from symcnn.tensors import Tensors
>>> from .spec import MSE
>>> spec = MSE(input_shape=(1, 2))
>>> entry = next(mse_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr
(-t_0_0 + x_0_0)**2/2 + (-t_0_1 + x_0_1)**2/2
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from sympy import Add, Rational

from ...rules import Entry
from ...spec import prod
from ...tensors import Tensors
from .spec import MSE


def mse_entries(spec: MSE, tensors: Tensors) -> Iterator[Entry]:
    """The loss, averaged over every entry, and its partial for every prediction."""
    scale = Rational(1, prod(spec.input_shape))
    squares, partials = [], []
    for index in np.ndindex(spec.input_shape):
        x, t = tensors.X[index], tensors.T[index]
        squares.append(scale * (x - t) ** 2)
        partials.append((x, 2 * scale * (x - t)))
    yield Entry((0,), Add(*squares), tuple(partials))


TABLE = {MSE.type: mse_entries}
