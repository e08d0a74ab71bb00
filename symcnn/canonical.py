"""Build SymPy sums and products in canonical form without SymPy's generic re-sorting.

``Add(*terms)`` and ``Mul(*factors)`` sort their arguments with ``Basic.compare`` through
``cmp_to_key``; for the hundreds of thousands of terms of a real layer that sort dominates the
whole derivation (measured: 3.4 s for LeNet's first layer against 0.4 s with the key below). The
terms symcnn builds are narrow (products of plain symbols with a rational coefficient), so a
plain tuple key reproduces ``Basic.compare`` for them exactly. Anything outside that shape falls
back to SymPy's own constructors, so the result is always the expression SymPy would build:
``tests/test_canonical.py`` holds that line against ``Add(*args)`` and ``Mul(*args)``.

A *plain* symbol is a ``Symbol`` created without assumptions (the tensors' symbols are). Symbols
with assumptions order differently (``Basic.compare`` looks at the length of their assumption
list before their name) and noncommutative ones must not be reordered at all, so they take the
fallback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter

from sympy import Add, Basic, Mul, Rational, S, Symbol
from sympy.core.basic import ordering_of_classes

_CLASS_RANK = {name: rank for rank, name in enumerate(ordering_of_classes)}
_SYMBOL, _MUL = _CLASS_RANK["Symbol"], _CLASS_RANK["Mul"]
#: The assumptions of ``Symbol("x")``: commutative and nothing else.
_PLAIN = Symbol("_plain")._assumptions0


class _Unkeyable(Exception):
    """An argument whose canonical key is not reproduced here: use SymPy's constructor."""


def is_plain(expr: Basic) -> bool:
    """True for a ``Symbol`` without assumptions (only those take the fast paths).

    >>> is_plain(Symbol("x")), is_plain(Symbol("x", positive=True))
    (True, False)
    """
    return type(expr) is Symbol and expr._assumptions0 == _PLAIN


def _keyed(expr: Basic) -> tuple[tuple, tuple[str, ...]]:
    """``(key, monomial)``: a key that orders like ``Basic.compare``, and the symbol names.

    For plain symbols, rationals and their products ``Basic.compare`` orders by class
    (``ordering_of_classes``), then by the length of the hashable content (a ``Mul``'s content
    is its arguments, a ``Rational``'s is ``(p, q)``), then item by item; a plain symbol's
    content is its name alone. The monomial (the names of the symbols, without the coefficient)
    tells which terms SymPy would collect into one.
    """
    cls = type(expr)
    if cls is Symbol:
        if expr._assumptions0 != _PLAIN:
            raise _Unkeyable
        return (_SYMBOL, expr.name), (expr.name,)
    if cls is Mul:
        args = expr._args
        if len(args) == 2:  # the bulk of every convolution: a product of two symbols
            a, b = args
            if is_plain(a) and is_plain(b):
                return (_MUL, 2, ((_SYMBOL, a.name), (_SYMBOL, b.name))), (a.name, b.name)
        keys, names = [], []
        for arg in args:
            key, monomial = _keyed(arg)
            if key[0] == _MUL:
                raise _Unkeyable  # not a canonical Mul
            keys.append(key)
            names.extend(monomial)
        return (_MUL, len(args), tuple(keys)), tuple(names)
    rank = _CLASS_RANK.get(cls.__name__)
    if rank is None or not isinstance(expr, Rational):
        raise _Unkeyable
    return (rank, expr.p, expr.q), ()


def pair(a: Basic, b: Basic) -> Basic:
    """``a * b``, built directly for two plain symbols of different names (``x*w``, ``g*x``)."""
    if is_plain(a) and is_plain(b):
        name_a, name_b = a.name, b.name
        if name_a < name_b:
            return Mul._from_args((a, b), True)
        if name_b < name_a:
            return Mul._from_args((b, a), True)
    return product((a, b))


def product(factors: Iterable[Basic]) -> Basic:
    """``Mul(*factors)``; built directly for distinct plain symbols and at most one rational."""
    factors = list(factors)
    numbers = [f for f in factors if f.is_Number]
    symbols = [f for f in factors if not f.is_Number]
    names = [s.name for s in symbols if is_plain(s)]
    simple = (
        len(numbers) <= 1
        and all(isinstance(n, Rational) for n in numbers)
        and len(names) == len(symbols)
        and len(set(names)) == len(names)
    )
    if not simple:
        return Mul(*factors)
    coefficient = numbers[0] if numbers else S.One
    if coefficient is S.Zero:
        return S.Zero
    symbols.sort(key=lambda s: s.name)
    if coefficient is S.One:
        return symbols[0] if len(symbols) == 1 else Mul._from_args(symbols, True)
    if not symbols:
        return coefficient
    return Mul._from_args([coefficient, *symbols], True)


def total(terms: Iterable[Basic]) -> Basic:
    """``Add(*terms)``; built directly when the terms are monomials that need no collecting.

    Two terms need collecting when they have the same symbols (``x*y`` and ``2*x*y``), and two
    numbers always do; then, or for any term outside the keyed shapes, SymPy builds the sum.
    """
    terms = [t for t in terms if t is not S.Zero]
    if len(terms) < 2:
        return terms[0] if terms else S.Zero
    try:
        keyed = [(*_keyed(t), t) for t in terms]
    except _Unkeyable:
        return Add(*terms)
    if len({monomial for _, monomial, _ in keyed}) != len(keyed):
        return Add(*terms)  # like terms to collect: SymPy's job
    keyed.sort(key=itemgetter(0))
    return Add._from_args([t for _, _, t in keyed], True)


def sum_of_products(pairs: Sequence[tuple[Basic, Basic]], scale: Rational = S.One) -> Basic:
    """``scale * sum(a * b for a, b in pairs)``, expanded: SymPy's ``Add`` of every term product.

    The chain rule in one call: a convolution's output entry is a sum of ``x * w`` (and ``b * 1``),
    a gradient entry a sum of ``partial * upstream``. When ``scale`` is 1 and every pair is two
    plain symbols of different names (or a plain symbol and 1), the sum is built directly: a
    lone symbol sorts before every product, and products of two plain symbols sort by their
    two names, so the pair of names is the whole sort key. Anything else is expanded term by
    term (a sum in a pair contributes each of its terms) and built by :func:`total`.

    >>> from sympy import symbols
    >>> b, w, x, g = symbols("b w x g")
    >>> sum_of_products([(x, w), (b, S.One)])
    b + w*x
    >>> sum_of_products([(x + b, g)], Rational(1, 2))
    b*g/2 + g*x/2
    """
    lone, keyed = [], []
    if scale is S.One:
        for a, b in pairs:
            if a is S.One:
                a, b = b, a
            if type(a) is Symbol and a._assumptions0 == _PLAIN:
                if b is S.One:
                    lone.append((a.name, a))
                    continue
                if type(b) is Symbol and b._assumptions0 == _PLAIN:
                    name_a, name_b = a.name, b.name
                    if name_a < name_b:
                        keyed.append(((name_a, name_b), (a, b)))
                        continue
                    if name_b < name_a:
                        keyed.append(((name_b, name_a), (b, a)))
                        continue
            break  # outside the fast shape
        else:
            distinct = len({key for key, _ in keyed}) == len(keyed)
            if distinct and len({name for name, _ in lone}) == len(lone):
                lone.sort(key=itemgetter(0))
                keyed.sort(key=itemgetter(0))
                args = [a for _, a in lone] + [Mul._from_args(ab, True) for _, ab in keyed]
                if len(args) < 2:
                    return args[0] if args else S.Zero
                return Add._from_args(args, True)
    return total(
        product((scale, *Mul.make_args(term_a), *Mul.make_args(term_b)))
        for a, b in pairs
        for term_a in Add.make_args(a)
        for term_b in Add.make_args(b)
    )
