"""The sigmoid forward rule: ``O = 1 / (1 + exp(-X))``, local partial ``O * (1 - O)``.

The partial is written through the output, as the notes write ``sigma' = sigma (1 - sigma)``;
it is exactly ``exp(-x) / (1 + exp(-x))**2``, which the tests hold against ``sympy.diff``.

>>> from symcnn.tensors import Tensors
>>> from .spec import Sigmoid
>>> spec = Sigmoid(input_shape=(1, 1))
>>> entry = next(sigmoid_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr
1/(1 + exp(-x_0_0))
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from sympy import Integer, exp

from ...rules import Entry
from ...tensors import Tensors
from .spec import Sigmoid


def sigmoid_entries(spec: Sigmoid, tensors: Tensors) -> Iterator[Entry]:
    """One entry per input cell: its logistic value and ``s * (1 - s)`` as its partial."""
    for index in itertools.product(*(range(size) for size in spec.output_shape)):
        x = tensors.X[index]
        value = Integer(1) / (1 + exp(-x))
        yield Entry(index, value, ((x, value * (1 - value)),))


TABLE = {Sigmoid.type: sigmoid_entries}
