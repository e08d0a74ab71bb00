"""The pools' code generation, part one: their structure read from the derivation (window taps,
divisors and routing), rebuilt from it, and turned back into SymPy. The kernels that print it are
in :mod:`symcnn.layers.pool.codegen`.

A pool has no weight to say which window position a term belongs to, so a cell's position
``(p, q)`` in output window ``(i, j)`` is counted from the window's origin ``(i*sh - ph,
j*sw - pw)`` in steps of the dilation (the spec's stride, padding and dilation). That is a
labelling only: the links themselves are read from the derivation, and the proof rebuilds every
derived entry from the taps and compares.

- **Average pooling** is a polynomial, read into terms like a convolution: every forward term is
  ``x / d``. :func:`recover_average` reads the divisor ``d`` of each window from the coefficients
  (:class:`Divisors`: one constant per rectangle of windows, the whole output when the padding
  counts) and :func:`average_maps` rebuilds every term from the taps and the divisors.
- **Max and min pooling**: a forward entry is ``Max``/``Min`` of its window's real cells
  (:class:`Window`); a gradient term is ``c * g * Piecewise((share, relations), (0, True))``, read
  into a :class:`Partial`: the relation of its cell to every other cell of the window (``>`` or
  ``>=`` for a max, ``<`` or ``<=`` for a min) and its share (1, or 1 over the number of cells
  equal to it). :func:`recover_routing` names the tie rule those relations encode
  (:data:`TIE_PATTERNS`) and the order in which it ranks the window positions (a cell beats the
  cells ranked before it strictly and holds against the later ones); :func:`extreme_maps`
  rebuilds every window and partial from the taps and that :class:`Routing`.

The reading is complete: anything outside these forms is refused with :class:`StructureError`,
so equal readings mean equal expressions, term for term.

>>> from symcnn.derive import derive
>>> from symcnn.layers.pool.spec import MaxPool2d
>>> spec = MaxPool2d(input_shape=(1, 1, 2, 2), kernel=(2, 2))
>>> maps = read_extreme(derive(spec))
>>> maps.grads["X"][0, 0, 0, 1]  # doctest: +NORMALIZE_WHITESPACE
[Partial(cell=(0, 0, 0, 1), upstream=(0, 0, 0, 0), coefficient=Fraction(1, 1),
         relations=(((0, 0, 0, 0), '>'), ((0, 0, 1, 0), '>='), ((0, 0, 1, 1), '>=')),
         ties_with=None)]
>>> taps, routing = recover_routing(spec, maps)
>>> routing
Routing(extreme='max', ties='first', order=((0, 0), (0, 1), (1, 0), (1, 1)))
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import NamedTuple

import numpy as np
from sympy import (
    Add,
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
    Mul,
    Piecewise,
    Rational,
    S,
    Symbol,
)

from ...codegen.terms import (
    ONE,
    Index,
    IndexMaps,
    Link,
    StructureError,
    Tap,
    Term,
    empty_maps,
    sort_entries,
    taps_from_links,
    tensor_entry,
)
from ...derive import Derivation
from ...tensors import Tensors
from .spec import AvgPool2d, ExtremePool2d, Pool2d

# -- windows and their taps ------------------------------------------------------------------------


def window_position(spec: Pool2d, output: tuple[int, int], cell: tuple[int, int]) -> tuple:
    """The position ``(p, q)`` of input ``cell`` in output window ``output`` (its tap: the
    offset from the window's origin over the dilation); refused off the window's taps."""
    window = spec.window
    position = []
    for index, cell_index, stride, padding, dilation in zip(
        output, cell, window.stride, window.padding, window.dilation, strict=True
    ):
        offset = cell_index - (index * stride - padding)
        if offset % dilation:
            raise StructureError(
                f"window {tuple(output)} links cell {tuple(cell)}, between its taps"
                f" (dilation {dilation})"
            )
        position.append(offset // dilation)
    return tuple(position)


def pool_taps(spec: Pool2d, links: Iterable[Link]) -> tuple[Tap, ...]:
    """The links of one channel map grouped by window position into taps (or refused)."""
    grouped: dict[tuple[int, int], set[Link]] = {}
    for output, cell in links:
        grouped.setdefault(window_position(spec, output, cell), set()).add((output, cell))
    return taps_from_links(grouped, "window position")


def cells_by_window(taps: tuple[Tap, ...]) -> dict[tuple[int, int], list[tuple[tuple, tuple]]]:
    """Output window -> the (window position, input cell) pairs the taps link to it, in row-major
    position order: the real cells of each window (padding has no link)."""
    windows: dict[tuple[int, int], list[tuple[tuple, tuple]]] = {}
    for tap in taps:
        for output, cell in tap.links():
            windows.setdefault(output, []).append(((tap.p, tap.q), cell))
    return dict(sorted(windows.items()))


def _upstream_scale(spec: Pool2d) -> Fraction:
    return Fraction(1, spec.batch) if spec.reduction == "mean" else ONE


# -- average pooling: a polynomial with one divisor per window -------------------------------------


@dataclass(frozen=True)
class Divisors:
    """What each output window's sum is divided by: ``table[i][j]`` for window ``(i, j)``."""

    table: tuple[tuple[int, ...], ...]

    def blocks(self) -> list[tuple[slice, slice, int]]:
        """The table as rectangles of one divisor each (see :func:`constant_blocks`)."""
        return constant_blocks(np.array(self.table, dtype=np.int64))

    def describe(self) -> list[str]:
        """Docstring lines: the divisor of every rectangle of windows."""
        blocks = self.blocks()
        if len(blocks) == 1:
            return [f"Divisor: every window's sum is divided by {blocks[0][2]}."]
        lines = ["Divisors: the windows' sums are divided by one constant per rectangle:", ""]
        for rows, cols, value in blocks:
            lines.append(f"    O[..., {rows.start}:{rows.stop}, {cols.start}:{cols.stop}]: {value}")
        return lines


def constant_blocks(array: np.ndarray) -> list[tuple[slice, slice, int]]:
    """A 2-D array cut into rectangles on which it is constant, in row-major order.

    The cuts fall where a whole row differs from the next one, or a whole column from the next:
    inside a block every row equals the block's first row and every column its first column, so
    every entry equals the block's corner.

    >>> constant_blocks(np.array([[4, 6, 6], [6, 9, 9], [6, 9, 9]]))
    ... # doctest: +NORMALIZE_WHITESPACE
    [(slice(0, 1, 1), slice(0, 1, 1), 4), (slice(0, 1, 1), slice(1, 3, 1), 6),
     (slice(1, 3, 1), slice(0, 1, 1), 6), (slice(1, 3, 1), slice(1, 3, 1), 9)]
    """
    height, width = array.shape
    row_cuts = [0, *(i for i in range(1, height) if (array[i] != array[i - 1]).any()), height]
    col_cuts = [0, *(j for j in range(1, width) if (array[:, j] != array[:, j - 1]).any()), width]
    blocks = []
    for top, bottom in itertools.pairwise(row_cuts):
        for left, right in itertools.pairwise(col_cuts):
            blocks.append((slice(top, bottom, 1), slice(left, right, 1), array[top, left].item()))
    return blocks


def recover_average(spec: AvgPool2d, maps: IndexMaps) -> tuple[tuple[Tap, ...], Divisors]:
    """The taps of sample 0, channel 0, and the divisor of each window, from the forward terms.

    Every term of window ``(i, j)`` must be ``x / d`` with the same ``d``; terms of other
    samples or channels are left to the proof, which rebuilds them from these.
    """
    _, _, out_height, out_width = spec.output_shape
    table = np.zeros((out_height, out_width), dtype=np.int64)
    links = []
    for (n, c, i, j), terms in maps.forward.items():
        if n or c:
            continue
        for term in terms:
            (name, (tn, tc, h, w)), *more = term.factors
            if more or name != "X" or tn or tc:
                continue  # not a cell of this map: the proof will refuse it
            if term.coefficient.numerator != 1:
                raise StructureError(
                    f"O[0,0,{i},{j}]: the coefficient {term.coefficient} is not 1/d"
                )
            divisor = term.coefficient.denominator
            if table[i, j] not in (0, divisor):
                raise StructureError(
                    f"O[0,0,{i},{j}] divides its cells by {table[i, j]} and by {divisor}"
                )
            table[i, j] = divisor
            links.append(((i, j), (h, w)))
    if not table.all():
        raise StructureError("an average window has no cell of its own channel")
    taps = pool_taps(spec, links)
    return taps, Divisors(tuple(tuple(int(d) for d in row) for row in table))


def average_maps(spec: AvgPool2d, taps: tuple[Tap, ...], divisors: Divisors) -> IndexMaps:
    """The terms of ``spec`` built from the taps and divisors alone.

    ``O[n,c,i,j] = sum over the links (i, j) -> (h, w) of X[n,c,h,w] / d[i][j]``; dL/dX is the
    same sum read from the other side, times dL/dO's scale (1, or 1/N for ``mean``).
    """
    batch, channels, _, _ = spec.input_shape
    scale = _upstream_scale(spec)
    maps = empty_maps(spec, {"X": spec.input_shape})
    for tap in taps:
        links = list(tap.links())
        for n, c in itertools.product(range(batch), range(channels)):
            for (i, j), (h, w) in links:
                share = Fraction(1, divisors.table[i][j])
                maps.forward[n, c, i, j].append(Term(share, (("X", (n, c, h, w)),)))
                maps.grads["X"][n, c, h, w].append(Term(scale * share, (("G", (n, c, i, j)),)))
    return sort_entries(maps)


# -- max and min pooling: the routing of each window's gradient ------------------------------------

#: SymPy's extremes by the name the generator gives them.
EXTREME_FUNCTIONS = {"max": Max, "min": Min}
#: A relational node -> its operator read from its left side.
RELATIONS = {Gt: ">", Ge: ">=", Lt: "<", Le: "<="}
#: The same relation read from its right side.
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
#: (extreme, strict) -> how a cell relates to another it must beat (strict) or hold against.
OPERATORS = {("max", True): ">", ("max", False): ">=", ("min", True): "<", ("min", False): "<="}
#: (the share is split among ties, some relation is strict) -> the tie rule those partials encode:
#: strict relations rank the window (the first extreme wins), weak ones let every tied cell win.
TIE_PATTERNS = {(False, True): "first", (False, False): "all", (True, False): "split"}


class Window(NamedTuple):
    """A forward entry of an extreme pool: ``Max``/``Min`` of its cells (one cell: the cell)."""

    extreme: str | None  # "max", "min", or None for a window of one cell
    cells: tuple[Index, ...]  # the input cells, sorted


class Partial(NamedTuple):
    """One term of dL/dX[cell]: ``coefficient * G[upstream] * share`` when the relations hold.

    ``relations`` pairs every other cell of the window with the operator ``x_cell op x_other``
    that must hold; ``ties_with`` is None for a share of 1, or the cells whose equality to this
    one divides it: ``1 / (1 + how many of them equal x_cell)``.
    """

    cell: Index
    upstream: Index
    coefficient: Fraction
    relations: tuple[tuple[Index, str], ...]
    ties_with: tuple[Index, ...] | None


@dataclass(frozen=True)
class Routing:
    """How an extreme pool routes each window's gradient, as its derivation says.

    Attributes
    ----------
    extreme : {"max", "min"} or None
        What each window keeps (None: every window is one cell).
    ties : {"first", "all", "split"}
        Who receives at a tie: the first extreme in ``order``, every extreme, or every extreme
        an equal share.
    order : tuple of (int, int)
        The window positions in the order the tie rule ranks them (row-major for ``first`` as
        derived today; every rule records it).
    """

    extreme: str | None
    ties: str
    order: tuple[tuple[int, int], ...]

    def describe(self) -> list[str]:
        """Docstring lines: what the derivation's partials say about the routing."""
        if self.extreme is None:
            return ["Routing: every window holds one real cell, which takes the whole of dL/dO."]
        keeps = {"max": "maximum", "min": "minimum"}[self.extreme]
        lines = [f"Routing: each window keeps its {keeps}; dL/dO goes to"]
        if self.ties == "first":
            ranks = ", ".join(f"({p}, {q})" for p, q in self.order)
            lines.append(f"its first extreme cell in the window order {ranks}")
            lines.append("(each cell beats the earlier cells strictly, holds against the later).")
        elif self.ties == "all":
            lines.append("every extreme cell, each the whole of it (ties: all).")
        else:
            lines.append("every extreme cell, shared equally among them (ties: split).")
        return lines


def read_extreme(derivation: Derivation) -> IndexMaps:
    """Every entry of an extreme pool's derivation read into windows and partials (or refused)."""
    names: dict[Symbol, tuple[str, Index]] = {}
    forward = {
        index: _read_window(expr, names) for index, expr in np.ndenumerate(derivation.output)
    }
    grads = {}
    for name, grad in derivation.grads.items():
        entries = {}
        for index, expr in np.ndenumerate(grad):
            terms = (term for term in Add.make_args(expr) if term != 0)
            entries[index] = sorted(_read_partial(term, index, names) for term in terms)
        grads[name] = entries
    return IndexMaps(forward, grads)


def _cell(expr: Basic, names: dict, within: Basic) -> Index:
    """The index of an input cell ``expr`` (a part of ``within``, named if it is not a cell)."""
    entry = tensor_entry(expr, names)
    if entry is None or entry[0] != "X":
        raise StructureError(f"{within}: {expr} is not an input cell")
    return entry[1]


def _read_window(expr: Basic, names: dict) -> Window:
    kind = {Max: "max", Min: "min"}.get(type(expr))
    arguments = expr.args if kind else (expr,)
    cells = tuple(sorted(_cell(arg, names, expr) for arg in arguments))
    return Window(kind if len(cells) > 1 else None, cells)


def _read_partial(term: Basic, cell: Index, names: dict) -> Partial:
    """``c * g * Piecewise((share, relations), (0, True))`` (or ``c * g``) read into a Partial."""
    coefficient, upstream, indicator = ONE, None, None
    for factor in Mul.make_args(term):
        if factor.is_Rational and coefficient == ONE:
            coefficient = Fraction(int(factor.p), int(factor.q))
        elif type(factor) is Piecewise and indicator is None:
            indicator = factor
        elif upstream is None and (entry := tensor_entry(factor, names)) and entry[0] == "G":
            upstream = entry[1]
        else:
            raise StructureError(f"the gradient term {term} is not c * g * Piecewise(...)")
    if upstream is None:
        raise StructureError(f"the gradient term {term} has no upstream gradient g")
    if indicator is None:
        return Partial(cell, upstream, coefficient, (), None)
    if len(indicator.args) != 2 or tuple(indicator.args[1]) != (S.Zero, S.true):
        raise StructureError(f"{indicator} is not Piecewise((share, condition), (0, True))")
    share, condition = indicator.args[0]
    relations = _read_condition(condition, cell, names)
    return Partial(cell, upstream, coefficient, relations, _read_share(share, cell, names))


def _other_side(relation: Basic, cell: Index, names: dict) -> tuple[Index, bool]:
    """The other cell of a relation of ``cell``, and whether ``cell`` is on the left."""
    left, right = (_cell(side, names, relation) for side in relation.args)
    if left == cell and right != cell:
        return right, True
    if right == cell and left != cell:
        return left, False
    raise StructureError(f"the relation {relation} does not compare x{list(cell)} with another")


def _read_condition(condition: Basic, cell: Index, names: dict) -> tuple[tuple[Index, str], ...]:
    relations = []
    for relation in And.make_args(condition):
        operator = RELATIONS.get(type(relation))
        if operator is None:
            raise StructureError(f"the condition {condition} is not a conjunction of <, <=, >, >=")
        other, on_left = _other_side(relation, cell, names)
        relations.append((other, operator if on_left else FLIPPED[operator]))
    if len({other for other, _ in relations}) != len(relations):
        raise StructureError(f"the condition {condition} compares with one cell twice")
    return tuple(sorted(relations))


def _read_share(share: Basic, cell: Index, names: dict) -> tuple[Index, ...] | None:
    """1 -> None; ``1 / (1 + sum of Piecewise((1, Eq(x_cell, x_j)), (0, True)))`` -> the j."""
    if share == 1:
        return None
    base, exponent = share.as_base_exp()
    parts = Add.make_args(base)
    if exponent != -1 or S.One not in parts:
        raise StructureError(f"the share {share} is neither 1 nor 1/(1 + count of equal cells)")
    others = []
    for part in parts:
        if part == 1:
            continue
        pieces = part.args if type(part) is Piecewise else ()
        if len(pieces) != 2 or pieces[0].expr != 1 or type(pieces[0].cond) is not Eq:
            raise StructureError(f"the share {share} counts something other than equal cells")
        if tuple(pieces[1]) != (S.Zero, S.true):
            raise StructureError(f"the share {share} counts something other than equal cells")
        others.append(_other_side(pieces[0].cond, cell, names)[0])
    if len(parts) != len(others) + 1 or len(set(others)) != len(others):
        raise StructureError(f"the share {share} is not 1 + one count per other cell")
    return tuple(sorted(others))


def recover_routing(spec: ExtremePool2d, maps: IndexMaps) -> tuple[tuple[Tap, ...], Routing]:
    """The taps of sample 0, channel 0 and the routing their partials encode.

    The extreme is the forward entries' ``Max``/``Min``; the tie rule is the pattern of the
    partials (:data:`TIE_PATTERNS`); the order ranks a window position before every position
    whose cells must beat it strictly (ties broken row-major; a cycle is refused).
    """
    extremes = {window.extreme for window in maps.forward.values()} - {None}
    if len(extremes) > 1:
        raise StructureError(f"the windows keep different extremes: {sorted(extremes)}")
    links = [
        ((i, j), (h, w))
        for (n, c, i, j), window in maps.forward.items()
        if not n and not c
        for (cn, cc, h, w) in window.cells
        if not cn and not cc
    ]
    taps = pool_taps(spec, links)
    split, before = False, set()
    for (n, c, h, w), partials in maps.grads["X"].items():
        if n or c:
            continue
        for partial in partials:
            split |= partial.ties_with is not None
            output = partial.upstream[2:]
            position = window_position(spec, output, (h, w))
            for other, operator in partial.relations:
                if operator in (">", "<"):  # strict: the other cell is ranked first
                    before.add((window_position(spec, output, other[2:]), position))
    strict = bool(before)
    if (split, strict) not in TIE_PATTERNS:
        raise StructureError("the partials split the share among ties and rank the cells too")
    order = _ranked([(tap.p, tap.q) for tap in taps], before)
    return taps, Routing(next(iter(extremes), None), TIE_PATTERNS[split, strict], order)


def _ranked(positions: list[tuple[int, int]], before: set) -> tuple[tuple[int, int], ...]:
    """The positions ordered so that each comes after those ranked before it (row-major ties)."""
    waiting = {position: {a for a, b in before if b == position} for position in positions}
    ready = [position for position, earlier in waiting.items() if not earlier]
    heapq.heapify(ready)
    order = []
    while ready:
        position = heapq.heappop(ready)
        order.append(position)
        for later, earlier in waiting.items():
            if position in earlier:
                earlier.discard(position)
                if not earlier:
                    heapq.heappush(ready, later)
    if len(order) != len(positions):
        raise StructureError("the partials rank the window positions in a cycle")
    return tuple(order)


def extreme_maps(spec: ExtremePool2d, taps: tuple[Tap, ...], routing: Routing) -> IndexMaps:
    """The windows and partials of ``spec`` built from the taps and the routing alone."""
    batch, channels, _, _ = spec.input_shape
    scale = _upstream_scale(spec)
    rank = {position: r for r, position in enumerate(routing.order)}
    maps = empty_maps(spec, {"X": spec.input_shape})
    for (i, j), cells in cells_by_window(taps).items():
        for n, c in itertools.product(range(batch), range(channels)):
            indices = [(position, (n, c, *cell)) for position, cell in cells]
            extreme = routing.extreme if len(indices) > 1 else None
            maps.forward[n, c, i, j] = Window(extreme, tuple(sorted(x for _, x in indices)))
            for position, cell in indices:
                others = [(p, x) for p, x in indices if x != cell]
                relations = tuple(
                    sorted(
                        (
                            x,
                            OPERATORS[
                                routing.extreme,
                                routing.ties == "first" and rank[p] < rank[position],
                            ],
                        )
                        for p, x in others
                    )
                )
                ties_with = None
                if routing.ties == "split" and others:
                    ties_with = tuple(sorted(x for _, x in others))
                partial = Partial(cell, (n, c, i, j), scale, relations, ties_with)
                maps.grads["X"][cell].append(partial)
    return sort_entries(maps)


# -- back to SymPy: what an unrolled kernel prints -------------------------------------------------

#: An operator -> the relational node that prints it.
RELATIONAL_NODES = {">": Gt, ">=": Ge, "<": Lt, "<=": Le}


def extreme_expression(reading: Window | list[Partial], tensors: Tensors) -> Basic:
    """A window as ``Max``/``Min`` of its cells, or a gradient entry as its sum of partials."""
    if isinstance(reading, Window):
        cells = [tensors.X[cell] for cell in reading.cells]
        if reading.extreme is None:
            return cells[0]
        # Max(...) of distinct plain symbols is itself: skip SymPy's pairwise search
        return EXTREME_FUNCTIONS[reading.extreme](*cells, evaluate=False)
    return Add(*(partial_expression(partial, tensors) for partial in reading))


def partial_expression(partial: Partial, tensors: Tensors) -> Basic:
    """``Piecewise((c * g * share, relations), (0, True))``, or ``c * g`` for a lone cell."""
    coefficient = Rational(partial.coefficient.numerator, partial.coefficient.denominator)
    value = coefficient * tensors.G[partial.upstream]
    if not partial.relations:
        return value
    cell = tensors.X[partial.cell]
    if partial.ties_with is not None:
        equal = [
            Piecewise((Integer(1), Eq(cell, tensors.X[other], evaluate=False)), (Integer(0), True))
            for other in partial.ties_with
        ]
        value = value / Add(Integer(1), *equal, evaluate=False)
    condition = And(
        *(
            RELATIONAL_NODES[operator](cell, tensors.X[other], evaluate=False)
            for other, operator in partial.relations
        )
    )
    return Piecewise((value, condition), (Integer(0), True), evaluate=False)
