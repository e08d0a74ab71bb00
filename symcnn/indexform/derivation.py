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
from sympy import Function, Mul, Piecewise, S, Sum, Tuple, true

from .. import layers
from .algebra import Formula, Limit, collapse, gradient, index_symbol, prune, tighten
from .instantiate import prove, prove_extremes

if TYPE_CHECKING:
    from ..derive import Derivation
    from ..spec import Layer


#: Above this many multiply terms the JSON and the notes leave the general formulas out: the
#: proof instantiates every term in Python, several times slower than the derivation itself.
PROVEN_UP_TO = 100_000


def available(spec: Layer) -> bool:
    """The layer's kind has general formulas and the layer is small enough to prove them."""
    return unavailable(spec) is None


def unavailable(spec: Layer) -> str | None:
    """Why the layer has no general formula (a sentence), or None when it has one."""
    kinds = layers.table("general")
    if spec.type not in kinds:
        return f"{spec.type} has no general formula yet"
    refused = kinds[spec.type].refuse(spec) if kinds[spec.type].refuse else None
    if refused:
        return refused
    if spec.multiply_terms > PROVEN_UP_TO:
        return (
            f"This layer has {spec.multiply_terms} multiply terms: the general formulas are"
            f" derived and proven against every entry only up to {PROVEN_UP_TO}, so they are"
            " left out here; a smaller layer with the same options shows them."
        )
    return None


def over_values(spec: Layer) -> bool:
    """The kind's gradients depend on tensor values (a window's winner): a :class:`Share`."""
    kind = layers.table("general").get(spec.type)
    return kind is not None and kind.share is not None


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
    refuse : callable, optional
        ``refuse(spec) -> sentence or None``: why a layer of the kind has no general formula
        (an option its forward formula does not express), or None.
    share : callable, optional
        ``share(rule, window, position) -> expression``: the exact local partial of a window's
        extreme by its entry ``window[position]`` under ``rule`` (a :class:`TieRule`), the
        window's symbols in row-major order. A kind whose forward formula takes an extreme
        (max, min pooling) gives it, so that its formulas' shares can be instantiated.
    """

    forward: Callable[[Layer], Formula]
    names: Mapping[str, tuple[str, ...]]
    refuse: Callable[[Layer], str | None] | None = None
    share: Callable | None = None


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
    refused = kind.refuse(spec) if kind.refuse else None
    if refused:
        raise ValueError(refused)
    shapes = shapes_of(derivation)
    raw = kind.forward(spec)
    forward = _tight(raw, shapes)
    arrays = {name: array for name, array in vars(derivation.tensors).items() if array is not None}

    def proof(formula: Formula, exact) -> int:
        if any(part.extreme or part.shares for part in formula.parts):
            return prove_extremes(formula, arrays, exact, kind.share)
        return prove(formula, arrays, exact)

    proven = {"O": proof(forward, derivation.output)}
    grads = {}
    for name, exact in derivation.grads.items():
        free = tuple(index_symbol(letter) for letter in kind.names[name])
        derived = gradient(raw, name, free, derivation.upstream_scale)
        limits = tuple(
            Limit(v, S.Zero, S(size - 1)) for v, size in zip(free, exact.shape, strict=True)
        )
        grads[name] = _tight(Formula(name, limits, derived.parts), shapes)
        proven[name] = proof(grads[name], exact)
    return General(forward, grads, proven)


def as_sympy(formula: Formula):
    """The formula as one SymPy expression: ``X(n, c, h, w)``-style reads, ``Sum``, ``Piecewise``.

    ``sympy.sympify`` reads its ``str`` back: the reads are undefined functions named by the
    tensor (``X``, ``W``, ``B``, ``G`` for dL/dO), capitals so that no index letter (``w``)
    names one. A tie rule's share is ``FirstMax(cell, window, (p, low, high), (q, low, high))``
    (``SplitMax``, ``AllMax``, ``FirstMin``, ...: :func:`share_name`), a window's extreme
    ``Maximum(read, (p, low, high), (q, low, high))`` (``Minimum``).
    """
    total = S.Zero
    for part in formula.parts:
        if part.extreme is not None:
            (read,) = part.reads
            name = "Maximum" if part.extreme.extreme == "max" else "Minimum"
            limits = (Tuple(s.var, s.low, s.high) for s in part.sums)
            total += Function(name)(_applied(read), *limits)
            continue
        # the coefficient inside the sum: an average's divisor depends on the summation index
        body = part.coefficient * Mul(*(_applied(r) for r in part.reads))
        for share in part.shares:
            limits = (Tuple(s.var, s.low, s.high) for s in share.limits)
            body *= Function(share_name(share.rule))(
                _applied(share.cell), _applied(share.window), *limits
            )
        if part.conditions:
            body = Piecewise((body, SymAnd(*part.conditions)), (0, true))
        if part.sums:
            body = Sum(body, *((s.var, s.low, s.high) for s in reversed(part.sums)))
        total += body
    return total


def _applied(read):
    return Function(read.tensor)(*read.index)


def share_name(rule) -> str:
    """The JSON's function for a tie rule's share: ``FirstMax``, ``SplitMin``, ``AllMax``, ...

    ``FirstMax(cell, window, (p, a, b), (q, c, d))`` is 1 when ``cell`` is the first read of
    ``window`` (``p`` from ``a`` to ``b`` outer, ``q`` from ``c`` to ``d`` inner) at the
    window's largest value, else 0; ``SplitMax`` is ``1/t`` when ``cell`` holds the largest
    value, ``t`` the number of the window's reads that hold it, else 0; ``AllMax`` is 1 when
    ``cell`` holds the largest value, else 0. ``...Min``: the smallest.
    """
    return rule.ties.capitalize() + rule.extreme.capitalize()
