"""Exact equality of a claim and the derivation, polynomial, piecewise or neither.

Convolution gradients are polynomials: equal when ``expand(a - b)`` is zero. Max and min pooling
gradients are piecewise: a condition on how a window's entries compare decides who receives
the upstream gradient. The upstream gradient enters linearly, ``sum_k g_k c_k(x)``, so the
coefficient ``c_k`` of each ``g_k`` (and the rest) is compared on its own; it depends only on
the entries of window k. A coefficient whose entries are only *compared* (each sits in a
relational between entries or their Max/Min) is constant on each weak ordering of them, so it is
compared on every weak ordering (:func:`symcnn.identities.weak_orderings`): a proof up to
:data:`symcnn.identities.EXHAUSTIVE_CELLS` entries, a seeded sample past them.

Anything else (a condition against a constant, ``Abs``, a division, ``tanh``) is compared by
value at points: exactly, with rationals, when both sides are rational functions, extrema and
piecewise expressions; otherwise at :data:`DIGITS` significant digits. The points are weak
orderings of the entries (shifted to reach negative values and zero), the kinks (points where a
condition or a Max/Min argument changes, e.g. ``x = 0`` for ``Piecewise((g, x > 0), (0, True))``)
and seeded random rationals of both signs. Such an equal verdict is a test, not a proof: the
result's ``method`` says which comparison decided it.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from fractions import Fraction

from sympy import (
    Abs,
    Add,
    And,
    Basic,
    Max,
    Min,
    Mul,
    Not,
    Or,
    Piecewise,
    Pow,
    Rational,
    S,
    Symbol,
    ceiling,
    expand,
    floor,
    sign,
)
from sympy.core.relational import Relational
from sympy.functions.elementary.piecewise import ExprCondPair
from sympy.logic.boolalg import BooleanAtom, BooleanFunction

from ..evaluate import value_of
from ..identities import EXHAUSTIVE_CELLS, weak_orderings
from ..tensors import parse_symbol

#: Significant digits of the numeric comparison (expressions that are not exactly computable).
DIGITS = 50
#: Relative difference below which two numeric values count as equal.
TOLERANCE = Fraction(1, 10**40)
#: Most points tried by value: exactly (cheap) and numerically (an evalf each).
EXACT_POINTS = 600
NUMERIC_POINTS = 60
#: Random points added to the orderings and kinks, and the kink points per switching expression.
RANDOM_POINTS = 40
KINKS_PER_SWITCH = 3

#: The methods, weakest last: the verdict reports the weakest any part of it needed.
EXACT = "exact"
EXHAUSTIVE = "exhaustive"
_RANKS = ("exact", "exhaustive", "orderings", "exact evaluation", "numeric")


@dataclass(frozen=True)
class Verdict:
    """Whether two expressions are equal; when not, an assignment where they differ.

    ``method`` is how it was decided: ``"exact"`` (the same expression, or a polynomial
    difference that expands to 0), ``"exhaustive"`` (every weak ordering of the compared
    entries), ``"orderings (N sampled)"``, ``"exact evaluation (N points)"`` or
    ``"numeric (50 digits, N points)"``. ``exhaustive`` is True for the first two (proofs).
    """

    equal: bool
    where: dict[Symbol, Fraction] | None = None
    exhaustive: bool = True
    method: str = EXACT


def is_polynomial(expr: Basic) -> bool:
    """True when ``expr`` holds no condition, extremum, or division by a variable."""
    if isinstance(expr, Relational | BooleanFunction | BooleanAtom):
        return False
    return not expr.has(Piecewise, Max, Min) and expr.is_polynomial()


def compare(left: Basic, right: Basic) -> Verdict:
    """Exact comparison: by expansion, by orderings, or by value at points (see the module)."""
    if left == right:
        return Verdict(True)
    if is_polynomial(left) and is_polynomial(right):
        return Verdict(expand(left - right) == 0)
    return _by_parts(left, right)


def equal(left: Basic, right: Basic) -> bool:
    return compare(left, right).equal


def is_upstream(symbol: Basic) -> bool:
    """True for an entry of dL/dO (``g_n_k_i_j``)."""
    if not isinstance(symbol, Symbol):
        return False
    parsed = parse_symbol(symbol)
    return parsed is not None and parsed[0] == "G"


def _weakest(methods: list[str]) -> str:
    return max(methods, key=lambda m: _RANKS.index(m.split(" (")[0]), default=EXACT)


def _by_parts(left: Basic, right: Basic) -> Verdict:
    """Compare the coefficient of each upstream entry (and the rest) on its own.

    dL/dO enters linearly, so ``expr = c_0(x) + sum_k g_k c_k(x)``; each ``c_k`` depends only on
    the entries of window k, a handful of symbols where the whole expression may hold dozens.
    A side not linear in the upstream entries is compared whole, every symbol a variable.
    """
    symbols = left.free_symbols | right.free_symbols
    upstream = sorted((s for s in symbols if is_upstream(s)), key=lambda s: s.name)
    if not (_linear(left, set(upstream)) and _linear(right, set(upstream))):
        upstream = []
    methods = []
    for unit in [None, *upstream]:  # every g = 0, then each g = 1 alone
        chosen = {g: S.One if g == unit else S.Zero for g in upstream}
        left_part, right_part = left.xreplace(chosen), right.xreplace(chosen)
        if left_part == right_part:
            continue
        polynomials = is_polynomial(left_part) and is_polynomial(right_part)
        if polynomials and expand(left_part - right_part) == 0:
            continue
        where, method = _part(left_part, right_part)
        methods.append(method)
        if where is not None:
            where = {**where, **{g: Fraction(int(v)) for g, v in chosen.items()}}
            return Verdict(False, where, _proof(methods), _weakest(methods))
        if method.startswith("polynomial"):  # unequal, with no point found to show it
            return Verdict(False, None, True, EXACT)
    return Verdict(True, None, _proof(methods), _weakest(methods))


def _proof(methods: list[str]) -> bool:
    return all(m in (EXACT, EXHAUSTIVE) for m in methods)


def _part(left: Basic, right: Basic) -> tuple[dict | None, str]:
    """(a point where they differ or None, the method) for two parts known not identical."""
    entries = sorted(left.free_symbols | right.free_symbols, key=lambda s: s.name)
    if _reads_order_only(left) and _reads_order_only(right):
        count = 0
        for ranks in weak_orderings(len(entries)):
            count += 1
            point = {s: Fraction(v) for s, v in zip(entries, ranks, strict=True)}
            if _exact(left, point) != _exact(right, point):
                return point, _orderings_method(len(entries), count)
        return None, _orderings_method(len(entries), count)
    exactly = _computable(left) and _computable(right)
    limit = EXACT_POINTS if exactly else NUMERIC_POINTS
    count = 0
    for point in itertools.islice(_points(left, right, entries), limit):
        count += 1
        if exactly:
            differs = _exact(left, point) != _exact(right, point)
        else:
            differs = not _close(_numeric(left, point), _numeric(right, point))
        if differs:
            return point, _points_method(exactly, count)
    if is_polynomial(left) and is_polynomial(right):
        return None, "polynomial"  # expand said unequal; the points found no witness
    return None, _points_method(exactly, count)


def _orderings_method(count: int, tried: int) -> str:
    return EXHAUSTIVE if count <= EXHAUSTIVE_CELLS else f"orderings ({tried} sampled)"


def _points_method(exactly: bool, count: int) -> str:
    points = f"{count} point" + ("s" if count != 1 else "")
    if exactly:
        return f"exact evaluation ({points})"
    return f"numeric ({DIGITS} digits, {points})"


# -- what the expressions are ---------------------------------------------------------------------


def _linear(expr: Basic, upstream: set) -> bool:
    """True when ``expr`` is linear in the upstream symbols (each term at most one, once)."""
    if not expr.free_symbols & upstream:
        return True
    if isinstance(expr, Symbol):
        return True
    if isinstance(expr, Add):
        return all(_linear(arg, upstream) for arg in expr.args)
    if isinstance(expr, Mul):
        holding = [arg for arg in expr.args if arg.free_symbols & upstream]
        return len(holding) == 1 and _linear(holding[0], upstream)
    if isinstance(expr, Piecewise):
        return all(
            not condition.free_symbols & upstream and _linear(value, upstream)
            for value, condition in expr.args
        )
    return False


def _reads_order_only(expr: Basic) -> bool:
    """True when every symbol of ``expr`` is only compared: it sits in a relational whose two
    sides are symbols or Max/Min of symbols, so the value depends on the entries' order alone."""
    if isinstance(expr, Relational):
        return all(_compared_term(side) for side in expr.args)
    if isinstance(expr, Symbol):
        return False
    return all(_reads_order_only(arg) for arg in expr.args)


def _compared_term(expr: Basic) -> bool:
    if isinstance(expr, Symbol):
        return True
    return isinstance(expr, Max | Min) and all(_compared_term(arg) for arg in expr.args)


#: Nodes whose value at rational inputs is rational (or a truth value).
_RATIONAL_NODES = (
    Symbol,
    Rational,
    Add,
    Mul,
    Max,
    Min,
    Piecewise,
    ExprCondPair,
    Relational,
    And,
    Or,
    Not,
    BooleanAtom,
    Abs,
    sign,
    floor,
    ceiling,
)


def _computable(expr: Basic) -> bool:
    """True when ``expr`` at rational inputs is an exact rational (or undefined)."""
    if isinstance(expr, Pow):
        return expr.exp.is_Integer and _computable(expr.base)
    if not isinstance(expr, _RATIONAL_NODES):
        return False
    return all(_computable(arg) for arg in expr.args)


# -- values ---------------------------------------------------------------------------------------


def _exact(expr: Basic, point: dict) -> Fraction | None:
    """The exact value at ``point``; None where it is undefined (no branch, division by 0)."""
    try:
        return value_of(expr, point)
    except (ValueError, ZeroDivisionError, TypeError):
        return None


def _numeric(expr: Basic, point: dict):
    """The value at ``point`` to :data:`DIGITS` digits (conditions decided exactly); None where
    it is undefined or not a real number."""
    exact = {s: Rational(v.numerator, v.denominator) for s, v in point.items()}
    try:
        value = expr.xreplace(exact).evalf(DIGITS)
    except (ValueError, ZeroDivisionError, TypeError):
        return None
    if not value.is_number or value.is_finite is False or not value.is_extended_real:
        return None
    return value


def _close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    scale = max(1, abs(a), abs(b))
    return abs(a - b) <= TOLERANCE * scale


# -- points ---------------------------------------------------------------------------------------


def _points(left: Basic, right: Basic, entries: list[Symbol]):
    """Zero, the kinks, weak orderings of both signs, then seeded random rationals."""
    count = len(entries)
    generator = random.Random(count)  # seeded: the same points on every run
    yield {s: Fraction(0) for s in entries}
    yield from _kinks(left, right, entries, generator)
    orderings = weak_orderings(count)
    for ranks in itertools.islice(orderings, 200):
        top = max(ranks, default=0)
        for shift in (0, -top, -((top + 1) // 2)):
            yield {s: Fraction(r + shift) for s, r in zip(entries, ranks, strict=True)}
    for _ in range(RANDOM_POINTS):
        yield {s: _random_rational(generator) for s in entries}


def _random_rational(generator: random.Random) -> Fraction:
    return Fraction(generator.randint(-40, 40), generator.randint(1, 9))


def _kinks(left: Basic, right: Basic, entries: list[Symbol], generator: random.Random):
    """Points where a condition, an extremum's argument or an Abs/sign changes: each switching
    expression solved for one of its symbols (where it is linear in it), the others random."""
    switches = []
    for expr in (left, right):
        for node in expr.atoms(Relational, Max, Min, Abs, sign, floor, ceiling):
            if isinstance(node, Relational):
                switches.append(node.lhs - node.rhs)
            elif isinstance(node, Max | Min):
                switches += [a - b for a, b in itertools.combinations(node.args, 2)]
            else:
                switches.append(node.args[0])
    seen = set()
    for switch in switches:
        if switch in seen or not switch.free_symbols:
            continue
        seen.add(switch)
        for symbol in sorted(switch.free_symbols, key=lambda s: s.name):
            for attempt in range(KINKS_PER_SWITCH):
                base = {
                    s: Fraction(0) if attempt == 0 else _random_rational(generator) for s in entries
                }
                root = _root(switch, symbol, base)
                if root is not None:
                    yield {**base, symbol: root}


def _root(switch: Basic, symbol: Symbol, base: dict) -> Fraction | None:
    """The value of ``symbol`` where ``switch`` is 0, others at ``base``; None unless linear."""
    others = {s: Rational(v.numerator, v.denominator) for s, v in base.items() if s != symbol}
    reduced = switch.xreplace(others)
    if not is_polynomial(reduced):
        return None
    poly = expand(reduced)
    slope, rest = poly.coeff(symbol, 1), poly.coeff(symbol, 0)
    if not (slope.is_Rational and rest.is_Rational) or slope == 0:
        return None
    if expand(poly - slope * symbol - rest) != 0:
        return None  # not linear in the symbol
    root = -rest / slope
    return Fraction(int(root.p), int(root.q))
