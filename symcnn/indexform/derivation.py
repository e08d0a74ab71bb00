"""A layer's general formulas, derived from its kind's forward formula and proven by entries.

>>> from symcnn import Conv2d, derive
>>> found = general(derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2), bias=False)))
>>> found.proven
{'O': 4, 'X': 9, 'W': 4}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sympy import And as SymAnd
from sympy import Function, Mul, Piecewise, S, Sum, true

from .. import layers
from .algebra import Formula, Limit, collapse, gradient, index_symbol, prune, tighten
from .instantiate import prove

if TYPE_CHECKING:
    from ..derive import Derivation
    from ..spec import Layer


#: Above this many multiply terms the JSON and the notes leave the general formulas out: the
#: proof instantiates every term in Python, several times slower than the derivation itself.
PROVEN_UP_TO = 100_000


def available(spec: Layer) -> bool:
    """The layer's kind has general formulas for its options and the layer is small enough to
    prove them."""
    kind = layers.table("general").get(spec.type)
    if kind is None or kind.refuses(spec) is not None:
        return False
    return spec.multiply_terms <= PROVEN_UP_TO


def refusal(spec: Layer) -> str | None:
    """Why the layer's kind has no general formulas for these options (``"with dilation"``),
    or None when it has them (or has none at all)."""
    kind = layers.table("general").get(spec.type)
    return None if kind is None else kind.refuses(spec)


def _accepts_every_layer(spec: Layer) -> str | None:
    return None


@dataclass(frozen=True)
class KindGeneral:
    """What a kind gives: its forward formula and the names of each tensor's indices.

    Attributes
    ----------
    forward : callable
        ``forward(spec) -> Formula``: ``O[n, k, i, j] = ...`` with the layer's numbers
        substituted, every read as written by the definition (padding reads included: the
        tightening removes them).
    names : mapping
        Tensor (``X``, ``W``, ``B``) -> the letters of its free indices (``("n", "c", "h", "w")``).
    refuses : callable
        ``refuses(spec) -> str | None``: why the formulas are not available for this layer's
        options (``"with dilation"``), or None when they are.
    """

    forward: Callable[[Layer], Formula]
    names: Mapping[str, tuple[str, ...]]
    refuses: Callable[[Layer], str | None] = _accepts_every_layer


@dataclass(frozen=True)
class General:
    """A layer's general formulas, 0-based and tight, each proven against every entry.

    ``forward`` is ``O[...]``; ``grads`` maps ``X``, ``W``, ``B`` (those the layer has) to
    ``dL/dT[...]``; ``proven`` counts the entries each one was compared with.
    """

    forward: Formula
    grads: dict[str, Formula]
    proven: dict[str, int]


def shapes_of(derivation: Derivation) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape by the name its reads use (``G`` is the output's)."""
    tensors = derivation.tensors
    found = {name: array.shape for name, array in vars(tensors).items() if array is not None}
    found["O"] = derivation.output.shape
    return found


def _tight(formula: Formula, shapes) -> Formula:
    parts = []
    for part in formula.parts:
        part = prune(collapse(tighten(part, formula.free, shapes)), formula.free)
        if all(limit.low.is_number and limit.high.is_number for limit in part.sums) and any(
            limit.low > limit.high for limit in part.sums
        ):
            continue  # a part with no term at all
        parts.append(part)
    return Formula(formula.tensor, formula.free, tuple(parts))


def general(derivation: Derivation) -> General:
    """The general formulas of ``derivation``'s layer, tightened and proven.

    Raises ValueError when the kind has no general formulas, and (a bug, never a user's mistake)
    when a formula disagrees with an exact entry.
    """
    spec = derivation.spec
    kind: KindGeneral = layers.entry("general", spec.type, "general formulas")
    reason = kind.refuses(spec)
    if reason is not None:
        raise ValueError(f"general formulas are not available for {spec.type} {reason}")
    shapes = shapes_of(derivation)
    raw = kind.forward(spec)
    forward = _tight(raw, shapes)
    arrays = {name: array for name, array in vars(derivation.tensors).items() if array is not None}
    proven = {"O": prove(forward, arrays, derivation.output)}
    grads = {}
    for name, exact in derivation.grads.items():
        free = tuple(index_symbol(letter) for letter in kind.names[name])
        derived = gradient(raw, name, free, derivation.upstream_scale)
        limits = tuple(
            Limit(v, S.Zero, S(size - 1)) for v, size in zip(free, exact.shape, strict=True)
        )
        grads[name] = _tight(Formula(name, limits, derived.parts), shapes)
        proven[name] = prove(grads[name], arrays, exact)
    return General(forward, grads, proven)


def as_sympy(formula: Formula):
    """The formula as one SymPy expression: ``X(n, c, h, w)``-style reads, ``Sum``, ``Piecewise``.

    ``sympy.sympify`` reads its ``str`` back: the reads are undefined functions named by the
    tensor (``X``, ``W``, ``B``, ``G`` for dL/dO), capitals so that no index letter (``w``)
    names one.
    """
    total = S.Zero
    for part in formula.parts:
        # the coefficient inside the sum: an average's divisor depends on the summation index
        body = part.coefficient * Mul(*(Function(r.tensor)(*r.index) for r in part.reads))
        if part.conditions:
            body = Piecewise((body, SymAnd(*part.conditions)), (0, true))
        if part.sums:
            body = Sum(body, *((s.var, s.low, s.high) for s in reversed(part.sums)))
        total += body
    return total
