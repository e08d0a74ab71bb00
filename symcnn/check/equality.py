"""Exact equality of a claim and the derivation, polynomial or piecewise.

Convolution gradients are polynomials: equal when ``expand(a - b)`` is zero. Max and min pooling
gradients are piecewise: a condition on how a window's entries compare decides who receives
the upstream gradient. The upstream gradient enters linearly, ``sum_k g_k c_k(x)``, so the
coefficient ``c_k`` of each ``g_k`` (and the rest) is compared on its own; it depends only on
the entries of window k. Those are compared on every *ordering* of the entries, ties included:
the values ``0 .. n-1`` over ``n`` entries reach every weak ordering, and a max/min gradient
depends on nothing else.

Past :data:`EXHAUSTIVE` entries the orderings are too many: every assignment of three levels
(``0, 1, 2``) is tried up to :data:`THREE_LEVELS` entries, which still covers every set of tied
extremes and every ordering of a pair, and a fixed sample of them beyond; the result says so
(``exhaustive`` False).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction

from sympy import Basic, Max, Min, Piecewise, S, Symbol, expand
from sympy.core.relational import Relational
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..evaluate import value_of

#: Most input entries compared on all their orderings (n**n assignments).
EXHAUSTIVE = 4
#: Most entries compared on all three-level assignments (3**n); above, a fixed sample of them.
THREE_LEVELS = 7
SAMPLE = 2_000


@dataclass(frozen=True)
class Verdict:
    """Whether two expressions are equal; when not, an assignment where they differ."""

    equal: bool
    where: dict[Symbol, Fraction] | None = None
    exhaustive: bool = True


def is_polynomial(expr: Basic) -> bool:
    """True when ``expr`` holds no condition, extremum, or division by a variable."""
    if isinstance(expr, Relational | BooleanFunction | BooleanAtom):
        return False
    return not expr.has(Piecewise, Max, Min) and expr.is_polynomial()


def compare(left: Basic, right: Basic) -> Verdict:
    """Exact comparison: by expansion for polynomials, by orderings for piecewise expressions."""
    if left == right:
        return Verdict(True)
    if is_polynomial(left) and is_polynomial(right):
        return Verdict(expand(left - right) == 0)
    return _by_orderings(left, right)


def equal(left: Basic, right: Basic) -> bool:
    return compare(left, right).equal


def _assignments(count: int) -> tuple[object, bool]:
    """Values for ``count`` entries: every ordering, every 3-level pattern, or a fixed sample."""
    if count <= EXHAUSTIVE:
        return itertools.product(range(count), repeat=count), True
    if count <= THREE_LEVELS:
        return itertools.product(range(3), repeat=count), False
    generator = random.Random(count)  # seeded: the same sample on every run
    return (tuple(generator.randrange(3) for _ in range(count)) for _ in range(SAMPLE)), False


def _by_orderings(left: Basic, right: Basic) -> Verdict:
    """Compare the coefficient of each upstream entry (and the rest) on orderings of its inputs.

    dL/dO enters linearly, so ``expr = c_0(x) + sum_k g_k c_k(x)``; each ``c_k`` depends only on
    the entries of window k, a handful of symbols where the whole expression may hold dozens.
    """
    symbols = left.free_symbols | right.free_symbols
    upstream = sorted((s for s in symbols if s.name.startswith("g_")), key=lambda s: s.name)
    exhaustive = True
    for unit in [None, *upstream]:  # every g = 0, then each g = 1 alone
        chosen = {g: S.One if g == unit else S.Zero for g in upstream}
        left_part, right_part = left.xreplace(chosen), right.xreplace(chosen)
        if left_part == right_part:
            continue
        entries = sorted(left_part.free_symbols | right_part.free_symbols, key=lambda s: s.name)
        assignments, complete = _assignments(len(entries))
        exhaustive = exhaustive and complete
        for assignment in assignments:
            point = {s: Fraction(v) for s, v in zip(entries, assignment, strict=True)}
            if _value(left_part, point) != _value(right_part, point):
                where = {**point, **{g: Fraction(int(v)) for g, v in chosen.items()}}
                return Verdict(False, where, exhaustive)
    return Verdict(True, None, exhaustive)


def _value(expr: Basic, point: dict) -> Fraction | None:
    """The exact value at ``point``; None where it is undefined (no branch, division by 0)."""
    try:
        return value_of(expr, point)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
