"""What every step builder reads: the notes' options, the derivation indexed once, display order.

:class:`Context` holds a derivation with the indexes the builders need; :func:`display`
arranges an expression for reading without changing its value; :func:`lookup` finds the value
an :class:`~symcnn.printing.nodes.At` node names, so that a test can hold it against the
derivation. The step builders (:mod:`.steps`, :mod:`.identity_steps` and each layer kind's
``notes`` module) import from here, and nothing here imports a builder.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from sympy import Basic, Integer, S, Symbol

from .. import identities as core_identities
from ..derive import Derivation
from ..tensors import parse_symbol
from .model import Elision
from .nodes import At, Dots, Grid, Omitted, Product, Shape, Terms
from .selection import axis_positions, grid_positions


@dataclass(frozen=True)
class Options:
    """How much a large layer shows.

    ``max_entries`` caps each listing of equations, ``matrix_side`` the rows and columns of
    each matrix, ``max_terms`` the terms of a displayed sum and ``max_cell_terms`` those of a
    sum inside a matrix (a longer sum shows its first four and last two terms); ``None`` shows
    everything.
    """

    max_entries: int | None = 32
    matrix_side: int | None = 6
    max_terms: int | None = 32
    max_cell_terms: int | None = 4

    def __post_init__(self) -> None:
        for name in ("max_entries", "matrix_side", "max_terms", "max_cell_terms"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r} is not valid: expected an integer >= 1 or None")

    @classmethod
    def everything(cls) -> Options:
        """Show every entry and every row, however many."""
        return cls(None, None, None, None)

    @property
    def slices(self) -> int | None:
        """How many channel/sample slices a matrix display shows."""
        return None if self.max_entries is None else max(1, self.max_entries // 8)

    @classmethod
    def default_for(cls, spec, output_format: str | None) -> Options:
        """What notes show unless told: everything of a small layer on paper, else the cut.

        A printed page (LaTeX, PDF) of a layer whose tensors have at most
        :data:`PRINTED_IN_FULL` entries each lists every entry, row and term: abridged, a 4x4
        stride-2 padding-1 layer left out O22, its one window wholly inside the input. A screen
        (text, Markdown) keeps the shorter default.
        """
        if output_format not in ("latex", "pdf"):
            return cls()
        shapes = [*spec.parameters().values(), spec.output_shape]
        small = all(int(np.prod(shape)) <= PRINTED_IN_FULL for shape in shapes)
        return cls.everything() if small else cls()


#: Entries of the largest tensor of a layer printed in full on paper (a 6x6 single-channel
#: input); see :meth:`Options.default_for`.
PRINTED_IN_FULL = 36


# -- reading the derivation ---------------------------------------------------------------------


def lookup(
    derivation: Derivation,
    source: str,
    index: tuple[int, ...],
    example: dict[Symbol, Basic] | None = None,
) -> Basic:
    """The derivation's value that an :class:`At` node names.

    ``output`` (forward entries), ``grad:T`` (gradients), ``tensor:T`` (the symbols of X, W, B
    and G) or ``partial:T`` (the local gradient ``dO[index[:4]]/dT[index[4:]]``, 0 when the
    output does not depend on that entry); ``example-output`` and ``example-grad:T`` are the
    same evaluated at the worked example's input values ``example``.
    """
    kind, _, tensor = source.partition(":")
    if kind.startswith("example-"):
        if example is None:
            raise ValueError(f"source={source!r} needs the example's input values")
        plain = kind.removeprefix("example-") + (f":{tensor}" if tensor else "")
        return lookup(derivation, plain, index).xreplace(example)
    if kind == "output":
        return derivation.output[index]
    if kind == "grad":
        return derivation.grads[tensor][index]
    if kind == "tensor":
        return getattr(derivation.tensors, tensor)[index]
    if kind == "partial":
        output_rank = len(derivation.spec.output_shape)
        entry = entries_by_index(derivation)[index[:output_rank]]
        symbol = getattr(derivation.tensors, tensor)[index[output_rank:]]
        return dict(entry.partials).get(symbol, S.Zero)
    raise ValueError(f"source={source!r} is not valid: expected output, grad:, tensor: or partial:")


def entries_by_index(derivation: Derivation) -> dict:
    """The derivation's entries by output index."""
    return {entry.index: entry for entry in derivation.entries}


#: The order factors are written in: dL/dO first, then the input, the kernel, the bias.
_RANK = {"G": 0, "X": 1, "W": 2, "B": 3, "T": 4}


@lru_cache(maxsize=1 << 16)
def factor_key(factor: Basic) -> tuple:
    """Where a factor goes in a displayed product: dL/dO, then X, W, B, each by index."""
    parsed = parse_symbol(factor) if isinstance(factor, Symbol) else None
    if parsed is None:
        return (9, (str(factor),))
    tensor, index = parsed
    return (_RANK[tensor], index)


def _term_key(term: Basic) -> tuple:
    factors = term.args if isinstance(term, Product) else (term,)
    return tuple(factor_key(f) for f in factors if not f.is_Number)


def display(expr: Basic) -> Basic:
    """``expr`` arranged for reading; the same value (``to_sympy(display(e)) == e``).

    Terms are ordered by the output position (dL/dO), then the input entry, the bias last;
    factors as ``∂L/∂O · X · W``; a coefficient shared by every term is taken out.

    >>> from sympy import symbols
    >>> b, w, x = symbols("b_0 w_0_0_0_0 x_0_0_0_0")
    >>> display(b + w * x)
    Terms(Product(x_0_0_0_0, w_0_0_0_0), b_0)
    """
    if not expr.is_Add:
        return _display_term(expr)
    terms = sorted((_display_term(t) for t in expr.args), key=_term_key)
    coefficients = {t.args[0] for t in terms if isinstance(t, Product) and t.args[0].is_Rational}
    shared = len(coefficients) == 1 and all(
        isinstance(t, Product) and t.args[0].is_Rational for t in terms
    )
    if shared:
        (coefficient,) = coefficients
        rest = [t.args[1] if len(t.args) == 2 else Product(*t.args[1:]) for t in terms]
        return Product(coefficient, Terms(*rest))
    return Terms(*terms)


def abridge(node: Basic, cap: int | None, *, brief: bool = False) -> Basic:
    """A displayed sum of more than ``cap`` terms cut to its first four and last two.

    ``brief`` (inside a matrix) keeps only the first and the last term.

    >>> from sympy import symbols
    >>> abridge(Terms(*symbols("a:9")), 6)
    Terms(a0, a1, a2, a3, Omitted(3, counted), a7, a8)
    """
    if isinstance(node, At):
        return At(abridge(node.value, cap, brief=brief), node.source, node.index)
    if isinstance(node, Product) and len(node.args) == 2 and isinstance(node.args[1], Terms):
        return Product(node.args[0], abridge(node.args[1], cap, brief=brief))
    if cap is None or not isinstance(node, Terms):
        return node
    if len(node.args) <= (max(cap, 3) if brief else max(cap, 6)):
        return node
    terms = node.args
    if brief:
        return Terms(terms[0], Omitted(len(terms) - 2, brief=True), terms[-1])
    return Terms(*terms[:4], Omitted(len(terms) - 6), *terms[-2:])


def _display_term(term: Basic) -> Basic:
    if not term.is_Mul:
        return term
    coefficient, factors = term.as_coeff_mul()
    ordered = sorted(factors, key=factor_key)
    if coefficient == 1:
        return ordered[0] if len(ordered) == 1 else Product(*ordered)
    return Product(coefficient, *ordered)


# -- the context every step reads ---------------------------------------------------------------


@dataclass
class Context:
    """A derivation with the indexes the step builders need, built once."""

    derivation: Derivation
    identities: list[core_identities.Identity]
    options: Options
    example: dict[Symbol, Basic] | None = None
    zero_based: bool = False  # the count of the general formulas (index arithmetic)

    @property
    def spec(self):
        return self.derivation.spec

    @property
    def scale(self) -> Basic:
        return self.derivation.upstream_scale

    @cached_property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        tensors = self.derivation.tensors
        shapes = {"O": self.spec.output_shape, "G": self.spec.output_shape}
        for name in ("X", "W", "B", "T"):  # T: a loss's target
            array = getattr(tensors, name)
            if array is not None:
                shapes[name] = array.shape
        return shapes

    @cached_property
    def contributions(self) -> dict[Symbol, list[tuple[tuple[int, ...], Basic]]]:
        """Parameter symbol -> (output index, local partial) for every output it feeds."""
        result: dict[Symbol, list[tuple[tuple[int, ...], Basic]]] = {}
        for entry in self.derivation.entries:
            for symbol, partial in entry.partials:
                result.setdefault(symbol, []).append((entry.index, partial))
        return result

    @property
    def parameters(self) -> list[str]:
        """Gradient tensors in the order the notes treat them: kernel, bias, input."""
        return [name for name in ("W", "B", "X") if name in self.derivation.grads]

    def grid(self, array: np.ndarray, source: str | None, part: tuple[int, ...]) -> Grid:
        """A 2-D slice ``array[part]`` as a matrix, large ones elided, entries traced."""
        side = self.options.matrix_side
        plane = array[part] if part else array
        if plane.ndim == 1:
            plane = plane.reshape(1, -1)
        cap = self.options.max_cell_terms
        cells: dict[tuple[int, int], Basic] = {}

        def cell(r: int, c: int) -> Basic:
            if (r, c) not in cells:
                cells[r, c] = abridge(display(plane[r, c]), cap, brief=True)
            return cells[r, c]

        rows = grid_positions(plane.shape[0], side)
        cols = grid_positions(plane.shape[1], side)
        heavy = any(
            isinstance(cell(r, c), Terms) and any(isinstance(t, Omitted) for t in cell(r, c).args)
            for r in rows
            for c in cols
            if r is not None and c is not None
        )
        if heavy and side is not None and side > 4:
            # Cells that are long sums: fewer columns, so the matrix still fits a page.
            rows = grid_positions(plane.shape[0], 4)
            cols = grid_positions(plane.shape[1], 4)
        out = []
        for r in rows:
            row = []
            for c in cols:
                if r is None:
                    row.append(Dots("d" if c is None else "v"))
                elif c is None:
                    row.append(Dots("h"))
                else:
                    index = (*part, r, c) if array.ndim > 1 else (c,)
                    row.append(cell(r, c) if source is None else At(cell(r, c), source, index))
            out.append(row)
        return Grid(out)

    def shown(self, node: Basic) -> Basic:
        """A displayed sum, abridged when it has more terms than a listing shows."""
        return abridge(node, self.options.max_terms)

    def slices(self, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
        """Leading (batch, channel) indices of the matrices to show for a 4-D tensor."""
        if len(shape) < 3:
            return [()]
        return list(itertools.product(*axis_positions(shape[:-2], self.options.slices)))


def elision(shown: int, total: int, what: str, where: str = "") -> Elision | None:
    """The note under a listing that shows ``shown`` of ``total``; None when it shows all.

    ``where`` says in words which positions were kept (:func:`selection.describe`).
    """
    return Elision(shown, total, what, where) if shown < total else None


def pair(values: tuple[int, int]) -> Basic:
    """A (height, width) option as one number when both agree, else as ``h×w``."""
    return Integer(values[0]) if values[0] == values[1] else Shape(values)


def index_of(symbol: Symbol) -> tuple[int, ...]:
    """The index of a contract symbol (its name spells it)."""
    return parse_symbol(symbol)[1]
