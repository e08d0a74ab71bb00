"""The pool specs (max, min, average) and their command-line options.

>>> MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)).stride
(2, 2)
>>> AvgPool2d(input_shape=(4, 4), kernel=2).parameters()
{'X': (1, 1, 4, 4)}

PyTorch's ``kernel_size`` is accepted from Python for ``kernel``, and an unbatched ``(C, H, W)``
input as a batch of one:

>>> MaxPool2d(input_shape=(2, 4, 4), kernel_size=2).output_shape
(1, 2, 2, 2)
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

from ...options import INPUT, KERNEL, PADDING, REDUCTION, STRIDE, Option, Switch
from ...spec import (
    TIE_RULES,
    Layer,
    Window,
    _check_window,
    _fail,
    _int_tuple,
    _required_kernel,
    output_size,
    prod,
)

TIES = Option(
    "--ties",
    "ties",
    "who gets the gradient at a tie: first (PyTorch), all"
    " (every tied entry, an equality mask) or split (shared equally) (first)",
    choices=TIE_RULES,
)
COUNT_INCLUDE_PAD = Switch(
    "--count-include-pad",
    "--no-count-include-pad",
    "count_include_pad",
    "divide by the whole window, padding included (as PyTorch; the default), or with"
    " --no-count-include-pad by its real cells only",
)


@dataclass(frozen=True)
class Pool2d(Layer):
    """Fields shared by the pools: a window, its stride (the window by default) and padding."""

    required: ClassVar[tuple[str, ...]] = ("input_shape", "kernel")
    # Required, but a dataclass field after defaulted ones needs a default: __post_init__
    # refuses None, so the type is what every reader sees.
    kernel: tuple[int, int] = None  # type: ignore[assignment]
    stride: tuple[int, int] = None  # type: ignore[assignment]  # None: the kernel
    padding: tuple[int, int] = (0, 0)
    #: PyTorch's name for ``kernel`` (Python only; not a field: the spec holds ``kernel``).
    kernel_size: InitVar[Any] = None

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__()
        set_ = object.__setattr__
        set_(self, "kernel", _required_kernel(self, kernel_size))
        stride = self.kernel if self.stride is None else self.stride
        set_(self, "stride", _int_tuple("stride", stride, 2, minimum=1))
        set_(self, "padding", _int_tuple("padding", self.padding, 2, minimum=0))
        for i, axis in enumerate(("height", "width")):
            if 2 * self.padding[i] > self.kernel[i]:
                raise _fail(
                    "padding",
                    list(self.padding),
                    f"at most half the kernel along the {axis} ({self.kernel[i] // 2}),"
                    " as in PyTorch, so that every window holds a real input cell",
                )
        _check_window(self, (1, 1))

    @property
    def window(self) -> Window:
        return Window(self.kernel, self.stride, self.padding)

    def defaults(self) -> dict[str, Any]:
        plain = super().defaults()
        plain["stride"] = list(self.kernel)  # the stride defaults to the window
        return plain

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, c, h, w = self.input_shape
        oh, ow = (
            output_size(size, k, s, p)
            for size, k, s, p in zip((h, w), self.kernel, self.stride, self.padding, strict=True)
        )
        return (n, c, oh, ow)

    @property
    def multiply_terms(self) -> int:
        return prod(self.output_shape) * self.kernel[0] * self.kernel[1]


@dataclass(frozen=True)
class ExtremePool2d(Pool2d):
    """Max or min pooling, with an explicit rule for who receives the gradient at a tie."""

    options: ClassVar[tuple] = (INPUT, KERNEL, STRIDE, PADDING, TIES, REDUCTION)
    term_cost: ClassVar[int] = 30  # Max/Min and a Piecewise of comparisons per window cell
    ties: str = "first"

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__(kernel_size)
        if self.ties not in TIE_RULES:
            raise _fail("ties", self.ties, "expected one of " + ", ".join(TIE_RULES))


@dataclass(frozen=True)
class MaxPool2d(ExtremePool2d):
    type: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True)
class MinPool2d(ExtremePool2d):
    type: ClassVar[str] = "minpool2d"


@dataclass(frozen=True)
class AvgPool2d(Pool2d):
    type: ClassVar[str] = "avgpool2d"
    options: ClassVar[tuple] = (INPUT, KERNEL, STRIDE, PADDING, REDUCTION, COUNT_INCLUDE_PAD)
    term_cost: ClassVar[int] = 8
    count_include_pad: bool = True

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__(kernel_size)
        if not isinstance(self.count_include_pad, bool):
            raise _fail("count_include_pad", self.count_include_pad, "expected True or False")


TABLE = {cls.type: cls for cls in (MaxPool2d, MinPool2d, AvgPool2d)}
