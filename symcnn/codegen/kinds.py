"""What a layer kind gives the generator: one :class:`KindCodegen` per layer type.

Each kind's ``symcnn/layers/<kind>/codegen.py`` defines ``TABLE = {type: KindCodegen(...)}``:
how its derivation is read, recovered and rebuilt (a
:class:`~symcnn.codegen.structure.Reading`), which strategies it has builders for, its module
template, how a module's docstring names its symbols (:class:`Legend`) and how a generated
module's ``forward`` and ``backward`` are called. The generator asks the registry for it
(:func:`~symcnn.codegen.structure.codegen_of`) and never for the layer's type, so a new kind
(with or without windows and taps) plugs in its own reading and builders here, under the
strategy names of :data:`~symcnn.codegen.strategies.STRATEGIES` or under names of its own
(:attr:`KindCodegen.own_strategies`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import layers
from ..spec import Layer
from .bodies import KernelCode
from .printer import KernelPrinter
from .structure import Reading, Structure, codegen_of

#: What turns a proven structure into the bodies of ``forward`` and ``backward``.
Builder = Callable[[Structure, KernelPrinter], KernelCode]
#: What turns a proven structure and a strategy per direction into the two bodies.
Composer = Callable[[Structure, KernelPrinter, dict[str, str]], KernelCode]


@dataclass(frozen=True)
class Strategy:
    """One way to lay out a kernel: its name, what it is, and when it fits.

    ``refusal`` says why it does not fit a layer whose kind has a builder for it (None: it
    fits). ``for_only``, when given, explains the kinds that have one, and a kind without one is
    told so ("it is for avgpool2d only, ..."); else it hears that it has no kernels.
    """

    name: str
    summary: str
    refusal: Callable[[Structure], str | None]
    for_only: str = ""

    def builder(self, spec: Layer) -> Builder | None:
        """The builder of ``spec``'s kind for this strategy, or None when it has none."""
        return codegen_of(spec).strategies.get(self.name)

    def why_not(self, structure: Structure) -> str | None:
        """Why the strategy does not fit the layer, or None when it does."""
        spec = structure.spec
        if self.builder(spec) is None:
            if self.for_only:
                table = layers.table("codegen")
                have = ", ".join(
                    name for name, kind in table.items() if self.name in kind.strategies
                )
                return f"it is for {have} only, {self.for_only}"
            own = ", ".join(codegen_of(spec).strategies)
            return f"it has no {self.name} kernels for {spec.type} (its strategies: {own})"
        return self.refusal(structure)

    def fits(self, structure: Structure) -> bool:
        """True when the layer's kind has a builder and the strategy does not refuse the layer."""
        return self.builder(structure.spec) is not None and self.refusal(structure) is None


@dataclass(frozen=True)
class Legend:
    """How a module's docstring names the derived layer, its symbols and its taps."""

    size: str  # the reduced derivation's options besides the input, e.g. ", out_channels 2"
    symbols: str  # e.g. "x_n_c_h_w input, g_n_c_i_j dL/dO"
    position: str  # what a tap's (p, q) is: "kernel position", "window position"


@dataclass(frozen=True)
class KindCodegen:
    """Everything the generator needs of one layer type.

    Attributes
    ----------
    reading : Reading
        How the derivation is cut to its structure size, read into index maps, recovered into
        taps and a rule, rebuilt, and turned back into SymPy.
    strategies : dict of str to Builder
        Strategy name -> the builder of this type's kernel bodies under it.
    template : str
        The module template in ``templates/``.
    legend : callable
        The derived (reduced) spec -> its :class:`Legend`.
    forward_arguments, backward_arguments : tuple of str
        The generated ``forward`` and ``backward`` called positionally with these arrays
        (``x``, ``grad_out``, and each parameter of ``spec.parameters()`` in lower case; a
        parameter the layer does not have is passed as None).
    unrolled_terms : callable, optional
        Structure -> how many terms its unrolled module prints (needed with an ``unrolled``
        builder: the strategy refuses past a limit).
    own_strategies : tuple of Strategy
        Strategies of this kind that :data:`~symcnn.codegen.strategies.STRATEGIES` does not
        name (its builders are in ``strategies`` under the same names).
    directions : tuple of str
        The directions whose strategies may differ within one module (conv2d: ``forward``,
        ``grad_w``, ``grad_x``), each chosen on its own; empty: one strategy for the whole.
    compose : callable, optional
        With ``directions``: (structure, printer, {direction: strategy}) -> the bodies; every
        strategy of ``strategies`` but ``unrolled`` has a part in each direction.
    exact : bool
        Whether the module runs on object arrays of exact rationals too (False for a layer
        whose math leaves the rationals, such as ``exp`` and ``log``: its module refuses them).
    random_target : callable, optional
        ``(spec, rng, dtype) -> array``: a valid ``target`` of a loss, for timing and tests
        (its kernels are then called with ``target`` among their arguments).
    """

    reading: Reading
    strategies: dict[str, Builder]
    template: str
    legend: Callable[[Layer], Legend]
    forward_arguments: tuple[str, ...]
    backward_arguments: tuple[str, ...]
    unrolled_terms: Callable[[Structure], int] | None = None
    own_strategies: tuple[Strategy, ...] = field(default=())
    directions: tuple[str, ...] = field(default=())
    compose: Composer | None = None
    exact: bool = True
    random_target: Callable[[Layer, np.random.Generator, str], np.ndarray] | None = None


@dataclass(frozen=True)
class CatalogModule:
    """One catalog module: the layer, its dtypes and the strategy its kernels use (each dtype
    is one generated file)."""

    spec: Layer
    strategy: str
    dtypes: tuple[str, ...] = ("float64",)
    why: str = ""
