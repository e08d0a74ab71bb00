"""The derivation driver: spec -> symbolic tensors -> forward entries -> exact gradients.

The loss is ``L = sum(G * O)`` (``reduction="sum"``) or ``L = sum(G * O) / N`` (``"mean"``), so
that dL/dO is the upstream gradient G itself (divided by the batch size for ``"mean"``). Each
gradient entry is the chain rule summed over the outputs that depend on it:
``dL/ds = sum_e dL/dO_e * dO_e/ds``.

>>> from symcnn.layers.conv2d.spec import Conv2d
>>> d = derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
>>> d.output[0, 0, 0, 0]
b_0 + w_0_0_0_0*x_0_0_0_0 + w_0_0_0_1*x_0_0_0_1 + w_0_0_1_0*x_0_0_1_0 + w_0_0_1_1*x_0_0_1_1
>>> d.grads["W"][0, 0, 0, 0]
g_0_0_0_0*x_0_0_0_0 + g_0_0_0_1*x_0_0_0_1 + g_0_0_1_0*x_0_0_1_0 + g_0_0_1_1*x_0_0_1_1
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from sympy import Add, Basic, Integer, Rational, Symbol

from . import canonical, layers, progress
from .options import DEFAULT_MAX_TERMS
from .rules import Entry
from .spec import Layer, prod
from .tensors import Tensors

#: Layer type -> the rule that builds its output entries and local partials: every kind's
#: ``layers/<kind>/rule.py`` ``TABLE``, merged by the registry.
RULES: dict[str, Callable[[Layer, Tensors], Iterator[Entry]]] = layers.table("rule")

#: Derivations costing more than this many terms (:attr:`symcnn.spec.Layer.work`: multiply
#: terms weighted by what each costs, plus symbols) are refused before any work.
DEFAULT_TERM_LIMIT = DEFAULT_MAX_TERMS


@dataclass(frozen=True)
class Derivation:
    """The exact forward pass and gradients of one layer.

    Attributes
    ----------
    spec : Layer
        The layer derived.
    tensors : Tensors
        The symbolic leaves X, W, B and G.
    output : numpy.ndarray
        Object array shaped like the output; each entry an exact SymPy expression.
    grads : dict of str to numpy.ndarray
        ``"X"``, ``"W"`` and ``"B"`` (those the layer has), each shaped like its tensor.
    upstream_scale : sympy.Rational
        dL/dO = upstream_scale * G: 1 for ``reduction="sum"``, 1/N for ``"mean"``.
    """

    spec: Layer
    tensors: Tensors
    output: np.ndarray
    grads: dict[str, np.ndarray]
    upstream_scale: Rational
    entries: tuple[Entry, ...] = field(repr=False)

    def __repr__(self) -> str:
        """A short summary: the arrays of a layer run to thousands of characters."""
        shapes = ", ".join(
            f"{name} {'x'.join(map(str, array.shape))}" for name, array in self.grads.items()
        )
        return (
            f"<Derivation of {self.spec.describe()}: output"
            f" {'x'.join(map(str, self.output.shape))}; gradients {shapes}>"
        )

    @cached_property
    def loss(self) -> Basic:
        """``L = upstream_scale * sum(G * O)`` (built on demand: it is as large as the layer)."""
        terms = (g * o for g, o in zip(self.tensors.G.flat, self.output.flat, strict=True))
        return self.upstream_scale * Add(*terms)  # one Add: sum() would re-flatten per term


def check_size(spec: Layer, term_limit: int = DEFAULT_TERM_LIMIT) -> None:
    """Refuse a derivation that would cost more than ``term_limit`` terms, before any work.

    The cost is :attr:`symcnn.spec.Layer.work`, counted from the spec alone: nothing is
    allocated for a layer that is refused (a 100000x100000 input is one line, not a
    MemoryError).
    """
    if not isinstance(spec, Layer):
        raise ValueError(
            f"spec={spec!r} is not valid: expected a layer spec such as"
            " symcnn.Conv2d(input_shape=(1, 1, 3, 3), kernel=2)"
        )
    if isinstance(term_limit, bool) or not isinstance(term_limit, int) or term_limit < 0:
        # A float NaN compares false with everything: it would have switched the limit off.
        raise ValueError(
            f"term_limit={term_limit!r} is not valid: expected a whole number >= 0"
            f" (default {DEFAULT_TERM_LIMIT:,})"
        )
    if spec.work > term_limit:
        raise ValueError(
            f"the derivation of this {spec.type} would cost {spec.work:,} terms"
            f" ({spec.work_words()}), more than the limit of {term_limit:,}; raise it with"
            f" --max-terms (Python: term_limit=) or derive a smaller layer (a batch of 1 shows"
            f" every pattern)"
        )


def derive(spec: Layer, *, term_limit: int = DEFAULT_TERM_LIMIT, namespace: str = "") -> Derivation:
    """Derive the exact forward pass and every gradient entry of ``spec``.

    ``namespace`` names the layer's symbols apart from another layer's (``"l0"`` gives
    ``l0_x_...``, ``l0_w_...``): the layers of one network share no symbol. The default keeps
    the contract's names (``x_n_c_h_w``, ``w_k_c_p_q``, ``b_k``, ``g_n_k_i_j``).
    """
    check_size(spec, term_limit)
    with collector_paused():
        return _derive(spec, namespace)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building many small objects.

    A derivation allocates hundreds of thousands of SymPy objects and frees none; every
    collection pass rescans them all (measured: 40% of LeNet's first layer). They hold no
    cycles worth collecting early, so the pass is deferred to the end. The code generator
    (reading a derivation into maps) and the checker (building claims) pause it the same way.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _derive(spec: Layer, namespace: str) -> Derivation:
    # [spec] -> [symbols]
    tensors = Tensors.for_layer(spec, namespace)
    # [symbols] -> [forward entries with their local partials]
    rule = layers.entry("rule", spec.type, "a derivation")
    outputs = prod(spec.output_shape)
    entries = tuple(progress.bar(rule(spec, tensors), total=outputs, desc="forward entries"))
    output = np.empty(spec.output_shape, dtype=object)
    for entry in entries:
        output[entry.index] = entry.expr
    # [local partials] -> [dL/ds = sum_e dL/dO_e * dO_e/ds]
    scale = Rational(1, spec.batch) if spec.reduction == "mean" else Integer(1)
    # The chain rule's terms of each leaf s: (dO_e/ds, G_e) for every output entry e using s.
    chains: dict[Symbol, list[tuple[Basic, Symbol]]] = {
        symbol: [] for symbols in tensors.parameters().values() for symbol in symbols.flat
    }
    for entry in entries:
        upstream = tensors.G[entry.index]
        for symbol, partial in entry.partials:
            chains[symbol].append((partial, upstream))
    grads = {}
    for name, symbols in tensors.parameters().items():
        grad = np.empty(symbols.shape, dtype=object)
        cells = progress.bar(np.ndenumerate(symbols), total=symbols.size, desc=f"dL/d{name}")
        for index, symbol in cells:
            grad[index] = canonical.sum_of_products(chains[symbol], scale)
        grads[name] = grad
    return Derivation(spec, tensors, output, grads, scale, entries)
