"""The fast constructors build exactly the expression SymPy's own ``Add``/``Mul`` would build.

"Exactly" means structurally: the same class, the same ``.args`` in the same order, the same
hash and the same commutativity. Every input either takes the fast path correctly or falls
back to SymPy; the strategies below mix the shapes the derivation builds (products of plain
symbols with rational coefficients) with the ones that must fall back (like terms, repeated
symbols, symbols with assumptions, noncommutative symbols, floats, infinities, powers).
"""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import Add, Float, Integer, Mul, Rational, S, Symbol, nan, oo, symbols, zoo

from symcnn import canonical

# Names that sort differently as strings and as numbers (``x_10`` < ``x_2``), and letters in
# the order the tensors use.
PLAIN = [
    Symbol(name)
    for name in ("b_0", "g_0_0_0_0", "g_0_0_0_10", "g_0_0_0_2", "w_0_0_1_1", "x_0_0_0_0", "x_1")
]
WITH_ASSUMPTIONS = [
    Symbol("a", positive=True),
    Symbol("x_1", integer=True),  # same name as a plain symbol: a different symbol
    Symbol("c", real=True),
]
NONCOMMUTATIVE = [Symbol("A", commutative=False), Symbol("B", commutative=False)]

rationals = st.fractions(max_denominator=7).map(
    lambda f: Rational(f.numerator, f.denominator)
) | st.sampled_from([S.Zero, S.One, S.NegativeOne, S.Half, Rational(-3, 2)])
odd_numbers = st.sampled_from([Float(1.0), Float(-2.5), oo, -oo, nan, zoo])
plain = st.sampled_from(PLAIN)
any_commutative_symbol = st.sampled_from(PLAIN + WITH_ASSUMPTIONS)


def assert_same(result, expected):
    """Structural identity: class, args (ordered), hash, commutativity, string."""
    assert type(result) is type(expected), (result, expected)
    assert result.args == expected.args, (result.args, expected.args)
    assert hash(result) == hash(expected)
    assert result.is_commutative == expected.is_commutative
    assert str(result) == str(expected)


@st.composite
def monomials(draw, symbol_strategy=plain, numbers=rationals):
    """``c * s1 * ... * sm`` built by SymPy (so in canonical form), m from 0 to 3."""
    coefficient = draw(numbers)
    factors = draw(st.lists(symbol_strategy, max_size=3))
    return Mul(coefficient, *factors)


# -- pair ---------------------------------------------------------------------------------------


@given(plain, plain)
def test_pair_of_plain_symbols_equals_mul(a, b):
    assert_same(canonical.pair(a, b), Mul(a, b))


@given(
    st.sampled_from(PLAIN + WITH_ASSUMPTIONS + NONCOMMUTATIVE) | rationals,
    st.sampled_from(PLAIN + WITH_ASSUMPTIONS + NONCOMMUTATIVE) | rationals,
)
def test_pair_of_anything_equals_mul(a, b):
    assert_same(canonical.pair(a, b), Mul(a, b))


def test_pair_keeps_noncommutative_order():
    """Regression: the fast path used to sort noncommutative factors by name (B*A -> A*B)."""
    a, b = NONCOMMUTATIVE
    assert_same(canonical.pair(b, a), Mul(b, a))
    assert canonical.pair(b, a) != canonical.pair(a, b)


def test_pair_orders_symbols_with_assumptions_like_sympy():
    """Regression: SymPy puts a plain symbol before one with assumptions, whatever the names."""
    positive_a, plain_b = Symbol("a", positive=True), Symbol("b")
    assert Mul(positive_a, plain_b).args == (plain_b, positive_a)
    assert_same(canonical.pair(positive_a, plain_b), Mul(positive_a, plain_b))


# -- product ------------------------------------------------------------------------------------


@given(st.lists(plain | rationals, max_size=5))
def test_product_of_plain_symbols_and_rationals_equals_mul(factors):
    assert_same(canonical.product(factors), Mul(*factors))


@given(
    st.lists(
        st.sampled_from(PLAIN + WITH_ASSUMPTIONS + NONCOMMUTATIVE) | rationals | odd_numbers,
        max_size=5,
    )
)
def test_product_of_anything_equals_mul(factors):
    assert_same(canonical.product(factors), Mul(*factors))


def test_product_with_nan_is_nan():
    """Regression: a NaN coefficient was kept as a factor (``nan*x``); SymPy gives ``nan``."""
    x = Symbol("x")
    assert canonical.product([nan, x]) is nan


# -- total --------------------------------------------------------------------------------------


@given(st.lists(monomials(), max_size=8))
def test_total_of_monomials_equals_add(terms):
    assert_same(canonical.total(terms), Add(*terms))


@given(st.lists(monomials(any_commutative_symbol), max_size=8))
def test_total_with_assumptions_equals_add(terms):
    assert_same(canonical.total(terms), Add(*terms))


@given(
    st.lists(
        monomials(
            st.sampled_from(PLAIN + WITH_ASSUMPTIONS + NONCOMMUTATIVE), rationals | odd_numbers
        )
        | st.sampled_from(PLAIN).map(lambda s: s**2),
        max_size=6,
    )
)
def test_total_of_anything_equals_add(terms):
    assert_same(canonical.total(terms), Add(*terms))


@given(st.lists(st.tuples(plain, plain), max_size=12))
def test_total_of_pairs_equals_add(pairs):
    """The derivation's own shape: sums of products of two symbols (like terms included)."""
    terms = [canonical.pair(a, b) for a, b in pairs]
    assert_same(canonical.total(terms), Add(*terms))


def test_total_collects_numbers():
    """Regression: two numbers were kept as separate terms (``x + 2 + 3``)."""
    x = Symbol("x")
    assert_same(canonical.total([Integer(2), Integer(3), x]), Add(2, 3, x))


def test_total_collects_like_terms():
    x, y = symbols("x y")
    assert canonical.total([x * y, 2 * x * y]) == 3 * x * y
    assert canonical.total([x, -x]) is S.Zero


@pytest.mark.parametrize("terms", [[], [S.Zero], [S.Zero, S.Zero]])
def test_total_of_nothing_is_zero(terms):
    assert canonical.total(terms) is S.Zero


def test_fast_path_is_taken_for_the_derivation_shape(monkeypatch):
    """The fast path is really used for sums of products of plain symbols (else no speed-up)."""

    class AddWithoutSorting:
        """Stands in for ``Add``: the fast path may use ``_from_args``, never the constructor."""

        _from_args = staticmethod(Add._from_args)

        def __new__(cls, *args):
            raise AssertionError("fell back to Add(*terms)")

    terms = [canonical.pair(a, b) for a, b in zip(PLAIN, reversed(PLAIN), strict=True)][:3]
    expected = Add(*terms, Rational(Fraction(1, 3)))
    monkeypatch.setattr(canonical, "Add", AddWithoutSorting)
    assert_same(canonical.total([*terms, Rational(Fraction(1, 3))]), expected)


# -- sum_of_products ----------------------------------------------------------------------------


def expanded_sum(pairs, scale=S.One):
    """What sum_of_products promises: SymPy's Add of scale * (term of a) * (term of b)."""
    return Add(
        *(
            Mul(scale, term_a, term_b)
            for a, b in pairs
            for term_a in Add.make_args(a)
            for term_b in Add.make_args(b)
        )
    )


chain_factors = plain | st.just(S.One)


@given(st.lists(st.tuples(chain_factors, chain_factors), max_size=12))
def test_sum_of_products_of_plain_pairs_equals_add(pairs):
    """The derivation's shape (x*w, b*1, g*x), with like terms and squares mixed in."""
    assert_same(canonical.sum_of_products(pairs), expanded_sum(pairs))


@given(st.lists(st.tuples(chain_factors, chain_factors), max_size=12), rationals)
def test_sum_of_products_of_plain_pairs_with_a_scale_equals_add(pairs, scale):
    """The mean reduction's shape: every term times 1/N (any rational here, 0 and -1 too)."""
    assert_same(canonical.sum_of_products(pairs, scale), expanded_sum(pairs, scale))


@given(
    st.lists(
        st.tuples(
            chain_factors | st.sampled_from(WITH_ASSUMPTIONS) | rationals,
            chain_factors | monomials() | st.lists(monomials(), max_size=3).map(lambda t: Add(*t)),
        ),
        max_size=6,
    ),
    rationals,
)
def test_sum_of_products_of_anything_equals_add(pairs, scale):
    assert_same(canonical.sum_of_products(pairs, scale), expanded_sum(pairs, scale))


def test_sum_of_products_fast_path_for_convolution_entries(monkeypatch):
    """A bias plus products of plain symbols never reaches the generic path."""
    x, w = PLAIN[5], PLAIN[4]
    b, g = PLAIN[0], PLAIN[1]
    pairs = [(x, w), (S.One, b), (g, x)]
    expected = expanded_sum(pairs)

    def refuse(*args):
        raise AssertionError("fell back to total()")

    monkeypatch.setattr(canonical, "total", refuse)
    assert_same(canonical.sum_of_products(pairs), expected)
    assert_same(
        canonical.sum_of_products(pairs, Rational(1, 3)), expanded_sum(pairs, Rational(1, 3))
    )


# -- the bare product constructor ---------------------------------------------------------------


def test_products_are_built_bare_and_equal_sympys():
    """On this SymPy the import-time check passes: the fast constructor is in use."""
    assert canonical.new_product is canonical._bare_product
    x, y = PLAIN[4], PLAIN[5]
    assert_same(canonical.new_product((x, y)), Mul._from_args((x, y), True))


def test_bare_products_keep_sympys_assumption_bookkeeping():
    """Asking a bare product an assumption must not write into Mul's shared defaults."""
    defaults = dict(Mul.default_assumptions)
    positive = Symbol("p", positive=True)
    made = canonical.new_product((PLAIN[4], PLAIN[5]))
    assert made.is_positive is None and made.is_commutative is True
    assert dict(Mul.default_assumptions) == defaults
    assert Mul(positive, positive * 2).is_positive is True


def test_the_import_check_refuses_a_builder_that_differs():
    def noncommutative(factors):
        made = canonical._bare_product(factors)
        made.is_commutative = False
        return made

    assert canonical._builds_what_sympy_builds(canonical._sympy_product)
    assert not canonical._builds_what_sympy_builds(noncommutative)
    assert not canonical._builds_what_sympy_builds(lambda factors: Add(*factors))
