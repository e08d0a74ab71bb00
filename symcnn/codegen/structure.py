"""Recover a layer's structure from its exact derivation, prove it, and extend it to the full shape.

The generator never writes a formula of its own. It derives the layer at the size that fixes the
structure (:func:`structure_spec`: the spatial shape and every option unchanged, the batch, the
groups and the channels per group cut to at most 2, the smallest size at which the relations
between batch, channel and group indices are visible), reads every derived expression back
(:class:`~symcnn.codegen.terms.IndexMaps`: which entries of X, W, B and G each term pairs, or for
an extreme pool which cells each window compares), and compresses the links into *taps*: for one
kernel or window position ``(p, q)``, the output rectangle it reaches and the strided input
rectangle it reads (:class:`~symcnn.codegen.terms.Tap`), plus what a layer needs besides (an
average's divisors, an extreme pool's routing: :mod:`symcnn.layers.pool.codegen_reading`).
Then it proves the recovered structure: the readings rebuilt from it alone must equal the
derivation's exactly, for the forward pass and every gradient. Batch and channels are regular
(the same spatial taps serve every sample and every channel pair of a group), so the proven
structure holds at the full shape, and the derivation cost depends on the spatial size only.

How each layer type is read, recovered and rebuilt is its kind's :class:`Reading`, in the
kind's ``codegen`` entry (:func:`codegen_of`; the convolution's is in
:mod:`symcnn.layers.conv2d.codegen`).

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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
from sympy import Basic

from .. import layers
from ..derive import DEFAULT_TERM_LIMIT, Derivation, collector_paused, derive
from ..spec import Layer
from ..tensors import Tensors
from .terms import Index, IndexMaps, StructureError, Tap, expressions

__all__ = ["Reading", "Structure", "StructureError", "codegen_of", "prove", "structure_spec"]


# -- how a layer type is read ---------------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """How the generator reads one layer type.

    ``reduce`` cuts the spec to the size that fixes its structure; ``read`` turns the
    derivation into index maps; ``recover`` finds the taps and the layer's rule (None, an
    average's divisors, an extreme pool's routing) in them; ``rebuild`` makes the maps of any
    shape from taps and rule alone; ``entry`` turns one rebuilt reading back into SymPy (what
    unrolled kernels print).
    """

    reduce: Callable[[Any], Any]
    read: Callable[[Derivation], IndexMaps]
    recover: Callable[[Any, IndexMaps], tuple[tuple[Tap, ...], Any]]
    rebuild: Callable[[Any, tuple[Tap, ...], Any], IndexMaps]
    entry: Callable[[Any, Tensors], Basic]


def codegen_of(spec: Layer) -> Any:
    """The code generation entry of ``spec``'s type (a :class:`~symcnn.codegen.kinds.KindCodegen`).

    Raises
    ------
    ValueError
        When the layer's kind has no code generation.
    """
    return layers.entry("codegen", spec.type, "code generation")


def batch_and_channels_cut(spec: Layer) -> Layer:
    """``spec`` with its batch and channels cut to at most 2: the structure size of a layer
    whose channels do not mix (each output channel reads its own input channel)."""
    batch, channels, *spatial = spec.input_shape
    return dataclasses.replace(spec, input_shape=(min(batch, 2), min(channels, 2), *spatial))


# -- the structure of one layer --------------------------------------------------------------------


def structure_spec(spec: Layer) -> Layer:
    """The spec derived to find the structure (a convolution: batch, groups and channels per
    group cut to <= 2; each kind's reading says).

    >>> from symcnn.layers.conv2d.spec import Conv2d
    >>> reduced = structure_spec(Conv2d(input_shape=(64, 6, 12, 12), out_channels=16, kernel=5))
    >>> reduced.input_shape, reduced.out_channels, reduced.groups
    ((2, 2, 12, 12), 2, 1)
    """
    return codegen_of(spec).reading.reduce(spec)


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
        return codegen_of(spec).reading.rebuild(spec, self.taps, self.rule)

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
        return expressions(self.sample_maps(), tensors, codegen_of(self.spec).reading.entry)


@lru_cache(maxsize=64)
def prove(spec: Layer, term_limit: int = DEFAULT_TERM_LIMIT) -> Structure:
    """Derive ``spec`` at its structure size, recover its structure and prove it exact.

    ``term_limit`` bounds that derivation as :func:`symcnn.derive.derive`'s does.

    The result is cached per spec (specs are frozen): a catalog check renders each layer in
    two dtypes and the tests render the catalog more than once.

    Raises
    ------
    StructureError
        When a derived expression is not what the structure rebuilds (the generator cannot make
        a kernel for this derivation).
    ValueError
        When the layer's kind has no code generation.
    """
    codegen_of(spec)  # a kind without code generation is refused before any work
    with collector_paused():
        return _prove(spec, term_limit)


def _prove(spec: Layer, term_limit: int = DEFAULT_TERM_LIMIT) -> Structure:
    reading = codegen_of(spec).reading
    # [spec] -> [the derivation at the size that fixes the structure]
    reduced = structure_spec(spec)
    derivation = derive(reduced, term_limit=term_limit)
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
