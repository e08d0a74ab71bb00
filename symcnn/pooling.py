"""The symbolic pooling machinery the pool rules (``symcnn/layers/pool/rule.py``) are built from.

A pooling window is the list of the *real* input cells it covers, in row-major window order:
padded cells are simply not in it, so they never win a max or a min and never count in a sum.

- Max (min) pooling: ``O = Max(window)`` (``Min``). Its local partial with respect to the window
  entry ``x_i`` is a ``Piecewise`` whose condition says exactly when ``x_i`` receives the upstream
  gradient under the layer's tie rule (:data:`TIE_RULES`). SymPy's own derivative of ``Max`` is
  not used: at a tie it gives ``Heaviside(0) = 1/2`` to every tied entry, so a three-way tie
  would pass on 3/2 of the upstream gradient.
- Average pooling: ``O = (sum of the window) / divisor``, the divisor ``kh*kw`` with
  ``count_include_pad`` (PyTorch's default; less what a ``ceil_mode`` window overhangs past the
  padding) or the number of real cells; it is a polynomial, so its
  partials come from :func:`symcnn.rules.polynomial_partials`.

This module names no layer type: the pool kind's rule module pairs each type with its extreme
(:data:`MAXIMUM`, :data:`MINIMUM`) or its average.

>>> from symcnn.layers.pool.spec import MaxPool2d
>>> from symcnn.tensors import Tensors
>>> spec = MaxPool2d(input_shape=(1, 1, 1, 2), kernel=(1, 2))
>>> from symcnn.layers.pool.rule import maxpool2d_entries
>>> entry = next(maxpool2d_entries(spec, Tensors.for_layer(spec)))
>>> entry.expr
Max(x_0_0_0_0, x_0_0_0_1)
>>> for symbol, partial in entry.partials:  # ties="first": the left one wins a tie
...     print(symbol, partial)
x_0_0_0_0 Piecewise((1, x_0_0_0_0 >= x_0_0_0_1), (0, True))
x_0_0_0_1 Piecewise((1, x_0_0_0_0 < x_0_0_0_1), (0, True))
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sympy import (
    And,
    Basic,
    Eq,
    Ge,
    Gt,
    Integer,
    Le,
    Lt,
    Max,
    Min,
    Ne,
    Or,
    Piecewise,
    S,
    Symbol,
)
from sympy.functions.elementary.piecewise import ExprCondPair

from .rules import Entry
from .spec import Layer
from .tensors import Tensors

# -- windows ------------------------------------------------------------------------------------


def real_window_cells(spec: Layer, i: int, j: int) -> list[tuple[int, int]]:
    """The real input cells ``(row, col)`` of output window ``(i, j)``, in row-major order.

    Padded cells are not in the list. (:func:`symcnn.codegen.pools.window_cells` is another
    thing: the links of every window of a derivation.)

    >>> from symcnn.layers.pool.spec import AvgPool2d
    >>> real_window_cells(AvgPool2d(input_shape=(3, 3), kernel=(2, 2), padding=(1, 1)), 0, 0)
    [(0, 0)]
    >>> from symcnn.layers.pool.spec import MaxPool2d
    >>> real_window_cells(MaxPool2d(input_shape=(3, 3), kernel=2, dilation=2), 0, 0)
    [(0, 0), (0, 2), (2, 0), (2, 2)]
    """
    _, _, height, width = spec.input_shape
    window = spec.window
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (
        window.kernel,
        window.stride,
        window.padding,
        window.dilation,
    )
    rows = [r for r in range(i * sh - ph, i * sh - ph + dh * (kh - 1) + 1, dh) if 0 <= r < height]
    cols = [c for c in range(j * sw - pw, j * sw - pw + dw * (kw - 1) + 1, dw) if 0 <= c < width]
    return [(r, c) for r in rows for c in cols]


#: The name the checker and the tests import (kept: it is the same function).
window_cells = real_window_cells


def windows(spec: Layer, tensors: Tensors) -> Iterator[tuple[tuple[int, ...], list[Symbol]]]:
    """Every output index with the symbols of its window's real cells, in row-major order."""
    for n, c, i, j in itertools.product(*(range(size) for size in spec.output_shape)):
        cells = real_window_cells(spec, i, j)
        yield (n, c, i, j), [tensors.X[n, c, row, col] for row, col in cells]


# -- max and min: the comparison is the only difference ---------------------------------------


@dataclass(frozen=True)
class Extreme:
    """What makes a window entry the extreme: ``beats`` strictly, ``holds`` weakly (>=, <=)."""

    function: Callable[..., Basic]
    beats: Callable[[Basic, Basic], Basic]
    holds: Callable[[Basic, Basic], Basic]


MAXIMUM = Extreme(Max, Gt, Ge)
MINIMUM = Extreme(Min, Lt, Le)


def _is_extreme(window: Sequence[Symbol], i: int, extreme: Extreme) -> Basic:
    """``x_i`` is an extreme of the window: it holds against every other entry."""
    return And(*(extreme.holds(window[i], other) for j, other in enumerate(window) if j != i))


def _first_partial(window: Sequence[Symbol], i: int, extreme: Extreme) -> Basic:
    """1 when ``x_i`` beats every earlier entry and holds against every later one (PyTorch)."""
    earlier = (extreme.beats(window[i], window[j]) for j in range(i))
    later = (extreme.holds(window[i], window[j]) for j in range(i + 1, len(window)))
    return Piecewise((Integer(1), And(*earlier, *later)), (Integer(0), True))


def _all_partial(window: Sequence[Symbol], i: int, extreme: Extreme) -> Basic:
    """1 when ``x_i`` is an extreme, tied or not (the equality mask of the notes)."""
    return Piecewise((Integer(1), _is_extreme(window, i, extreme)), (Integer(0), True))


def _split_partial(window: Sequence[Symbol], i: int, extreme: Extreme) -> Basic:
    """``1/t`` when ``x_i`` is an extreme, ``t`` the number of entries equal to it."""
    equal_others = [
        Piecewise((Integer(1), Eq(window[i], other)), (Integer(0), True))
        for j, other in enumerate(window)
        if j != i
    ]
    share = 1 / (Integer(1) + sum(equal_others, S.Zero))
    return Piecewise((share, _is_extreme(window, i, extreme)), (Integer(0), True))


#: Tie rule -> the local partial dO/dx_i of a window's extreme (the window in row-major order).
TIE_RULES: dict[str, Callable[[Sequence[Symbol], int, Extreme], Basic]] = {
    "first": _first_partial,
    "all": _all_partial,
    "split": _split_partial,
}


def extreme_entries(spec: Layer, tensors: Tensors, extreme: Extreme) -> Iterator[Entry]:
    """``O = extreme(real cells of the window)`` per output entry; partials by ``spec.ties``."""
    for index, window in windows(spec, tensors):
        # Max(...) of distinct plain symbols evaluates to itself; skip the pairwise search.
        expr = extreme.function(*window, evaluate=False)
        partials = tuple(
            (x, extreme_partial(spec.ties, extreme, window, i)) for i, x in enumerate(window)
        )
        yield Entry(index, expr, partials)


# -- building the partials fast -----------------------------------------------------------------
#
# SymPy's constructors canonicalize every relational, And and Piecewise they build (measured:
# 16 ms per partial of a 3x3 window, 70 s for one 22x22 map). The partial of entry i is the same
# for every window up to the names of its symbols, and every canonical choice SymPy makes for
# symbols without assumptions (the orientation of a relational, the order of And's and Add's
# arguments) depends only on how their names sort. So the partial is built once by SymPy per
# (rule, extreme, window size, i, order of the names) on placeholder symbols whose names sort in
# that same order, and each window renames the placeholders, rebuilding every node as it is.
# tests/test_pooling.py holds the result equal to SymPy's own evaluated construction.


def extreme_partial(ties: str, extreme: Extreme, window: Sequence[Symbol], i: int) -> Basic:
    """The local partial of the window's extreme with respect to ``window[i]``."""
    names = [x.name for x in window]
    ranks = tuple(sorted(names).index(name) for name in names)
    template, placeholders = _template(ties, extreme, ranks, i)
    return renamed(template, dict(zip(placeholders, window, strict=True)))


@functools.cache
def _template(
    ties: str, extreme: Extreme, ranks: tuple[int, ...], i: int
) -> tuple[Basic, tuple[Symbol, ...]]:
    """The partial built by SymPy on placeholders that sort like the window's symbols."""
    width = len(str(len(ranks)))
    placeholders = tuple(Symbol(f"t{rank:0{width}d}") for rank in ranks)
    return TIE_RULES[ties](placeholders, i, extreme), placeholders


def renamed(expr: Basic, names: dict[Symbol, Symbol]) -> Basic:
    """``expr`` with its symbols renamed, every node rebuilt as it is, without evaluating it.

    Parameters
    ----------
    expr : sympy.Basic
        An expression, canonical as SymPy built it.
    names : dict of sympy.Symbol to sympy.Symbol
        The renaming; symbols not in it stay.

    Returns
    -------
    sympy.Basic
        The same tree over the new names. It is the expression SymPy would build from scratch
        when the renaming keeps the order of the names (every canonical choice for plain symbols
        follows that order); otherwise it is still the same function of the renamed symbols.

    Examples
    --------
    >>> from sympy import Piecewise, symbols
    >>> a, b, x, y = symbols("a b x y")
    >>> renamed(Piecewise((1, a >= b), (0, True)), {a: x, b: y})
    Piecewise((1, x >= y), (0, True))
    """
    if not expr.args:
        return names.get(expr, expr)
    args = tuple(renamed(arg, names) for arg in expr.args)
    build = _REBUILD.get(type(expr))
    return build(type(expr), args) if build else expr.func(*args, evaluate=False)


def _as_is(cls: type, args: tuple[Basic, ...]) -> Basic:
    """A node with these arguments, exactly as its evaluating constructor would leave it."""
    return Basic.__new__(cls, *args)


def _lattice(cls: type, args: tuple[Basic, ...]) -> Basic:
    """And/Or as their constructor leaves them (it ignores ``evaluate=False``)."""
    obj = Basic.__new__(cls, *args)
    obj._argset = frozenset(args)
    return obj


#: How to rebuild the nodes of a partial as they are; any other node: ``func(*args,
#: evaluate=False)`` (Add and Pow, whose constructors also record commutativity).
_REBUILD: dict[type, Callable[[type, tuple[Basic, ...]], Basic]] = {
    And: _lattice,
    Or: _lattice,
    ExprCondPair: _as_is,
    Piecewise: _as_is,
    **{relation: _as_is for relation in (Eq, Ne, Gt, Ge, Lt, Le)},
}
