"""Layer specifications: frozen, validated descriptions of one concrete layer.

A spec fixes every shape and option of a layer (PyTorch's semantics, NCHW layout, weight
``(out_channels, in_channels/groups, kh, kw)``). Everything downstream (the symbolic core, the
runtime, the printers, the generator, the checker) reads a spec and never re-validates it.

Invalid input raises ``ValueError`` naming the parameter, the value and what would be valid.

>>> spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
>>> spec.output_shape
(1, 1, 2, 2)
>>> MaxPool2d(input_shape=(1, 1, 4, 4), kernel=(2, 2)).stride
(2, 2)
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

REDUCTIONS = ("sum", "mean")
TIE_RULES = ("first", "all", "split")


# -- parsing and checking single values ---------------------------------------------------------


def _fail(name: str, value: Any, valid: str) -> ValueError:
    return ValueError(f"{name}={value!r} is not valid: {valid}")


def _integer(value: Any) -> int | None:
    """``value`` as an ``int`` if it has an integer type (Python's, NumPy's, SymPy's), else None.

    ``True`` and ``False`` are ints to Python but never a size here; ``2.0`` is not accepted
    either: a shape is counted, not measured.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    number = _integer(value)
    if number is None or number < minimum:
        raise _fail(name, value, f"expected an integer >= {minimum}")
    return number


def _required_kernel(spec: Any) -> tuple[int, ...]:
    """The kernel is the one option without a default (the contract's ``--kernel`` is required)."""
    if spec.kernel is None:
        raise _fail("kernel", None, f"{spec.type} needs a kernel: expected an integer >= 1 or 2")
    return _int_tuple("kernel", spec.kernel, 2, minimum=1)


def _int_tuple(name: str, value: Any, length: int, *, minimum: int) -> tuple[int, ...]:
    """Accept an int (repeated) or a sequence of ``length`` ints, each >= minimum."""
    if _integer(value) is not None:
        if _integer(value) < minimum:
            raise _fail(name, value, f"expected an integer >= {minimum} or {length} of them")
        return (_integer(value),) * length
    if not isinstance(value, list | tuple) or len(value) != length:
        raise _fail(name, value, f"expected an integer >= {minimum} or {length} of them")
    checked = []
    for item in value:
        number = _integer(item)
        if number is None or number < minimum:
            raise _fail(name, value, f"expected integers >= {minimum}, got {item!r}")
        checked.append(number)
    return tuple(checked)


def parse_dims(name: str, text: str, lengths: tuple[int, ...]) -> tuple[int, ...]:
    """Parse ``'3x3'``-style text into a tuple of non-negative ints with one of ``lengths``.

    >>> parse_dims("kernel", "5", (1, 2))
    (5,)
    >>> parse_dims("input", "2x3x8x8", (2, 4))
    (2, 3, 8, 8)
    """
    parts = text.strip().lower().replace("×", "x").replace(",", "x").split("x")
    allowed = " or ".join("x".join(["N"] * n) for n in lengths)
    digits = [p.strip() for p in parts]
    if len(parts) not in lengths or not all(d.isascii() and d.isdigit() for d in digits):
        raise ValueError(f"{name}={text!r} is not valid: expected {allowed} with whole numbers")
    return tuple(int(d) for d in digits)


# -- the layers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """Fields and validation shared by every layer: the input shape and the loss reduction."""

    type: ClassVar[str]
    input_shape: tuple[int, int, int, int]
    reduction: str = field(default="sum", kw_only=True)

    def __post_init__(self) -> None:
        shape = self.input_shape
        if not isinstance(shape, list | tuple) or len(shape) not in (2, 4):
            raise _fail("input_shape", shape, "expected 4 integers (N, C, H, W) or 2 (H, W)")
        shape = _int_tuple("input_shape", shape, len(shape), minimum=1)
        if len(shape) == 2:
            shape = (1, 1, *shape)  # HxW means a single image with one channel
        object.__setattr__(self, "input_shape", shape)
        if self.reduction not in REDUCTIONS:
            raise _fail("reduction", self.reduction, "expected one of " + ", ".join(REDUCTIONS))

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The contract's ``layer`` object: every option with its resolved value."""
        out: dict[str, Any] = {"type": self.type}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """Output length along one axis: ``floor((H + 2P - D(K-1) - 1) / S) + 1``.

    >>> output_size(28, 5, 1, 0)
    24
    >>> output_size(4, 2, 2, 1)
    3
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _check_window(spec: Any, dilation: tuple[int, int]) -> None:
    """Refuse a (dilated) kernel that does not fit into the padded input."""
    _, _, height, width = spec.input_shape
    for axis, size in (("height", height), ("width", width)):
        i = 0 if axis == "height" else 1
        span = dilation[i] * (spec.kernel[i] - 1) + 1
        padded = size + 2 * spec.padding[i]
        if span > padded:
            raise ValueError(
                f"kernel={list(spec.kernel)} is not valid for input_shape={list(spec.input_shape)}"
                f" with padding={list(spec.padding)}: the {'dilated ' if dilation[i] > 1 else ''}"
                f"kernel spans {span} along the {axis}, more than the padded input's {padded}"
            )


@dataclass(frozen=True)
class Conv2d(Layer):
    """A 2-D convolution (cross-correlation, as in every CNN framework), PyTorch's semantics."""

    type: ClassVar[str] = "conv2d"
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


@dataclass(frozen=True)
class Pool2d(Layer):
    """Fields shared by the pools: a window, its stride (the window by default) and padding."""

    kernel: tuple[int, int] | None = None  # required: checked in __post_init__
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_ = object.__setattr__
        set_(self, "kernel", _required_kernel(self))
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

    ties: str = "first"

    def __post_init__(self) -> None:
        super().__post_init__()
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
    count_include_pad: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.count_include_pad, bool):
            raise _fail("count_include_pad", self.count_include_pad, "expected True or False")


def prod(values: Any) -> int:
    result = 1
    for v in values:
        result *= v
    return result


#: Every layer by its contract name; a new layer is one more entry.
LAYERS: dict[str, type[Layer]] = {
    cls.type: cls for cls in (Conv2d, MaxPool2d, MinPool2d, AvgPool2d)
}


def layer_from_dict(data: dict[str, Any]) -> Layer:
    """Build a spec from the contract's ``layer`` object (as written in the JSON output)."""
    data = dict(data)
    kind = data.pop("type", None)
    if kind not in LAYERS:
        raise _fail("type", kind, "expected one of " + ", ".join(sorted(LAYERS)))
    cls = LAYERS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"{kind} has no option {unknown[0]!r}: valid options are {', '.join(sorted(names))}"
        )
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = tuple(value)
    return cls(**data)
