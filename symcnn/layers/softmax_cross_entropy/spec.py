"""The softmax cross-entropy spec: logits ``(N, C)``, a one-entry output (the loss), and a
target: class indices at run time, one-hot rows ``T`` (``t_n_c``) in the derivation.

A loss is the last layer: its output has one entry, L itself, and its upstream gradient
``g_0`` is dL/dL (1 when it ends the network). The mean over the batch is the loss's own, as
PyTorch's default, so the layer's ``reduction`` stays ``"sum"`` (a second mean would divide
by N twice).

>>> spec = SoftmaxCrossEntropy(input_shape=(2, 3))
>>> spec.output_shape, spec.target_shape, spec.parameters()
((1,), (2, 3), {'X': (2, 3)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT
from ...spec import Layer, _fail


def check_loss_reduction(spec: Layer) -> None:
    """A loss averages itself: refuse the layer reduction ``mean`` on top of it."""
    if spec.reduction != "sum":
        raise _fail(
            "reduction",
            spec.reduction,
            f"{spec.type} is already PyTorch's mean: expected 'sum' (no second division)",
        )


@dataclass(frozen=True)
class SoftmaxCrossEntropy(Layer):
    """``L = (1/N) sum_n (log sum_c exp(X[n, c]) - sum_c T[n, c] X[n, c])``, T one-hot."""

    type: ClassVar[str] = "softmax_cross_entropy"
    options: ClassVar[tuple] = (INPUT,)
    spatial: ClassVar[bool] = False
    is_loss: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.input_shape) != 2:
            raise _fail(
                "input_shape",
                list(self.input_shape),
                "softmax_cross_entropy needs 2 integers (N samples, C classes)",
            )
        check_loss_reduction(self)

    @property
    def classes(self) -> int:
        return self.input_shape[1]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (1,)

    @property
    def target_shape(self) -> tuple[int, ...]:
        return self.input_shape

    @property
    def multiply_terms(self) -> int:
        return 2 * self.batch * self.classes

    #: Per term of the C x C terms of each row's gradient (every entry holds the row's sum).
    term_cost: ClassVar[int] = 10

    @property
    def work(self) -> int:
        """Each of the N*C gradient entries holds its row's sum of C exponentials."""
        return self.batch * self.classes * self.classes * self.term_cost + self.symbol_count

    def work_words(self) -> str:
        return (
            f"{self.batch:,} rows of {self.classes:,} entries, each holding its row's"
            f" {self.classes:,} terms at {self.term_cost} each, {self.symbol_count:,} symbols"
        )


TABLE = {SoftmaxCrossEntropy.type: SoftmaxCrossEntropy}
