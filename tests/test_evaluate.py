"""symcnn.evaluate: exact values of expressions, against SymPy's own substitution."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import (
    Abs,
    And,
    Eq,
    Integer,
    Max,
    Min,
    Ne,
    Not,
    Or,
    Piecewise,
    Rational,
    floor,
    sqrt,
    symbols,
)

from symcnn.derive import derive
from symcnn.evaluate import EVALUATORS, bind, evaluate, exact
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import MaxPool2d
from symcnn.tensors import symbol_array

x, y, z = symbols("x y z")


def test_returns_sympy_rationals_shaped_like_the_input():
    out = evaluate(np.array([[x + y, x * y], [x / y, Integer(7)]], dtype=object), {x: 1, y: 2})
    assert out.shape == (2, 2) and out.dtype == object
    assert out.tolist() == [[3, 2], [Rational(1, 2), 7]]
    assert all(isinstance(value, Rational) for value in out.flat)


def test_piecewise_takes_its_first_true_branch():
    expr = Piecewise((1, x > y), (2, x >= y), (3, True))
    assert [evaluate([expr], {x: a, y: 1})[0] for a in (2, 1, 0)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        (Max(x, y, z), 3),
        (Min(x, y, z), -1),
        (Piecewise((1, Eq(x, 3)), (0, True)), 1),
        (Piecewise((1, Ne(x, 3)), (0, True)), 0),
        (Piecewise((1, And(x > y, y < z)), (0, True)), 1),
        (Piecewise((1, And(x > y, y > z)), (0, True)), 0),
        (Piecewise((1, Or(x < y, Not(z > y))), (0, True)), 0),
        (Piecewise((1, (x <= 3) & (y >= -1)), (0, True)), 1),
        (1 / (y - x), Rational(-1, 4)),
        ((x + y) ** 2 / 3, Rational(4, 3)),
        (Abs(y - x), 4),  # through the SymPy fallback
        (floor(x / 2), 1),  # through the SymPy fallback
    ],
    ids=str,
)
def test_node_types(expr, expected):
    assert evaluate([expr], {x: 3, y: -1, z: 2})[0] == expected


def test_ties_are_exact():
    third = Fraction(1, 3)
    tied = Piecewise((1, Eq(x, y)), (0, True))
    assert evaluate([tied], {x: third, y: Rational(1, 3)})[0] == 1
    assert evaluate([tied], {x: 0.1, y: Fraction(1, 10)})[0] == 0  # 0.1 is not 1/10


@pytest.mark.parametrize("value", [True, "1", None, float("nan"), float("inf"), 1j])
def test_refuses_values_that_are_not_exact_numbers(value):
    with pytest.raises(ValueError, match="is not valid: expected"):
        evaluate([x], {x: value})


def test_accepts_every_exact_kind_of_number():
    values = [3, np.int64(3), Fraction(3), Rational(3), Integer(3), 3.0]
    assert [evaluate([x], {x: v})[0] for v in values] == [3] * len(values)
    assert exact(0.1) == Fraction(3602879701896397, 36028797018963968)


def test_a_missing_symbol_is_named():
    with pytest.raises(ValueError, match="no value for the symbol y"):
        evaluate([x + y], {x: 1})
    with pytest.raises(ValueError, match="no value for the symbol y"):
        evaluate([Abs(x + y)], {x: 1})  # the fallback names it too


def test_no_value_where_there_is_none():
    with pytest.raises(ValueError, match="divides by zero"):
        evaluate([1 / (x - y)], {x: 1, y: 1})
    with pytest.raises(ValueError, match="no branch"):
        evaluate([Piecewise((1, x > 0))], {x: -1})
    with pytest.raises(ValueError, match="not an exact rational"):
        evaluate([sqrt(x)], {x: 2})
    with pytest.raises(ValueError, match="a condition, not a number"):
        evaluate([x > 1], {x: 2})


def test_bind_pairs_symbols_with_numbers_of_the_same_shape():
    names = symbol_array("x", (2, 2))
    assert bind(names, [[1, 2], [3, Fraction(1, 2)]])[names[1, 1]] == Fraction(1, 2)
    with pytest.raises(ValueError, match=r"shape \(3,\): expected \(2, 2\)"):
        bind(names, [1, 2, 3])


def test_every_table_entry_is_exercised_by_a_pool_or_a_conv():
    # The conv gradient is a polynomial and the split rule uses every relational and Pow.
    conv = derive(Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
    pool = derive(MaxPool2d(input_shape=(3, 3), kernel=2, stride=1, ties="split"))
    rng = np.random.default_rng(0)
    for d in (conv, pool):
        values = {}
        for array in (d.tensors.X, d.tensors.W, d.tensors.B):
            if array is not None:
                values |= bind(array, rng.integers(-2, 3, size=array.shape))
        values |= bind(d.tensors.G, rng.integers(-2, 3, size=d.tensors.G.shape))
        for grad in d.grads.values():
            slow = np.vectorize(lambda e, v=values: e.subs(v), otypes=[object])(grad)
            assert evaluate(grad, values).tolist() == slow.tolist()
    assert Max in EVALUATORS and Piecewise in EVALUATORS


small = st.fractions(min_value=-5, max_value=5, max_denominator=4)
leaves = st.sampled_from([x, y, z, Integer(2), Rational(-1, 3)])


def _combine(children):
    pair = st.tuples(children, children)
    return st.one_of(
        pair.map(lambda p: p[0] + p[1]),
        pair.map(lambda p: p[0] * p[1]),
        pair.map(lambda p: Max(*p)),
        pair.map(lambda p: Min(*p)),
        st.tuples(children, children, children).map(
            lambda t: Piecewise((t[0], t[1] >= t[2]), (t[1], True))
        ),
    )


@given(expr=st.recursive(leaves, _combine, max_leaves=8), a=small, b=small, c=small)
def test_agrees_with_sympys_substitution(expr, a, b, c):
    values = {x: a, y: b, z: c}
    expected = expr.subs({s: Rational(v.numerator, v.denominator) for s, v in values.items()})
    assert evaluate([expr], values)[0] == expected
