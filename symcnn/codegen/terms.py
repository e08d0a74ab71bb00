"""What the generator reads a derivation into: terms, index maps and taps.

A derived polynomial entry (a convolution, an average) is a sum of monomials; :func:`parse_terms`
reads each into a :class:`Term` (its exact rational coefficient and the tensor entries it pairs),
and :class:`IndexMaps` holds every entry read back. A :class:`Tap` is the compressed form of many
links between output windows and input cells: for one kernel (or window) position ``(p, q)``, the
output rectangle it reaches and the strided input rectangle it reads. :func:`expression` and
:func:`expressions` turn terms back into SymPy.

>>> from sympy import sympify
>>> parse_terms(sympify("x_0_0_1_1*w_0_0_0_0 + b_0"))
... # doctest: +NORMALIZE_WHITESPACE
[Term(coefficient=Fraction(1, 1), factors=(('B', (0,)),)),
 Term(coefficient=Fraction(1, 1), factors=(('W', (0, 0, 0, 0)), ('X', (0, 0, 1, 1))))]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
from sympy import Basic, Rational, Symbol

from .. import canonical
from ..tensors import Tensors, parse_symbol

Index = tuple[int, ...]
Link = tuple[tuple[int, int], tuple[int, int]]  # (output position (i, j), input cell (h, w))

ONE = Fraction(1)


class StructureError(ValueError):
    """The derivation does not have the structure a generated kernel needs."""


# -- reading terms back into index maps ------------------------------------------------------------


class Term(NamedTuple):
    """One monomial of a derived sum: its rational coefficient and the tensor entries it pairs."""

    coefficient: Fraction
    factors: tuple[tuple[str, Index], ...]  # (tensor name, index), sorted by tensor name


def parse_terms(expr: Basic, names: dict[Symbol, tuple[str, Index]] | None = None) -> list[Term]:
    """Read a sum of monomials into its terms, sorted; ``names`` caches parsed symbols."""
    names = {} if names is None else names
    if expr == 0:
        return []
    terms = []
    for term in expr.args if expr.is_Add else (expr,):
        coefficient, factors = ONE, []
        for factor in term.args if term.is_Mul else (term,):
            if factor.is_Rational:
                coefficient = Fraction(int(factor.p), int(factor.q))
                continue
            parsed = tensor_entry(factor, names)
            if parsed is None:
                raise StructureError(f"the term {term} is not a product of tensor entries")
            factors.append(parsed)
        factors.sort()
        terms.append(Term(coefficient, tuple(factors)))
    terms.sort()
    return terms


def tensor_entry(expr: Basic, names: dict[Symbol, tuple[str, Index]]) -> tuple[str, Index] | None:
    """``(tensor name, index)`` of a tensor symbol, or None for anything else (cached)."""
    parsed = names.get(expr)
    if parsed is None and type(expr) is Symbol:
        parsed = parse_symbol(expr)
        if parsed is not None:
            names[expr] = parsed
    return parsed


@dataclass(frozen=True)
class IndexMaps:
    """Every derived expression read back: entry index -> what it is made of.

    ``forward`` maps each output index to its reading; ``grads[name]`` maps each entry of the
    tensor ``name`` to the reading of its gradient. For a polynomial layer a reading is the
    sorted list of its :class:`Term`; an extreme pool reads its own way
    (:mod:`symcnn.layers.pool.codegen_reading`). Two maps are equal exactly when the
    expressions are.
    """

    forward: dict[Index, Any]
    grads: dict[str, dict[Index, Any]]

    @classmethod
    def of(cls, derivation) -> IndexMaps:
        """The terms of every entry of a polynomial derivation."""
        return cls(
            forward=_read(derivation.output),
            grads={name: _read(grad) for name, grad in derivation.grads.items()},
        )


def _read(array: np.ndarray) -> dict[Index, list[Term]]:
    names: dict[Symbol, tuple[str, Index]] = {}
    return {index: parse_terms(expr, names) for index, expr in np.ndenumerate(array)}


def empty_maps(spec, gradients: dict[str, tuple[int, ...]]) -> IndexMaps:
    """Index maps with an empty list at every output and gradient entry of ``spec``."""
    forward: dict[Index, list] = {index: [] for index in np.ndindex(spec.output_shape)}
    grads = {name: {index: [] for index in np.ndindex(shape)} for name, shape in gradients.items()}
    return IndexMaps(forward, grads)


def sort_entries(maps: IndexMaps) -> IndexMaps:
    """Sort every entry's list in place (readings compare as sorted lists) and return the maps."""
    for entries in (maps.forward, *maps.grads.values()):
        for items in entries.values():
            if isinstance(items, list):
                items.sort()
    return maps


# -- taps: the compressed form of the links -------------------------------------------------------


class Tap(NamedTuple):
    """One kernel (or window) position and the two rectangles it links.

    Output window ``(out_rows[a], out_cols[b])`` reads input cell ``(in_rows[a], in_cols[b])``
    through position ``(p, q)``; the two rectangles have the same size.
    """

    p: int
    q: int
    out_rows: slice
    out_cols: slice
    in_rows: slice
    in_cols: slice

    def links(self) -> Iterator[Link]:
        """Every (output position, input position) pair of the tap, in row-major order."""
        rows = zip(indices(self.out_rows), indices(self.in_rows), strict=True)
        for (i, h), (j, w) in itertools.product(
            rows, list(zip(indices(self.out_cols), indices(self.in_cols), strict=True))
        ):
            yield (i, j), (h, w)

    @property
    def size(self) -> int:
        """The number of links (output windows the tap reaches)."""
        return len(indices(self.out_rows)) * len(indices(self.out_cols))


def indices(part: slice) -> range:
    """The indices a slice with explicit start, stop and step selects."""
    return range(part.start, part.stop, part.step)


def _axis_slices(pairs: set[tuple[int, int]], what: str) -> tuple[slice, slice]:
    """Fit (output index, input index) pairs along one axis as two slices, or refuse."""
    ordered = sorted(pairs)
    outs = [o for o, _ in ordered]
    ins = [i for _, i in ordered]
    if len(set(outs)) != len(outs) or outs != list(range(outs[0], outs[0] + len(outs))):
        raise StructureError(f"{what}: the output positions {outs} are not one contiguous run")
    step = ins[1] - ins[0] if len(ins) > 1 else 1
    if step < 1 or ins != list(range(ins[0], ins[0] + step * len(ins), step)):
        raise StructureError(f"{what}: the input positions {ins} are not evenly strided")
    return slice(outs[0], outs[-1] + 1, 1), slice(ins[0], ins[-1] + 1, step)


def taps_from_links(grouped: dict[tuple[int, int], set[Link]], what: str) -> tuple[Tap, ...]:
    """Each position's links as one tap, or refuse links that are not two strided rectangles.

    ``grouped`` maps a position ``(p, q)`` to its links; ``what`` names a position in messages
    ("kernel position", "window position"). Taps come in row-major position order.
    """
    taps = []
    for (p, q), pairs in sorted(grouped.items()):
        where = f"{what} ({p}, {q})"
        out_rows, in_rows = _axis_slices({(i, h) for (i, _), (h, _) in pairs}, where + " rows")
        out_cols, in_cols = _axis_slices({(j, w) for (_, j), (_, w) in pairs}, where + " cols")
        tap = Tap(p, q, out_rows, out_cols, in_rows, in_cols)
        if set(tap.links()) != pairs:
            raise StructureError(f"{where}: its links do not form a rectangle")
        taps.append(tap)
    return tuple(taps)


def _same(a: slice, b: slice) -> bool:
    return (a.start, a.stop, a.step) == (b.start, b.stop, b.step)


def axis_runs(taps: tuple[Tap, ...]) -> tuple[dict, dict] | None:
    """The taps as a product of row runs and column runs, or None when they are not one.

    Returns ``({p: (out_rows, in_rows)}, {q: (out_cols, in_cols)})`` when every pair ``(p, q)``
    is a tap whose rectangles are row run ``p`` times column run ``q``.
    """
    rows = {tap.p: (tap.out_rows, tap.in_rows) for tap in taps}
    cols = {tap.q: (tap.out_cols, tap.in_cols) for tap in taps}
    product = {(p, q): rows[p] + cols[q] for p in rows for q in cols}
    given = {(t.p, t.q): (t.out_rows, t.in_rows, t.out_cols, t.in_cols) for t in taps}
    same = product.keys() == given.keys() and all(
        all(_same(a, b) for a, b in zip(product[key], given[key], strict=True)) for key in given
    )
    return (rows, cols) if same else None


# -- back to SymPy --------------------------------------------------------------------------------


def expression(terms: list[Term], tensors: Tensors) -> Basic:
    """The SymPy sum of parsed terms (the inverse of :func:`parse_terms`)."""
    arrays = {"X": tensors.X, "W": tensors.W, "B": tensors.B, "G": tensors.G}
    monomials = []
    for term in terms:
        symbols = [arrays[name][at] for name, at in term.factors]
        if term.coefficient == 1 and len(symbols) == 2:
            monomials.append(canonical.pair(*symbols))
        else:
            coefficient = Rational(term.coefficient.numerator, term.coefficient.denominator)
            monomials.append(canonical.product((coefficient, *symbols)))
    return canonical.total(monomials)


def expressions(
    maps: IndexMaps,
    tensors: Tensors,
    entry: Callable[[Any, Tensors], Basic] = expression,
) -> dict[str, np.ndarray]:
    """SymPy expressions from index maps: ``{"output": array, "X": array, ...}``.

    ``entry`` turns one reading into SymPy (:func:`expression` for terms).
    """
    arrays = {"X": tensors.X, "W": tensors.W, "B": tensors.B, "G": tensors.G}

    def build(entries: dict[Index, Any], shape: tuple[int, ...]) -> np.ndarray:
        result = np.empty(shape, dtype=object)
        for index, reading in entries.items():
            result[index] = entry(reading, tensors)
        return result

    result = {"output": build(maps.forward, tensors.G.shape)}
    for name, entries in maps.grads.items():
        result[name] = build(entries, arrays[name].shape)
    return result
