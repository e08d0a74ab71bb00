"""The conv2d spec and its command-line options.

>>> spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
>>> spec.output_shape
(1, 1, 2, 2)
>>> spec.parameters()
{'X': (1, 1, 3, 3), 'W': (1, 1, 2, 2), 'B': (1,)}

PyTorch's spellings are accepted from Python: ``kernel_size`` for ``kernel``, ``padding="same"``
or ``"valid"``, and an unbatched ``(C, H, W)`` input (a batch of one):

>>> Conv2d(input_shape=(3, 5, 5), kernel_size=3, padding="same").padding
(1, 1)
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

from ...options import (
    DILATION,
    INPUT,
    KERNEL,
    PADDING,
    REDUCTION,
    STRIDE,
    Option,
    Switch,
    count,
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
        DILATION,
        Option("--groups", "groups", "channel groups G (1)", count("groups"), metavar="G"),
        REDUCTION,
        Switch(None, "--no-bias", "bias", "leave out the bias B"),
    )
    required: ClassVar[tuple[str, ...]] = ("input_shape", "kernel")
    out_channels: int = 1
    # Required, but a dataclass field after defaulted ones needs a default: __post_init__
    # refuses None, so the type is what every reader sees.
    kernel: tuple[int, int] = None  # type: ignore[assignment]
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    #: PyTorch's name for ``kernel`` (Python only; not a field: the spec holds ``kernel``).
    kernel_size: InitVar[Any] = None

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__()
        set_ = object.__setattr__
        set_(self, "out_channels", _positive_int("out_channels", self.out_channels))
        set_(self, "kernel", _required_kernel(self, kernel_size))
        set_(self, "stride", _int_tuple("stride", self.stride, 2, minimum=1))
        set_(self, "dilation", _int_tuple("dilation", self.dilation, 2, minimum=1))
        set_(self, "padding", _int_tuple("padding", _named_padding(self), 2, minimum=0))
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
            shapes["B"] = (self.out_channels,)
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


def _named_padding(spec: Conv2d) -> Any:
    """PyTorch's ``padding="valid"`` (none) and ``"same"`` (the output as large as the input).

    ``"same"`` pads ``D(K-1)/2`` on each side, at stride 1 only (as PyTorch). Where ``D(K-1)``
    is odd PyTorch pads one more cell at the bottom and right than at the top and left; a spec's
    padding is the same on both sides, so that case is refused with the reason.
    """
    if not isinstance(spec.padding, str):
        return spec.padding
    if spec.padding == "valid":
        return (0, 0)
    if spec.padding != "same":
        raise _fail("padding", spec.padding, "expected 'same', 'valid' or integers >= 0")
    if spec.stride != (1, 1):
        raise _fail(
            "padding",
            "same",
            f"only at stride 1 (as PyTorch), not stride={list(spec.stride)}: give the padding"
            " as integers",
        )
    spans = [d * (k - 1) for d, k in zip(spec.dilation, _required_kernel(spec), strict=True)]
    if any(span % 2 for span in spans):
        raise _fail(
            "padding",
            "same",
            f"the dilated kernel spans {[span + 1 for span in spans]}: an even span needs"
            " one more cell of padding on one side than the other (PyTorch's 'same'), and"
            " symcnn pads both sides alike; use an odd kernel or explicit padding",
        )
    return tuple(span // 2 for span in spans)


TABLE = {Conv2d.type: Conv2d}
