"""The sigmoid spec: an elementwise layer of any shape, no parameters, no window.

>>> spec = Sigmoid(input_shape=(2, 3))
>>> spec.output_shape, spec.parameters()
((2, 3), {'X': (2, 3)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT, REDUCTION
from ...spec import Layer


@dataclass(frozen=True)
class Sigmoid(Layer):
    """``O = 1 / (1 + exp(-X))`` entry by entry, as ``torch.sigmoid``."""

    type: ClassVar[str] = "sigmoid"
    term_cost: ClassVar[int] = 200  # an exp and its derivative per entry
    options: ClassVar[tuple] = (INPUT, REDUCTION)
    spatial: ClassVar[bool] = False  # a 2-D input is (N, features), as after a linear layer

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.input_shape


TABLE = {Sigmoid.type: Sigmoid}
