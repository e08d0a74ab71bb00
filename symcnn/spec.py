"""Layer specifications: frozen, validated descriptions of one concrete layer.

A spec fixes every shape and option of a layer (PyTorch's semantics, NCHW layout, weight
``(out_channels, in_channels/groups, kh, kw)``). Everything downstream (the symbolic core, the
runtime, the printers, the generator, the checker) reads a spec and never re-validates it.

This module holds what every layer shares: the :class:`Layer` base (with the capabilities
that let subsystems look a layer up instead of asking its type), the value checks and the
output-size arithmetic. Each layer kind defines its own spec in ``symcnn/layers/<kind>/spec.py``.

Invalid input raises ``ValueError`` naming the parameter, the value and what would be valid.

>>> output_size(3, 2, 1, 0)
2
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


def _required_kernel(spec: Any, kernel_size: Any = None) -> tuple[int, ...]:
    """The kernel is the one option without a default (the contract's ``--kernel`` is required).

    ``kernel_size`` is PyTorch's name for it, accepted from Python; given both, they must agree.
    """
    if kernel_size is not None:
        if spec.kernel is not None and _int_tuple(
            "kernel", spec.kernel, 2, minimum=1
        ) != _int_tuple("kernel_size", kernel_size, 2, minimum=1):
            raise _fail(
                "kernel_size",
                kernel_size,
                f"it names the kernel, given differently as kernel={spec.kernel!r}: give one",
            )
        return _int_tuple("kernel_size", kernel_size, 2, minimum=1)
    if spec.kernel is None:
        raise _fail("kernel", None, f"{spec.type} needs a kernel: expected an integer >= 1 or 2")
    return _int_tuple("kernel", spec.kernel, 2, minimum=1)


def _int_tuple(name: str, value: Any, length: int, *, minimum: int) -> tuple[int, ...]:
    """Accept an int (repeated) or a sequence of ``length`` ints, each >= minimum."""
    single = _integer(value)
    if single is not None:
        if single < minimum:
            raise _fail(name, value, f"expected an integer >= {minimum} or {length} of them")
        return (single,) * length
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
        raise ValueError(
            f"{name}={shortened(text)} is not valid: expected {allowed} with whole numbers"
        )
    if any(len(d.lstrip("0")) > MAX_DIGITS for d in digits):
        raise ValueError(
            f"{name}={shortened(text)} is not valid: a size has more than {MAX_DIGITS} digits"
        )
    return tuple(int(d) for d in digits)


#: The most digits a size or count given as text may have: far past any layer that can be
#: derived, and short of Python's limit on converting long digit strings.
MAX_DIGITS = 12


def shortened(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to ``limit`` characters with its length said: messages never echo a
    100 kB argument whole.

    >>> shortened("3x" * 100)
    "'3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x3x'... (200 characters)"
    """
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


# -- the layers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A sliding window: its size, step, zero padding and tap spacing, each (height, width),
    and whether the output size rounds up (a pool's ``ceil_mode``)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int] = (1, 1)
    ceil_mode: bool = False


@dataclass(frozen=True)
class Layer:
    """Fields and validation shared by every layer: the input shape and the loss reduction.

    A spec says what it has, so no subsystem asks for its type: :meth:`parameters` (the tensors
    the loss is differentiated with respect to, and their shapes), :attr:`window` (or None),
    :meth:`describe`, :meth:`non_default_options`, and ``options``, its command-line rows.
    """

    type: ClassVar[str]
    #: The command-line rows of this layer (:mod:`symcnn.options`), in the order they print.
    options: ClassVar[tuple[Any, ...]] = ()
    #: The fields without a default.
    required: ClassVar[tuple[str, ...]] = ("input_shape",)
    #: Spatial layers read a 2-D input shape ``HxW`` as ``1x1xHxW``; others take it as given.
    spatial: ClassVar[bool] = True
    #: A loss: the last layer of a network, with a target and one output entry (L itself).
    is_loss: ClassVar[bool] = False
    input_shape: tuple[int, ...]
    reduction: str = field(default="sum", kw_only=True)

    def __post_init__(self) -> None:
        shape = self.input_shape
        ranks = (2, 3, 4) if self.spatial else (1, 2, 3, 4)
        if not isinstance(shape, list | tuple) or len(shape) not in ranks:
            wanted = (
                "expected 4 integers (N, C, H, W), 3 (C, H, W) or 2 (H, W)"
                if self.spatial
                else "expected 1 to 4 integers (the batch first)"
            )
            raise _fail("input_shape", shape, wanted)
        shape = _int_tuple("input_shape", shape, len(shape), minimum=1)
        if self.spatial and len(shape) < 4:
            # HxW is one image with one channel; CxHxW one image (PyTorch's unbatched input)
            shape = (1,) * (4 - len(shape)) + shape
        object.__setattr__(self, "input_shape", shape)
        if self.reduction not in REDUCTIONS:
            raise _fail("reduction", self.reduction, "expected one of " + ", ".join(REDUCTIONS))

    @property
    def batch(self) -> int:
        return self.input_shape[0]

    @property
    def output_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def window(self) -> Window | None:
        """The sliding window of a convolution or a pool; None for a layer without one."""
        return None

    @property
    def target_shape(self) -> tuple[int, ...] | None:
        """A loss's symbolic target (``T``, the symbols ``t_...``), or None for any other layer.

        The loss is not differentiated with respect to it: it is a leaf beside the input.
        """
        return None

    def parameters(self) -> dict[str, tuple[int, ...]]:
        """The tensors the loss is differentiated with respect to, by the contract's names
        (``X`` the input, then the layer's own), with their shapes."""
        return {"X": self.input_shape}

    @property
    def multiply_terms(self) -> int:
        """Terms in the forward pass: the size of the derivation."""
        return prod(self.output_shape)

    #: What one multiply term of this layer costs to derive and write out, in multiply terms of
    #: a convolution (a product of two symbols), rounded up from measurements on one machine
    #: (``benchmarks/bench_cost.py``): a ``Max``, a ``Piecewise`` or an ``exp`` costs more.
    term_cost: ClassVar[int] = 1

    @property
    def symbol_count(self) -> int:
        """The symbols the derivation creates: the input, the layer's own tensors, the upstream
        gradient G and a loss's target (a strided layer can read few of many)."""
        shapes = [*self.parameters().values(), self.output_shape]
        if self.target_shape is not None:
            shapes.append(self.target_shape)
        return sum(prod(shape) for shape in shapes)

    @property
    def work(self) -> int:
        """The derivation's cost, counted in convolution multiply terms, before any of it is
        done: every multiply term at its :attr:`term_cost`, and every symbol as one term.
        ``term_limit`` (``--max-terms``) bounds this figure."""
        return self.multiply_terms * self.term_cost + self.symbol_count

    def work_words(self) -> str:
        """How :attr:`work` was counted, for the message that refuses it."""
        each = f" at {self.term_cost} each" if self.term_cost > 1 else ""
        return f"{self.multiply_terms:,} multiply terms{each}, {self.symbol_count:,} symbols"

    def describe(self) -> str:
        """One line for people: the type, the input and every option that is not its default."""
        parts = [f"{self.type} on a {'x'.join(map(str, self.input_shape))} input"]
        for name, value in self.non_default_options().items():
            shown = "x".join(map(str, value)) if isinstance(value, list) else value
            parts.append(f"{name.replace('_', ' ')} {shown}")
        return ", ".join(parts)

    def defaults(self) -> dict[str, Any]:
        """Each option's default as the contract writes it (a list for a tuple)."""
        plain = {}
        for option in dataclasses.fields(self):
            default = option.default
            plain[option.name] = list(default) if isinstance(default, tuple) else default
        return plain

    def non_default_options(self) -> dict[str, Any]:
        """The options that differ from their defaults, the input shape and kernel aside."""
        plain = self.defaults()
        return {
            key: value
            for key, value in self.to_dict().items()
            if key not in ("type", "input_shape", "kernel") and plain.get(key) != value
        }

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


def prod(values: Any) -> int:
    result = 1
    for v in values:
        result *= v
    return result
