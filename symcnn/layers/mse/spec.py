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
from ...spec import Layer, prod
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

    #: Per entry: a squared difference in the loss and its partial (measured, as every layer's).
    term_cost: ClassVar[int] = 200

    @property
    def work(self) -> int:
        """One output entry, but a term of the loss and a partial per input entry."""
        return prod(self.input_shape) * self.term_cost + self.symbol_count

    def work_words(self) -> str:
        entries = prod(self.input_shape)
        each = f"at {self.term_cost} each, {self.symbol_count:,} symbols"
        return f"{entries:,} squared differences {each}"


TABLE = {MSE.type: MSE}
