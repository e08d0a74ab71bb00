"""The conv2d spec and its command-line options.

>>> spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
>>> spec.output_shape
(1, 1, 2, 2)
>>> spec.parameters()
{'X': (1, 1, 3, 3), 'W': (1, 1, 2, 2), 'B': (1,)}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...options import (
    INPUT,
    KERNEL,
    PADDING,
    REDUCTION,
    STRIDE,
    Option,
    Switch,
    count,
    dims,
    square,
)
from ...spec import (
    Layer,
    Window,
    _check_window,
    _fail,
    _int_tuple,
    _positive_int,
    _required_kernel,
    output_size,
    prod,
)


@dataclass(frozen=True)
class Conv2d(Layer):
    """A 2-D convolution (cross-correlation, as in every CNN framework), PyTorch's semantics."""

    type: ClassVar[str] = "conv2d"
    options: ClassVar[tuple] = (
        INPUT,
        KERNEL,
        STRIDE,
        PADDING,
        Option(
            "--out-channels",
            "out_channels",
            "output channels K (1)",
            count("out-channels"),
            metavar="K",
        ),
        Option(
            "--dilation",
            "dilation",
            "kernel dilation D[xD] (1)",
            dims("dilation", (1, 2)),
            square,
            metavar="D[xD]",
        ),
        Option("--groups", "groups", "channel groups G (1)", count("groups"), metavar="G"),
        REDUCTION,
        Switch(None, "--no-bias", "bias", "leave out the bias B"),
    )
    required: ClassVar[tuple[str, ...]] = ("input_shape", "kernel")
    out_channels: int = 1
    kernel: tuple[int, int] | None = None  # required: checked in __post_init__
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        set_ = object.__setattr__
        set_(self, "out_channels", _positive_int("out_channels", self.out_channels))
        set_(self, "kernel", _required_kernel(self))
        set_(self, "stride", _int_tuple("stride", self.stride, 2, minimum=1))
        set_(self, "padding", _int_tuple("padding", self.padding, 2, minimum=0))
        set_(self, "dilation", _int_tuple("dilation", self.dilation, 2, minimum=1))
        set_(self, "groups", _positive_int("groups", self.groups))
        if not isinstance(self.bias, bool):
            raise _fail("bias", self.bias, "expected True or False")
        channels = self.input_shape[1]
        if channels % self.groups:
            raise _fail("groups", self.groups, f"must divide the input channels ({channels})")
        if self.out_channels % self.groups:
            raise _fail("groups", self.groups, f"must divide out_channels ({self.out_channels})")
        _check_window(self, self.dilation)

    @property
    def in_channels(self) -> int:
        return self.input_shape[1]

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def bias_shape(self) -> tuple[int, ...] | None:
        return (self.out_channels,) if self.bias else None

    @property
    def window(self) -> Window:
        return Window(self.kernel, self.stride, self.padding, self.dilation)

    def parameters(self) -> dict[str, tuple[int, ...]]:
        shapes = {"X": self.input_shape, "W": self.weight_shape}
        if self.bias:
            shapes["B"] = self.bias_shape
        return shapes

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, _, h, w = self.input_shape
        oh, ow = (
            output_size(size, k, s, p, d)
            for size, k, s, p, d in zip(
                (h, w), self.kernel, self.stride, self.padding, self.dilation, strict=True
            )
        )
        return (n, self.out_channels, oh, ow)

    @property
    def multiply_terms(self) -> int:
        """Multiply terms in the forward pass: the size of the derivation."""
        _, _, kh, kw = self.weight_shape
        return prod(self.output_shape) * (self.in_channels // self.groups) * kh * kw


TABLE = {Conv2d.type: Conv2d}
