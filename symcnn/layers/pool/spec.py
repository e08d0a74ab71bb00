"""The pool specs (max, min, average) and their command-line options.

>>> MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)).stride
(2, 2)
>>> AvgPool2d(input_shape=(4, 4), kernel=2).parameters()
{'X': (1, 1, 4, 4)}

PyTorch's ``kernel_size`` is accepted from Python for ``kernel``, and an unbatched ``(C, H, W)``
input as a batch of one:

>>> MaxPool2d(input_shape=(2, 4, 4), kernel_size=2).output_shape
(1, 2, 2, 2)

PyTorch's ``ceil_mode`` rounds the output size up, keeping a last window that overhangs the
input's end, and the extreme pools take PyTorch's ``dilation`` (the spacing of the taps):

>>> MaxPool2d(input_shape=(5, 5), kernel=2, ceil_mode=True).output_shape
(1, 1, 3, 3)
>>> MaxPool2d(input_shape=(5, 5), kernel=2, stride=1, dilation=2).output_shape
(1, 1, 3, 3)
"""

from __future__ import annotations

from dataclasses import InitVar, dataclass
from typing import Any, ClassVar

from ...options import DILATION, INPUT, KERNEL, PADDING, REDUCTION, STRIDE, Option, Switch
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

CEIL_MODE = Switch(
    "--ceil-mode",
    "--no-ceil-mode",
    "ceil_mode",
    "round the output size up, as PyTorch's ceil_mode: a last window that starts inside the"
    " input or its left padding and overhangs the end is kept (off)",
)


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Output length along one axis, as PyTorch's pools: ``(H + 2P - D(K-1) - 1) / S + 1``,
    rounded down, or up with ``ceil_mode`` as long as the last window starts inside the input
    or its left padding.

    >>> pool_output_size(5, 2, 2, 0, 1, ceil_mode=False), pool_output_size(5, 2, 2, 0, 1, True)
    (2, 3)
    >>> pool_output_size(5, 2, 3, 1, 1, ceil_mode=True)  # a third would start on the padding
    2
    """
    if not ceil_mode:
        return output_size(size, kernel, stride, padding, dilation)
    reach = size + 2 * padding - dilation * (kernel - 1) - 1
    out = -(-reach // stride) + 1
    if (out - 1) * stride >= size + padding:  # it would start on the right padding
        out -= 1
    return out


def _window_without_cells(
    size: int, out: int, kernel: int, stride: int, padding: int, dilation: int
) -> int | None:
    """The first output position along an axis whose window has no real cell, or None.

    Only a window that starts in the padding can miss the input (a window starting at a real
    cell holds it: the last one starts inside the input), and when the taps are spaced more
    widely than the input is long it may step over it. Those windows are at most the first
    ``ceil(P / S)``, and no more than the output's length.
    """
    for i in range(min(out, -(-padding // stride))):
        start = i * stride - padding
        first = -(start // dilation)  # the first tap at or after cell 0
        if first >= kernel or start + first * dilation >= size:
            return i
    return None


@dataclass(frozen=True)
class Pool2d(Layer):
    """Fields shared by the pools: a window, its stride (the window by default) and padding."""

    required: ClassVar[tuple[str, ...]] = ("input_shape", "kernel")
    # Required, but a dataclass field after defaulted ones needs a default: __post_init__
    # refuses None, so the type is what every reader sees.
    kernel: tuple[int, int] = None  # type: ignore[assignment]
    stride: tuple[int, int] = None  # type: ignore[assignment]  # None: the kernel
    padding: tuple[int, int] = (0, 0)
    ceil_mode: bool = False
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
        if not isinstance(self.ceil_mode, bool):
            raise _fail("ceil_mode", self.ceil_mode, "expected True or False")

    def _check_windows(self) -> None:
        """Refuse a window that does not fit, or (with dilation or ceil_mode) one that holds
        no real input cell: PyTorch would give it -inf, or 0/0 for an average."""
        window = self.window
        if not self.ceil_mode:
            _check_window(self, window.dilation)
        for axis, size, out, *geometry in zip(
            ("height", "width"),
            self.input_shape[2:],
            self.output_shape[2:],
            window.kernel,
            window.stride,
            window.padding,
            window.dilation,
            strict=True,
        ):
            if out < 1:
                raise ValueError(
                    f"kernel={list(self.kernel)} is not valid for"
                    f" input_shape={list(self.input_shape)} with padding={list(self.padding)}:"
                    f" the {axis} has no window (the output size along it is {out})"
                )
            empty = _window_without_cells(size, out, *geometry)
            if empty is not None:
                raise ValueError(
                    f"dilation={list(window.dilation)} is not valid for"
                    f" input_shape={list(self.input_shape)} with kernel={list(self.kernel)} and"
                    f" padding={list(self.padding)}: window {empty} along the {axis} has its"
                    " taps on the padding only (PyTorch would pool nothing there)"
                )

    @property
    def window(self) -> Window:
        return Window(self.kernel, self.stride, self.padding, ceil_mode=self.ceil_mode)

    def defaults(self) -> dict[str, Any]:
        plain = super().defaults()
        plain["stride"] = list(self.kernel)  # the stride defaults to the window
        return plain

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        n, c, h, w = self.input_shape
        window = self.window
        oh, ow = (
            pool_output_size(size, *axis, self.ceil_mode)
            for size, axis in zip(
                (h, w),
                zip(window.kernel, window.stride, window.padding, window.dilation, strict=True),
                strict=True,
            )
        )
        return (n, c, oh, ow)

    @property
    def multiply_terms(self) -> int:
        return prod(self.output_shape) * self.kernel[0] * self.kernel[1]


@dataclass(frozen=True)
class ExtremePool2d(Pool2d):
    """Max or min pooling, with an explicit rule for who receives the gradient at a tie."""

    options: ClassVar[tuple] = (
        INPUT,
        KERNEL,
        STRIDE,
        PADDING,
        DILATION,
        TIES,
        REDUCTION,
        CEIL_MODE,
    )
    term_cost: ClassVar[int] = 30  # Max/Min and a Piecewise of comparisons per window cell
    dilation: tuple[int, int] = (1, 1)
    ties: str = "first"

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__(kernel_size)
        set_ = object.__setattr__
        set_(self, "dilation", _int_tuple("dilation", self.dilation, 2, minimum=1))
        if self.ties not in TIE_RULES:
            raise _fail("ties", self.ties, "expected one of " + ", ".join(TIE_RULES))
        self._check_windows()

    @property
    def window(self) -> Window:
        return Window(self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)


@dataclass(frozen=True)
class MaxPool2d(ExtremePool2d):
    type: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True)
class MinPool2d(ExtremePool2d):
    type: ClassVar[str] = "minpool2d"


@dataclass(frozen=True)
class AvgPool2d(Pool2d):
    type: ClassVar[str] = "avgpool2d"
    options: ClassVar[tuple] = (
        INPUT,
        KERNEL,
        STRIDE,
        PADDING,
        REDUCTION,
        COUNT_INCLUDE_PAD,
        CEIL_MODE,
    )
    term_cost: ClassVar[int] = 8
    count_include_pad: bool = True

    def __post_init__(self, kernel_size: Any) -> None:
        super().__post_init__(kernel_size)
        if not isinstance(self.count_include_pad, bool):
            raise _fail("count_include_pad", self.count_include_pad, "expected True or False")
        self._check_windows()

    def divisor_factors(self) -> tuple[list[int], list[int]]:
        """What each window's sum is divided by: ``rows[i] * cols[j]`` for window ``(i, j)``.

        With ``count_include_pad`` (PyTorch's default), the cells of the window inside the
        padded input: ``kh * kw``, less what a ``ceil_mode`` window overhangs past the right
        padding (PyTorch's ``pool_size``); without, its real cells only.

        >>> AvgPool2d(input_shape=(3, 3), kernel=2, ceil_mode=True).divisor_factors()
        ([2, 1], [2, 1])
        >>> AvgPool2d(input_shape=(3, 3), kernel=2, padding=1).divisor_factors()
        ([2, 2], [2, 2])
        """
        factors = []
        for size, out, kernel, stride, padding in zip(
            self.input_shape[2:],
            self.output_shape[2:],
            self.kernel,
            self.stride,
            self.padding,
            strict=True,
        ):
            starts = [i * stride - padding for i in range(out)]
            if self.count_include_pad:
                factors.append([min(start + kernel, size + padding) - start for start in starts])
            else:
                factors.append([min(start + kernel, size) - max(start, 0) for start in starts])
        return factors[0], factors[1]


TABLE = {cls.type: cls for cls in (MaxPool2d, MinPool2d, AvgPool2d)}
