"""The tanh forward rule: ``O = tanh(X)``, local partial ``1 - O**2``.

>>> from symcnn.tensors import Tensors
>>> from .spec import Tanh
>>> spec = Tanh(input_shape=(1, 1))
>>> entry = next(tanh_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr, entry.partials
(tanh(x_0_0), ((x_0_0, 1 - tanh(x_0_0)**2),))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sympy import tanh

from ...rules import Entry
from ...tensors import Tensors
from .spec import Tanh


def tanh_entries(spec: Tanh, tensors: Tensors) -> Iterator[Entry]:
    """One entry per input cell: its tanh and ``1 - tanh**2`` as its partial."""
    for index in itertools.product(*(range(size) for size in spec.output_shape)):
        x = tensors.X[index]
        value = tanh(x)
        yield Entry(index, value, ((x, 1 - value**2),))


TABLE = {Tanh.type: tanh_entries}
