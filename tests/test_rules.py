"""The forward rules: local partials read term by term equal SymPy's ``diff``."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import Integer, Mul, Rational, cos, exp, sin, symbols

from symcnn.layers.conv2d.rule import conv2d_entries
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.rules import polynomial_partials
from symcnn.tensors import Tensors

x, y, z, w = symbols("x y z w")
SYMBOLS = [x, y, z, w]

coefficients = st.integers(-3, 3).map(Integer) | st.sampled_from([Rational(1, 2), Rational(-2, 3)])
factors = st.sampled_from([*SYMBOLS, y**2, sin(y), exp(x * z), cos(w) ** 2])


@st.composite
def sums(draw):
    terms = draw(
        st.lists(st.tuples(coefficients, st.lists(factors, max_size=3)), min_size=1, max_size=5)
    )
    return sum((Mul(c, *fs) for c, fs in terms), Integer(0))


def assert_partials_equal_diff(expr):
    partials = dict(polynomial_partials(expr))
    assert len(partials) == len(polynomial_partials(expr)), "a symbol listed twice"
    for symbol in SYMBOLS:
        expected = expr.diff(symbol)
        got = partials.get(symbol, Integer(0))
        assert (got - expected).expand() == 0, (symbol, got, expected)


@given(sums())
def test_partials_equal_diff(expr):
    assert_partials_equal_diff(expr)


@pytest.mark.parametrize(
    "expr",
    [x * sin(y), x * y**2 + 3 * x, 2 * x * y * exp(x * z), x * y + Rational(1, 2) * x * z + w],
    ids=["symbol-times-function", "symbol-times-power", "product-with-exp", "bilinear"],
)
def test_partials_of_mixed_terms(expr):
    """Regression: a symbol before a power or function in a term was differentiated twice
    (``d(x*sin(y))/dx`` came out as ``2*sin(y)``)."""
    assert_partials_equal_diff(expr)


def test_conv2d_partials_are_the_diff_of_each_entry():
    spec = Conv2d(input_shape=(2, 2, 4, 3), out_channels=2, kernel=(2, 2), padding=1, stride=2)
    tensors = Tensors.for_layer(spec)
    entries = list(conv2d_entries(spec, tensors))
    assert [e.index for e in entries] == list(
        itertools.product(*(range(size) for size in spec.output_shape))
    )
    leaves = [*tensors.X.flat, *tensors.W.flat, *tensors.B.flat]
    for entry in entries:
        partials = dict(entry.partials)
        assert len(partials) == len(entry.partials), "a symbol listed twice"
        for symbol in leaves:
            assert partials.get(symbol, Integer(0)) == entry.expr.diff(symbol)


def test_conv2d_entry_skips_padding_taps():
    spec = Conv2d(input_shape=(1, 1, 2, 2), kernel=(3, 3), padding=1, bias=False)
    tensors = Tensors.for_layer(spec)
    corner = next(conv2d_entries(spec, tensors))
    # window (0, 0) of a 3x3 kernel over the padded 4x4 sees the four real cells at taps 1..2
    assert corner.expr == sum(
        (tensors.X[0, 0, r, c] * tensors.W[0, 0, r + 1, c + 1] for r in (0, 1) for c in (0, 1)),
        Integer(0),
    )
    assert np.all([s in corner.expr.free_symbols for s, _ in corner.partials])
