"""The tanh spec: an elementwise layer of any shape, no parameters, no window.

>>> spec = Tanh(input_shape=(2, 3))
>>> spec.output_shape, spec.parameters()
((2, 3), {'X': (2, 3)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT, REDUCTION
from ...spec import Layer


@dataclass(frozen=True)
class Tanh(Layer):
    """``O = tanh(X)`` entry by entry, as ``torch.tanh``."""

    type: ClassVar[str] = "tanh"
    term_cost: ClassVar[int] = 45  # a tanh and its derivative per entry
    options: ClassVar[tuple] = (INPUT, REDUCTION)
    spatial: ClassVar[bool] = False  # a 2-D input is (N, features), as after a linear layer

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.input_shape


TABLE = {Tanh.type: Tanh}
