"""Recover a layer's structure from its exact derivation, prove it, and extend it to the full shape.

The generator never writes a formula of its own. It derives the layer at the size that fixes the
structure (:func:`structure_spec`: the spatial shape and every option unchanged, the batch, the
groups and the channels per group cut to at most 2, the smallest size at which the relations
between batch, channel and group indices are visible), reads every derived expression back
(:class:`~symcnn.codegen.terms.IndexMaps`: which entries of X, W, B and G each term pairs, or for
an extreme pool which cells each window compares), and compresses the links into *taps*: for one
kernel or window position ``(p, q)``, the output rectangle it reaches and the strided input
rectangle it reads (:class:`~symcnn.codegen.terms.Tap`), plus what a layer needs besides (an
average's divisors, an extreme pool's routing: :mod:`symcnn.codegen.pools`). Then it proves the
recovered structure: the readings rebuilt from it alone must equal the derivation's exactly, for
the forward pass and every gradient. Batch and channels are regular (the same spatial taps serve
every sample and every channel pair of a group), so the proven structure holds at the full shape,
and the derivation cost depends on the spatial size only.

How each layer type is read, recovered and rebuilt is one row of :data:`READINGS`.

>>> from symcnn.layers.conv2d.spec import Conv2d
>>> structure = prove(Conv2d(input_shape=(64, 1, 3, 3), out_channels=6, kernel=(2, 2)))
>>> structure.derived_spec.input_shape, structure.derived_spec.out_channels
((2, 1, 3, 3), 2)
>>> structure.taps[1]  # doctest: +NORMALIZE_WHITESPACE
Tap(p=0, q=1, out_rows=slice(0, 2, 1), out_cols=slice(0, 2, 1),
    in_rows=slice(0, 2, 1), in_cols=slice(1, 3, 1))
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from sympy import Basic

from ..derive import Derivation, collector_paused, derive
from ..layers.conv2d.spec import Conv2d
from ..spec import Layer
from ..tensors import Tensors
from . import pools
from .terms import (
    ONE,
    Index,
    IndexMaps,
    Link,
    StructureError,
    Tap,
    Term,
    empty_maps,
    expression,
    expressions,
    sort_entries,
    taps_from_links,
)

__all__ = ["READINGS", "Reading", "Structure", "StructureError", "prove", "structure_spec"]


# -- conv2d: taps from the weight index of every forward term -------------------------------------


def taps_of(maps: IndexMaps) -> tuple[Tap, ...]:
    """Group the forward pairs of sample 0 and channel pair (0, 0) by weight position.

    Each group must be a product of a row run and a column run with evenly strided inputs: that
    is a tap. Taps come in row-major kernel order; a kernel position that reads only padding has
    no pairs and no tap.
    """
    links: dict[tuple[int, int], set[Link]] = {}
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
    return taps_from_links(links, "kernel position")


def conv2d_recover(spec: Conv2d, maps: IndexMaps) -> tuple[tuple[Tap, ...], None]:
    """A convolution is its taps: the weight index names the position of every term."""
    return taps_of(maps), None


def conv2d_maps(spec: Conv2d, taps: tuple[Tap, ...], rule: None = None) -> IndexMaps:
    """The index maps of ``spec`` built from the taps alone.

    ``O[n,k,i,j] = B[k] + sum over taps and c of X[n, g*C/G + c, h, w] * W[k, c, p, q]`` for
    every ``(i, j) -> (h, w)`` link of the tap, ``g`` the group of ``k``; each gradient is the
    same sum read from the other side, times dL/dO's scale (1, or 1/N for ``mean``).
    """
    batch, _, _, _ = spec.input_shape
    out_channels, in_per_group, _, _ = spec.weight_shape
    out_per_group = out_channels // spec.groups
    scale = Fraction(1, batch) if spec.reduction == "mean" else ONE
    shapes = {"X": spec.input_shape, "W": spec.weight_shape}
    if spec.bias:
        shapes["B"] = spec.bias_shape
    maps = empty_maps(spec, shapes)
    forward, grads = maps.forward, maps.grads
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
    return sort_entries(maps)


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """How the generator reads one layer type.

    ``read`` turns the derivation into index maps; ``recover`` finds the taps and the layer's
    rule (None, :class:`~symcnn.codegen.pools.Divisors`, :class:`~symcnn.codegen.pools.Routing`)
    in them; ``rebuild`` makes the maps of any shape from taps and rule alone; ``entry`` turns
    one rebuilt reading back into SymPy (what unrolled kernels print).
    """

    read: Callable[[Derivation], IndexMaps]
    recover: Callable[[Any, IndexMaps], tuple[tuple[Tap, ...], Any]]
    rebuild: Callable[[Any, tuple[Tap, ...], Any], IndexMaps]
    entry: Callable[[Any, Tensors], Basic]


_EXTREME = Reading(
    pools.read_extreme, pools.recover_routing, pools.extreme_maps, pools.extreme_expression
)

#: Layer type -> how its derivation is read, its structure recovered and rebuilt.
READINGS: dict[str, Reading] = {
    "conv2d": Reading(IndexMaps.of, conv2d_recover, conv2d_maps, expression),
    "maxpool2d": _EXTREME,
    "minpool2d": _EXTREME,
    "avgpool2d": Reading(IndexMaps.of, pools.recover_average, pools.average_maps, expression),
}


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
    first_entries : dict of str to (index, sympy.Basic)
        The first entry of the reduced derivation's output (``"O"``) and of each gradient
        (``"dL/dX"``, ...), as derived: what a module's header quotes.
    taps : tuple of Tap
        The spatial taps, proven against the reduced derivation, valid at the full shape.
    rule : None, Divisors or Routing
        What the layer needs besides its taps: an average's divisors, an extreme pool's
        routing (proven with the taps).
    """

    spec: Layer
    derived_spec: Layer
    first_entries: dict[str, tuple[Index, Basic]]
    taps: tuple[Tap, ...]
    rule: Any = None

    def maps_for(self, spec: Layer) -> IndexMaps:
        """The index maps of ``spec`` (same options, any batch and channels) from the structure."""
        return READINGS[spec.type].rebuild(spec, self.taps, self.rule)

    @cached_property
    def sample_spec(self) -> Layer:
        """One sample of the full layer, reduction sum: what unrolled kernels print per row."""
        return dataclasses.replace(
            self.spec, input_shape=(1, *self.spec.input_shape[1:]), reduction="sum"
        )

    def sample_maps(self) -> IndexMaps:
        """The index maps of one sample of the full layer, from the proven structure."""
        return self._sample_maps

    @cached_property
    def _sample_maps(self) -> IndexMaps:
        return self.maps_for(self.sample_spec)

    def sample_expressions(self) -> dict[str, np.ndarray]:
        """Forward and gradient expressions of one sample of the full layer (reduction sum),
        rebuilt from the proven structure: what the unrolled kernels print."""
        tensors = Tensors.for_layer(self.sample_spec)
        return expressions(self.sample_maps(), tensors, READINGS[self.spec.type].entry)


@lru_cache(maxsize=64)
def prove(spec: Layer) -> Structure:
    """Derive ``spec`` at its structure size, recover its structure and prove it exact.

    The result is cached per spec (specs are frozen): a catalog check renders each layer in
    two dtypes and the tests render the catalog more than once.

    Raises
    ------
    StructureError
        When a derived expression is not what the structure rebuilds (the generator cannot make
        a kernel for this derivation).
    """
    if spec.type not in READINGS:
        known = ", ".join(sorted(READINGS))
        raise ValueError(f"layer {spec.type!r} has no kernel generator yet: it knows {known}")
    with collector_paused():
        return _prove(spec)


def _prove(spec: Layer) -> Structure:
    reading = READINGS[spec.type]
    # [spec] -> [the derivation at the size that fixes the structure]
    reduced = structure_spec(spec)
    derivation = derive(reduced)
    # [derivation] -> [index maps] -> [taps and the layer's rule]
    maps = reading.read(derivation)
    taps, rule = reading.recover(reduced, maps)
    first = {"O": derivation.output} | {f"dL/d{n}": g for n, g in derivation.grads.items()}
    first_entries = {label: ((0,) * array.ndim, array.flat[0]) for label, array in first.items()}
    structure = Structure(spec, reduced, first_entries, taps, rule)
    # [structure] -> [rebuilt maps] == [derived maps]: the proof. A derived expression is exactly
    # what its reading says (the readers refuse anything else), so equal readings are equal
    # expressions.
    rebuilt = structure.maps_for(reduced)
    _require_equal("the forward pass", rebuilt.forward, maps.forward)
    if sorted(rebuilt.grads) != sorted(maps.grads):
        raise StructureError(
            f"gradients {sorted(maps.grads)} but the structure gives {sorted(rebuilt.grads)}"
        )
    for name, entries in maps.grads.items():
        _require_equal(f"dL/d{name}", rebuilt.grads[name], entries)
    return structure


def _require_equal(what: str, rebuilt: dict[Index, Any], derived: dict[Index, Any]) -> None:
    if rebuilt.keys() != derived.keys():
        raise StructureError(f"{what}: the structure gives other entries than the derivation")
    for index, reading in derived.items():
        if rebuilt[index] != reading:
            raise StructureError(
                f"{what} at {list(index)}: the structure rebuilds {rebuilt[index]}, the"
                f" derivation has {reading}"
            )
