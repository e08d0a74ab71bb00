"""The math of the notes as SymPy trees: the pieces a derivation alone does not spell.

A derivation holds expressions in the contract's symbols (``x_0_0_1_2``, ``g_0_0_0_0``). Lecture
notes also write partial derivatives that are not evaluated (``∂O₁₁/∂W₁₁``), sums in a chosen
order, matrices with elided rows, operator applications (``corr(X, ∂L/∂O)``) and the output-size
formula. Each of those is a small :class:`sympy.Basic` subclass below, so every printer dispatches
on it with its own ``_print_<Class>`` method, exactly as on SymPy's classes.

None of these nodes evaluates anything: they only arrange expressions that come from the
derivation. :class:`At` marks such an expression with where it came from, so that a test can hold
every printed value against the derivation.

>>> from sympy import Symbol
>>> term = Product(Symbol("g_0_0_0_0"), Symbol("x_0_0_0_1"))
>>> to_sympy(Terms(term, Symbol("b_0")))
b_0 + g_0_0_0_0*x_0_0_0_1
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sympy import Add, Basic, Integer, Mul, Tuple, sympify
from sympy.core.symbol import Str


class Node(Basic):
    """A piece of notation; never evaluated, only printed."""


class Loss(Node):
    """The loss, printed as the reader's loss letter (L, E)."""


class Element(Node):
    """One entry ``T[index]`` of a tensor, printed with the reader's letter and subscript.

    ``tensor`` is a contract name (``X``, ``W``, ``B``, ``O``); ``index`` is the 0-based index
    over the full tensor, or a tuple of symbols for a generic entry (``O_k``).
    """

    def __new__(cls, tensor: str, index: Iterable) -> Element:
        return super().__new__(cls, Str(tensor), Tuple(*index))

    @property
    def tensor(self) -> str:
        return self.args[0].name

    @property
    def index(self) -> tuple:
        return tuple(self.args[1])


class Whole(Node):
    """A whole tensor (``X``), or one channel of one sample of it (``X^{(n,c)}``).

    ``part`` holds the 0-based leading indices (batch, channel) of the slice; empty for the
    whole tensor.
    """

    def __new__(cls, tensor: str, part: Iterable = ()) -> Whole:
        return super().__new__(cls, Str(tensor), Tuple(*part))

    @property
    def tensor(self) -> str:
        return self.args[0].name

    @property
    def part(self) -> tuple:
        return tuple(self.args[1])


class Partial(Node):
    """An unevaluated partial derivative ``∂numerator/∂denominator``."""

    def __new__(cls, numerator: Basic, denominator: Basic) -> Partial:
        return super().__new__(cls, numerator, denominator)


class Product(Node):
    """A product printed in the order given (notes write ∂L/∂O₁₁·X₁₁, not X₁₁·∂L/∂O₁₁)."""

    def __new__(cls, *factors: Basic) -> Product:
        return super().__new__(cls, *map(sympify, factors))


class Terms(Node):
    """A sum printed in the order given (by output position, the bias last)."""

    def __new__(cls, *terms: Basic) -> Terms:
        return super().__new__(cls, *map(sympify, terms))


class SumOver(Node):
    """``Σ_{var=low}^{high} body``, one ``(var, low, high)`` per summation sign."""

    def __new__(cls, body: Basic, *limits: tuple) -> SumOver:
        return super().__new__(cls, body, *(Tuple(*map(sympify, limit)) for limit in limits))

    @property
    def body(self) -> Basic:
        return self.args[0]

    @property
    def limits(self) -> tuple:
        return tuple(tuple(limit) for limit in self.args[1:])


class ExtremeOver(Node):
    """``max_{var=low..high, ...} body`` (or ``min``): a window's extreme over its taps."""

    def __new__(cls, body: Basic, kind: str, *limits: tuple) -> ExtremeOver:
        limits = (Tuple(*map(sympify, limit)) for limit in limits)
        return super().__new__(cls, body, Str(kind), *limits)

    @property
    def body(self) -> Basic:
        return self.args[0]

    @property
    def kind(self) -> str:
        """``max`` or ``min``."""
        return self.args[1].name

    @property
    def limits(self) -> tuple:
        return tuple(tuple(limit) for limit in self.args[2:])


class Dots(Node):
    """Elided matrix entries: ``h`` (⋯), ``v`` (⋮) or ``d`` (⋱)."""

    def __new__(cls, kind: str) -> Dots:
        if kind not in ("h", "v", "d"):
            raise ValueError(f"kind={kind!r} is not valid: expected h, v or d")
        return super().__new__(cls, Str(kind))

    @property
    def kind(self) -> str:
        return self.args[0].name


class Omitted(Node):
    """Terms of a long sum left out of the display: printed ``⋯ (570 more terms) ⋯``."""

    def __new__(cls, count: int, brief: bool = False) -> Omitted:
        return super().__new__(cls, Integer(count), Str("brief" if brief else "counted"))

    @property
    def count(self) -> int:
        return int(self.args[0])

    @property
    def brief(self) -> bool:
        """Printed as dots alone (inside a matrix), without the count."""
        return self.args[1].name == "brief"


class Grid(Node):
    """A matrix of entries (some of them :class:`Dots` where rows or columns are elided)."""

    def __new__(cls, rows: Iterable[Iterable[Basic]]) -> Grid:
        return super().__new__(cls, Tuple(*(Tuple(*row) for row in rows)))

    @property
    def rows(self) -> tuple[tuple[Basic, ...], ...]:
        return tuple(tuple(row) for row in self.args[0])


class Apply(Node):
    """An operator applied to arguments: ``corr(X, ∂L/∂O)``, ``rot180(W)``, ``dilate(A, 2)``."""

    def __new__(cls, name: str, *arguments: Basic) -> Apply:
        return super().__new__(cls, Str(name), *map(sympify, arguments))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def arguments(self) -> tuple[Basic, ...]:
        return self.args[1:]


class OutputSize(Node):
    """The output-size formula ``⌊(H + 2P − D(K−1) − 1)/S⌋ + 1`` with symbols or numbers.

    With dilation 1 it is printed as the notes write it, ``⌊(H − K + 2P)/S⌋ + 1``; with
    ``ceil`` it rounds up, ``⌈…⌉ + 1`` (a pool's ceil_mode).
    """

    def __new__(cls, size, kernel, padding, stride, dilation, ceil=False) -> OutputSize:
        values = (size, kernel, padding, stride, dilation, int(ceil))
        return super().__new__(cls, *map(sympify, values))

    @property
    def parts(self) -> tuple[Basic, ...]:
        """(size, kernel, padding, stride, dilation)."""
        return self.args[:5]

    @property
    def ceil(self) -> bool:
        return bool(self.args[5])


class Equals(Node):
    """``a = b = ...`` inline, inside prose."""

    def __new__(cls, *sides: Basic) -> Equals:
        return super().__new__(cls, *map(sympify, sides))


class Shape(Node):
    """A tensor shape, printed ``1 × 1 × 3 × 3``."""

    def __new__(cls, dims: Iterable[int]) -> Shape:
        return super().__new__(cls, *map(Integer, dims))

    @property
    def dims(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.args)


class Verdict(Node):
    """Whether an identity was verified for this layer: printed ✓ (or ✗)."""

    def __new__(cls, holds: bool) -> Verdict:
        return super().__new__(cls, Str("holds" if holds else "fails"))

    @property
    def holds(self) -> bool:
        return self.args[0].name == "holds"


class At(Node):
    """A value taken from the derivation, with where it came from: printed as the value.

    ``source`` names the array (``output``, ``grad:X``, ``tensor:W``, ``partial:X``, ...; see
    :func:`symcnn.printing.steps.lookup`) and ``index`` the entry in it.
    """

    def __new__(cls, value: Basic, source: str, index: Iterable[int]) -> At:
        return super().__new__(cls, sympify(value), Str(source), Tuple(*map(Integer, index)))

    @property
    def value(self) -> Basic:
        return self.args[0]

    @property
    def source(self) -> str:
        return self.args[1].name

    @property
    def index(self) -> tuple[int, ...]:
        return tuple(int(i) for i in self.args[2])


def to_sympy(node: Basic) -> Basic:
    """The plain SymPy value of an arrangement of terms and products (``At`` is transparent).

    Raises ``ValueError`` for notation that has no value (a partial derivative, a matrix).
    """
    if isinstance(node, At):
        return to_sympy(node.value)
    if isinstance(node, Terms):
        return Add(*map(to_sympy, node.args))
    if isinstance(node, Product):
        return Mul(*map(to_sympy, node.args))
    if isinstance(node, Node):
        raise ValueError(f"{type(node).__name__} is notation with no value of its own")
    return node


def walk(node: Basic) -> Iterator[Basic]:
    """Every node of a tree, the root first."""
    yield node
    for arg in node.args:
        yield from walk(arg)
