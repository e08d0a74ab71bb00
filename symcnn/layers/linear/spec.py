"""The linear spec: PyTorch's ``nn.Linear``, weight ``(out_features, in_features)``, bias.

>>> spec = Linear(input_shape=(2, 3), out_features=4)
>>> spec.output_shape, spec.parameters()
((2, 4), {'X': (2, 3), 'W': (4, 3), 'B': (4,)})
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import INPUT, REDUCTION, Option, Switch, count
from ...spec import Layer, _fail, _positive_int


@dataclass(frozen=True)
class Linear(Layer):
    """``O = X W^T + B`` on an input of N samples of F features (``in_features``)."""

    type: ClassVar[str] = "linear"
    term_cost: ClassVar[int] = 2
    options: ClassVar[tuple] = (
        INPUT,
        Option(
            "--out-features",
            "out_features",
            "output features K of a linear layer (1)",
            count("out-features", least=1),
            metavar="K",
        ),
        REDUCTION,
        Switch(None, "--no-bias", "bias", "leave out the bias B"),
    )
    spatial: ClassVar[bool] = False
    out_features: int = 1
    bias: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.input_shape) != 2:
            raise _fail(
                "input_shape",
                list(self.input_shape),
                "linear needs 2 integers (N samples, F features); flatten an image first",
            )
        _positive_int("out_features", self.out_features)
        if not isinstance(self.bias, bool):
            raise _fail("bias", self.bias, "expected True or False")

    @property
    def in_features(self) -> int:
        return self.input_shape[1]

    @property
    def weight_shape(self) -> tuple[int, int]:
        return (self.out_features, self.in_features)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.batch, self.out_features)

    @property
    def multiply_terms(self) -> int:
        return self.batch * self.out_features * self.in_features

    def parameters(self) -> dict[str, tuple[int, ...]]:
        shapes = {"X": self.input_shape, "W": self.weight_shape}
        if self.bias:
            shapes["B"] = (self.out_features,)
        return shapes


TABLE = {Linear.type: Linear}
