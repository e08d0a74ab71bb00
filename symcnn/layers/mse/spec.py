"""The mean squared error spec: predictions of any shape with a batch, a target ``T`` of the
same shape (``t_...``), a one-entry output (the loss).

As ``nn.MSELoss()``: the mean over every element, so the layer's ``reduction`` stays
``"sum"`` (see the softmax cross-entropy spec).

>>> spec = MSE(input_shape=(2, 3))
>>> spec.output_shape, spec.target_shape
((1,), (2, 3))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT
from ...spec import Layer
from ..softmax_cross_entropy.spec import check_loss_reduction


@dataclass(frozen=True)
class MSE(Layer):
    """``L = (1/M) sum (X - T)**2`` over all M entries."""

    type: ClassVar[str] = "mse"
    options: ClassVar[tuple] = (INPUT,)
    spatial: ClassVar[bool] = False
    is_loss: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_loss_reduction(self)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def target_shape(self) -> tuple[int, ...]:
        return self.input_shape


TABLE = {MSE.type: MSE}
