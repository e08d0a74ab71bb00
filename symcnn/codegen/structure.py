"""Recover a layer's structure from its exact derivation, prove it, and extend it to the full shape.

The generator never writes a formula of its own. It derives the layer at the size that fixes the
structure (:func:`structure_spec`: the spatial shape and every option unchanged, the batch, the
groups and the channels per group cut to at most 2, the smallest size at which the relations
between batch, channel and group indices are visible), reads every term of every derived
expression back into index maps (:class:`IndexMaps`: which entries of X, W, B and G each term
pairs), and compresses the maps into *taps*: for one kernel position ``(p, q)``, the output
rectangle it reaches and the strided input rectangle it reads (:class:`Tap`). Then it proves the
taps: the expressions rebuilt from them (:func:`conv2d_expressions`) must equal the derivation
exactly, for the forward pass and every gradient. Batch and channels are regular (the same
spatial taps serve every sample and every channel pair of a group), so the proven taps hold at
the full shape, and the derivation cost depends on the spatial size only.

>>> from symcnn.spec import Conv2d
>>> structure = prove(Conv2d(input_shape=(64, 1, 3, 3), out_channels=6, kernel=(2, 2)))
>>> structure.derived_spec.input_shape, structure.derived_spec.out_channels
((2, 1, 3, 3), 2)
>>> structure.taps[1]  # doctest: +NORMALIZE_WHITESPACE
Tap(p=0, q=1, out_rows=slice(0, 2, 1), out_cols=slice(0, 2, 1),
    in_rows=slice(0, 2, 1), in_cols=slice(1, 3, 1))
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import numpy as np
from sympy import Basic, Rational, Symbol

from .. import canonical
from ..derive import Derivation, derive
from ..spec import Conv2d, Layer
from ..tensors import Tensors, parse_symbol

Index = tuple[int, ...]


class StructureError(ValueError):
    """The derivation does not have the structure a generated kernel needs."""


# -- reading terms back into index maps ------------------------------------------------------------


class Term(NamedTuple):
    """One monomial of a derived sum: its rational coefficient and the tensor entries it pairs."""

    coefficient: Fraction
    factors: tuple[tuple[str, Index], ...]  # (tensor name, index), sorted by tensor name


def parse_terms(expr: Basic, names: dict[Symbol, tuple[str, Index]] | None = None) -> list[Term]:
    """Read a sum of monomials into its terms, sorted; ``names`` caches parsed symbols.

    >>> from sympy import sympify
    >>> parse_terms(sympify("x_0_0_1_1*w_0_0_0_0 + b_0"))
    ... # doctest: +NORMALIZE_WHITESPACE
    [Term(coefficient=Fraction(1, 1), factors=(('B', (0,)),)),
     Term(coefficient=Fraction(1, 1), factors=(('W', (0, 0, 0, 0)), ('X', (0, 0, 1, 1))))]
    """
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
            parsed = names.get(factor)
            if parsed is None:
                parsed = parse_symbol(factor) if type(factor) is Symbol else None
                if parsed is None:
                    raise StructureError(f"the term {term} is not a product of tensor entries")
                names[factor] = parsed
            factors.append(parsed)
        factors.sort()
        terms.append(Term(coefficient, tuple(factors)))
    terms.sort()
    return terms


ONE = Fraction(1)


@dataclass(frozen=True)
class IndexMaps:
    """Every derived expression read back: entry index -> its terms.

    ``forward`` maps each output index to its terms; ``grads[name]`` maps each entry of the
    tensor ``name`` to the terms of its gradient.
    """

    forward: dict[Index, list[Term]]
    grads: dict[str, dict[Index, list[Term]]]

    @classmethod
    def of(cls, derivation: Derivation) -> IndexMaps:
        return cls(
            forward=_read(derivation.output),
            grads={name: _read(grad) for name, grad in derivation.grads.items()},
        )


def _read(array: np.ndarray) -> dict[Index, list[Term]]:
    names: dict[Symbol, tuple[str, Index]] = {}
    return {index: parse_terms(expr, names) for index, expr in np.ndenumerate(array)}


# -- taps: the compressed form of the maps ---------------------------------------------------------


class Tap(NamedTuple):
    """One kernel position and the two rectangles it links.

    Output window ``(out_rows[a], out_cols[b])`` reads input cell ``(in_rows[a], in_cols[b])``
    through weight entry ``(p, q)``; the two rectangles have the same size.
    """

    p: int
    q: int
    out_rows: slice
    out_cols: slice
    in_rows: slice
    in_cols: slice

    def links(self) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
        """Every (output position, input position) pair of the tap, in row-major order."""
        rows = zip(_indices(self.out_rows), _indices(self.in_rows), strict=True)
        for (i, h), (j, w) in itertools.product(
            rows, list(zip(_indices(self.out_cols), _indices(self.in_cols), strict=True))
        ):
            yield (i, j), (h, w)


def _indices(part: slice) -> range:
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


def taps_of(maps: IndexMaps) -> tuple[Tap, ...]:
    """Group the forward pairs of sample 0 and channel pair (0, 0) by weight position.

    Each group must be a product of a row run and a column run with evenly strided inputs: that
    is a tap. Taps come in row-major kernel order; a kernel position that reads only padding has
    no pairs and no tap.
    """
    links: dict[tuple[int, int], set[tuple[tuple[int, int], tuple[int, int]]]] = {}
    for (n, k, i, j), terms in maps.forward.items():
        if n or k:
            continue
        for term in terms:
            named = dict(term.factors)
            if "X" not in named or "W" not in named:
                continue
            (_, c, h, w), (_, wc, p, q) = named["X"], named["W"]
            if c == 0 and wc == 0:
                links.setdefault((p, q), set()).add(((i, j), (h, w)))
    taps = []
    for (p, q), pairs in sorted(links.items()):
        what = f"kernel position ({p}, {q})"
        out_rows, in_rows = _axis_slices({(i, h) for (i, _), (h, _) in pairs}, what + " rows")
        out_cols, in_cols = _axis_slices({(j, w) for (_, j), (_, w) in pairs}, what + " cols")
        tap = Tap(p, q, out_rows, out_cols, in_rows, in_cols)
        if set(tap.links()) != pairs:
            raise StructureError(f"{what}: its pairs do not form a rectangle")
        taps.append(tap)
    return tuple(taps)


# -- rebuilding the maps from the taps -------------------------------------------------------------


def conv2d_maps(spec: Conv2d, taps: tuple[Tap, ...]) -> IndexMaps:
    """The index maps of ``spec`` built from the taps alone.

    ``O[n,k,i,j] = B[k] + sum over taps and c of X[n, g*C/G + c, h, w] * W[k, c, p, q]`` for
    every ``(i, j) -> (h, w)`` link of the tap, ``g`` the group of ``k``; each gradient is the
    same sum read from the other side, times dL/dO's scale (1, or 1/N for ``mean``).
    """
    batch, _, _, _ = spec.input_shape
    out_channels, in_per_group, _, _ = spec.weight_shape
    out_per_group = out_channels // spec.groups
    scale = Fraction(1, batch) if spec.reduction == "mean" else ONE
    forward: dict[Index, list[Term]] = {index: [] for index in np.ndindex(spec.output_shape)}
    shapes = {"X": spec.input_shape, "W": spec.weight_shape}
    if spec.bias:
        shapes["B"] = spec.bias_shape
    grads = {name: {index: [] for index in np.ndindex(shape)} for name, shape in shapes.items()}
    for tap in taps:
        links = list(tap.links())
        for n, k, c in itertools.product(range(batch), range(out_channels), range(in_per_group)):
            channel = (k // out_per_group) * in_per_group + c
            weight = ("W", (k, c, tap.p, tap.q))
            for (i, j), (h, w) in links:
                cell, out = ("X", (n, channel, h, w)), ("G", (n, k, i, j))
                forward[out[1]].append(Term(ONE, (weight, cell)))
                grads["X"][cell[1]].append(Term(scale, (out, weight)))
                grads["W"][weight[1]].append(Term(scale, (out, cell)))
    if spec.bias:
        for index in np.ndindex(spec.output_shape):
            forward[index].append(Term(ONE, (("B", (index[1],)),)))
            grads["B"][(index[1],)].append(Term(scale, (("G", index),)))
    for entries in (forward, *grads.values()):
        for terms in entries.values():
            terms.sort()
    return IndexMaps(forward, grads)


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


def expressions(maps: IndexMaps, tensors: Tensors) -> dict[str, np.ndarray]:
    """SymPy expressions from index maps: ``{"output": array, "X": array, ...}``."""
    arrays = {"X": tensors.X, "W": tensors.W, "B": tensors.B, "G": tensors.G}

    def build(entries: dict[Index, list[Term]], shape: tuple[int, ...]) -> np.ndarray:
        result = np.empty(shape, dtype=object)
        for index, terms in entries.items():
            result[index] = expression(terms, tensors)
        return result

    result = {"output": build(maps.forward, tensors.G.shape)}
    for name, entries in maps.grads.items():
        result[name] = build(entries, arrays[name].shape)
    return result


# -- the structure of one layer --------------------------------------------------------------------


def structure_spec(spec: Layer) -> Layer:
    """The spec derived to find the structure: batch, groups and channels per group cut to <= 2.

    >>> reduced = structure_spec(Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=5))
    >>> reduced.input_shape, reduced.out_channels, reduced.groups
    ((2, 2, 12, 12), 2, 1)
    """
    batch, channels, height, width = spec.input_shape
    if not isinstance(spec, Conv2d):
        return dataclasses.replace(
            spec, input_shape=(min(batch, 2), min(channels, 2), height, width)
        )
    groups = min(spec.groups, 2)
    in_per_group = min(channels // spec.groups, 2)
    out_per_group = min(spec.out_channels // spec.groups, 2)
    return dataclasses.replace(
        spec,
        input_shape=(min(batch, 2), groups * in_per_group, height, width),
        out_channels=groups * out_per_group,
        groups=groups,
    )


@dataclass(frozen=True)
class Structure:
    """A layer's proven structure: what every generated kernel of the layer is built from.

    Attributes
    ----------
    spec : Layer
        The full layer the kernels are for.
    derived_spec : Layer
        The reduced layer that was derived (:func:`structure_spec`).
    first_entries : dict of str to (index, list of Term)
        The first entry of the reduced derivation's output (``"O"``) and of each gradient
        (``"dL/dX"``, ...), read back into terms: what a module's header quotes.
    taps : tuple of Tap
        The spatial taps, proven against the reduced derivation, valid at the full shape.
    """

    spec: Layer
    derived_spec: Layer
    first_entries: dict[str, tuple[Index, list[Term]]]
    taps: tuple[Tap, ...]

    def maps_for(self, spec: Layer) -> IndexMaps:
        """The index maps of ``spec`` (same options, any batch and channels) from the taps."""
        return MAPS[spec.type](spec, self.taps)

    @cached_property
    def sample_spec(self) -> Layer:
        """One sample of the full layer, reduction sum: what unrolled kernels print per row."""
        return dataclasses.replace(
            self.spec, input_shape=(1, *self.spec.input_shape[1:]), reduction="sum"
        )

    def sample_maps(self) -> IndexMaps:
        """The index maps of one sample of the full layer, from the proven taps."""
        return self._sample_maps

    @cached_property
    def _sample_maps(self) -> IndexMaps:
        return self.maps_for(self.sample_spec)

    def sample_expressions(self) -> dict[str, np.ndarray]:
        """Forward and gradient expressions of one sample of the full layer (reduction sum),
        rebuilt from the proven taps: what the unrolled kernels print."""
        return expressions(self.sample_maps(), Tensors.for_layer(self.sample_spec))


#: Layer type -> how to rebuild its index maps from its taps.
MAPS: dict[str, Callable[[Any, tuple[Tap, ...]], IndexMaps]] = {
    "conv2d": conv2d_maps,
}


@lru_cache(maxsize=64)
def prove(spec: Layer) -> Structure:
    """Derive ``spec`` at its structure size, recover its taps and prove them exact.

    The result is cached per spec (specs are frozen): a catalog check renders each layer in
    two dtypes and the tests render the catalog more than once.

    Raises
    ------
    StructureError
        When a derived expression is not what the taps rebuild (the generator cannot make a
        kernel for this derivation).
    """
    if spec.type not in MAPS:
        known = ", ".join(sorted(MAPS))
        raise ValueError(f"layer {spec.type!r} has no kernel generator yet: it knows {known}")
    with _collector_paused():
        return _prove(spec)


def _prove(spec: Layer) -> Structure:
    # [spec] -> [the derivation at the size that fixes the structure]
    reduced = structure_spec(spec)
    derivation = derive(reduced)
    # [derivation] -> [index maps] -> [taps]
    maps = IndexMaps.of(derivation)
    taps = taps_of(maps)
    first = {"O": maps.forward} | {f"dL/d{name}": entries for name, entries in maps.grads.items()}
    first_entries = {label: next(iter(entries.items())) for label, entries in first.items()}
    structure = Structure(spec, reduced, first_entries, taps)
    # [taps] -> [rebuilt maps] == [derived maps]: the proof. A derived expression is exactly
    # the sum of its parsed terms (parse_terms refuses anything else), so equal term lists
    # are equal expressions.
    rebuilt = structure.maps_for(reduced)
    _require_equal("the forward pass", rebuilt.forward, maps.forward)
    if sorted(rebuilt.grads) != sorted(maps.grads):
        raise StructureError(
            f"gradients {sorted(maps.grads)} but taps give {sorted(rebuilt.grads)}"
        )
    for name, entries in maps.grads.items():
        _require_equal(f"dL/d{name}", rebuilt.grads[name], entries)
    return structure


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: its passes rescan every SymPy object of the
    derivation while the maps are read (measured: more than half the time of LeNet's layer)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _require_equal(what: str, rebuilt: dict[Index, list[Term]], derived: dict) -> None:
    if rebuilt.keys() != derived.keys():
        raise StructureError(f"{what}: the taps give other entries than the derivation")
    for index, terms in derived.items():
        if rebuilt[index] != terms:
            raise StructureError(
                f"{what} at {list(index)}: the taps rebuild {rebuilt[index]}, the derivation"
                f" has {terms}"
            )
