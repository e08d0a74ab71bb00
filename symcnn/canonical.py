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


def _sympy_product(factors: Sequence[Basic]) -> Basic:
    """``Mul._from_args(factors, True)``: a commutative product of factors already in order."""
    return Mul._from_args(tuple(factors), True)


def _bare_product(factors: Sequence[Basic]) -> Basic:
    """What ``Mul._from_args(factors, True)`` builds (two factors or more), without its checks.

    ``_from_args`` is ``Basic.__new__`` (three attributes) plus the commutativity flag, behind a
    classmethod, ``super()`` and ``*args``; for a product of two symbols that wrapping costs
    three times the object (measured: 1.5 us against 0.4 us), and the derivation makes one
    product per term (260,000 for LeNet's first layer). Used only while it provably builds the
    same object (:func:`_builds_what_sympy_builds`, run at import).
    """
    made = _new_object(Mul)
    made._assumptions = _MUL_ASSUMPTIONS  # shared until first written, as SymPy does
    made._mhash = None
    made._args = tuple(factors)
    made.is_commutative = True
    return made


_new_object = object.__new__
_MUL_ASSUMPTIONS = Mul.default_assumptions


def _builds_what_sympy_builds(build) -> bool:
    """True when ``build`` makes the very object ``Mul._from_args`` makes: class, every slot."""
    factors = (Symbol("_a"), Symbol("_b"))
    made, expected = build(factors), Mul._from_args(factors, True)
    slots = {name for cls in Mul.__mro__ for name in getattr(cls, "__slots__", ())}
    return (
        type(made) is type(expected)
        and not hasattr(expected, "__dict__")
        and all(getattr(made, n, None) is getattr(expected, n, None) for n in slots - {"_args"})
        and made._args == expected._args
        and made == expected
    )


#: Builds the products of the fast paths: bare while that equals SymPy's own, else SymPy's.
new_product = _bare_product if _builds_what_sympy_builds(_bare_product) else _sympy_product


def pair(a: Basic, b: Basic) -> Basic:
    """``a * b``, built directly for two plain symbols of different names (``x*w``, ``g*x``)."""
    if is_plain(a) and is_plain(b):
        name_a, name_b = a.name, b.name
        if name_a < name_b:
            return new_product((a, b))
        if name_b < name_a:
            return new_product((b, a))
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
    if not symbols:
        return coefficient
    symbols.sort(key=lambda s: s.name)
    if coefficient is S.One:
        return symbols[0] if len(symbols) == 1 else new_product(symbols)
    return new_product((coefficient, *symbols))


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
    a gradient entry a sum of ``partial * upstream`` (times 1/N for the mean). When every pair
    is two plain symbols of different names (or a plain symbol and 1) and ``scale`` a nonzero
    rational, the sum is built directly: a lone symbol sorts before every product, and
    products of two plain symbols sort by their two names, so the pair of names is the whole
    sort key. Anything else is expanded term by term (a sum in a pair contributes each of its
    terms) and built by :func:`total`.

    >>> from sympy import symbols
    >>> b, w, x, g = symbols("b w x g")
    >>> sum_of_products([(x, w), (b, S.One)])
    b + w*x
    >>> sum_of_products([(x + b, g)], Rational(1, 2))
    b*g/2 + g*x/2
    """
    if isinstance(scale, Rational) and scale is not S.Zero:
        built = _sum_of_plain_pairs(pairs, scale)
        if built is not None:
            return built
    return total(
        product((scale, *Mul.make_args(term_a), *Mul.make_args(term_b)))
        for a, b in pairs
        for term_a in Add.make_args(a)
        for term_b in Add.make_args(b)
    )


def _sum_of_plain_pairs(pairs: Sequence[tuple[Basic, Basic]], scale: Rational) -> Basic | None:
    """The fast path of :func:`sum_of_products`; None when a pair is outside it.

    With a scale other than 1 every term carries the same coefficient (``scale*a*b``,
    ``scale*a``), which ``Basic.compare`` meets first and finds equal, so the order is the same
    as for scale 1. Runs once per term of a derivation, hence the local names for globals.
    """
    one, plain = S.One, _PLAIN
    lone, keyed = [], []
    for a, b in pairs:
        if a is one:
            a, b = b, a
        if type(a) is not Symbol or a._assumptions0 != plain:
            return None
        if b is one:
            lone.append((a.name, a))
            continue
        if type(b) is not Symbol or b._assumptions0 != plain:
            return None
        name_a, name_b = a.name, b.name
        if name_a < name_b:
            keyed.append(((name_a, name_b), (a, b)))
        elif name_b < name_a:
            keyed.append(((name_b, name_a), (b, a)))
        else:
            return None  # a square
    if len({key for key, _ in keyed}) != len(keyed) or len({n for n, _ in lone}) != len(lone):
        return None  # like terms to collect
    lone.sort(key=itemgetter(0))
    keyed.sort(key=itemgetter(0))
    if scale is one:
        args = [a for _, a in lone] + [new_product(factors) for _, factors in keyed]
    else:
        args = [new_product((scale, a)) for _, a in lone]
        args += [new_product((scale, *factors)) for _, factors in keyed]
    if len(args) < 2:
        return args[0] if args else S.Zero
    return Add._from_args(args, True)
