"""The ReLU spec: an elementwise layer of any shape, no parameters, no window.

>>> spec = ReLU(input_shape=(2, 3))
>>> spec.output_shape, spec.parameters()
((2, 3), {'X': (2, 3)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT, REDUCTION
from ...spec import Layer


@dataclass(frozen=True)
class ReLU(Layer):
    """``O = max(X, 0)`` entry by entry. Its gradient at 0 is 0, as PyTorch's."""

    type: ClassVar[str] = "relu"
    term_cost: ClassVar[int] = 40  # a Max and a Piecewise per entry
    options: ClassVar[tuple] = (INPUT, REDUCTION)
    spatial: ClassVar[bool] = False  # a 2-D input is (N, features), as after a linear layer

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.input_shape


TABLE = {ReLU.type: ReLU}
