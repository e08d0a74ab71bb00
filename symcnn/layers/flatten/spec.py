"""The flatten spec: ``(N, C, H, W)`` (or any shape with a batch) to ``(N, C*H*W)``.

As PyTorch's ``nn.Flatten()`` (``start_dim=1``): the entries keep their row-major order.

>>> Flatten(input_shape=(2, 3, 4, 4)).output_shape
(2, 48)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT, REDUCTION
from ...spec import Layer, _fail, prod


@dataclass(frozen=True)
class Flatten(Layer):
    """Every axis after the batch joined, row-major; no parameters, no window."""

    type: ClassVar[str] = "flatten"
    term_cost: ClassVar[int] = 4
    options: ClassVar[tuple] = (INPUT, REDUCTION)
    spatial: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.input_shape) < 2:
            raise _fail(
                "input_shape", list(self.input_shape), "flatten needs a batch and at least one axis"
            )

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, prod(self.input_shape[1:]))


TABLE = {Flatten.type: Flatten}
