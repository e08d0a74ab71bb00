"""The contract's JSON: its shape, exact strings that round-trip through sympify, stable bytes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conv_grid import CONV_GRID, spec_id
from hypothesis import given
from hypothesis import strategies as st
from sympy import Add, Integer, Max, Mul, Rational, Symbol, sqrt, sympify

from symcnn.derive import derive
from symcnn.jsonio import dumps, expression_text, nested, to_dict
from symcnn.layers import layer_from_dict
from symcnn.layers.conv2d.spec import Conv2d

SYMBOLS = [Symbol(n) for n in ("b_0", "g_0_0_1_1", "w_0_1_0_0", "x_0_0_10_2", "x_1_0_0_0")]


def same(a, b):
    """Structurally equal: same class, same args in the same order."""
    return type(a) is type(b) and a == b and a.args == b.args


# -- expression_text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        (Symbol("x_0_0_0_0"), "x_0_0_0_0"),
        (Integer(0), "0"),
        (Integer(-3), "-3"),
        (Rational(-1, 2), "-1/2"),
        (Symbol("g") * Symbol("x") / 2, "g*x/2"),
        (-Symbol("g") * Symbol("x") / 3, "-g*x/3"),
        (-Rational(3, 2) * Symbol("x"), "-3*x/2"),
        (Symbol("b") - Symbol("g") * Symbol("x"), "b - g*x"),
        (Symbol("b") + Rational(1, 2), "1/2 + b"),  # canonical order: the number first
    ],
)
def test_expression_text_examples(expr, text):
    assert expression_text(expr) == text
    assert same(sympify(expression_text(expr)), expr)


coefficients = st.sampled_from(
    [Integer(1), Integer(-1), Integer(2), Integer(-7), Rational(1, 2), Rational(-3, 4)]
)


@st.composite
def polynomials(draw):
    terms = draw(
        st.lists(
            st.tuples(coefficients, st.lists(st.sampled_from(SYMBOLS), max_size=3, unique=True)),
            max_size=6,
        )
    )
    return Add(*(Mul(c, *symbols) for c, symbols in terms))


@given(polynomials())
def test_expression_text_round_trips(expr):
    assert same(sympify(expression_text(expr)), expr)


@pytest.mark.parametrize(
    "expr",
    [
        Max(Symbol("x_0_0_0_0"), Symbol("x_0_0_0_1")),
        Symbol("x") ** 2 + Symbol("y"),
        sqrt(2) * Symbol("x"),
    ],
    ids=["Max", "power", "irrational"],
)
def test_expression_text_falls_back_to_sympy_for_other_shapes(expr):
    assert same(sympify(expression_text(expr)), expr)


# -- the document ------------------------------------------------------------------------------


def test_json_document_has_the_contract_shape():
    spec = Conv2d(input_shape=(2, 3, 4, 4), out_channels=2, kernel=(2, 3), padding=(1, 0))
    data = json.loads(dumps(derive(spec)))
    assert list(data) == ["layer", "output_shape", "forward", "grads", "general"]
    assert list(data["general"]) == list(data["grads"])
    assert data["general"]["X"]["indices"] == [["n", 0, 1], ["c", 0, 2], ["h", 0, 3], ["w", 0, 3]]
    assert data["layer"] == spec.to_dict()
    assert layer_from_dict(data["layer"]) == spec
    assert data["output_shape"] == list(spec.output_shape) == [2, 2, 5, 2]
    assert np.array(data["forward"]).shape == spec.output_shape
    assert list(data["grads"]) == ["X", "W", "B"]
    assert np.array(data["grads"]["X"]).shape == spec.input_shape
    assert np.array(data["grads"]["W"]).shape == spec.weight_shape
    assert np.array(data["grads"]["B"]).shape == spec.bias_shape


def test_json_without_bias_has_no_b():
    data = to_dict(derive(Conv2d(input_shape=(3, 3), kernel=2, bias=False)))
    assert sorted(data["grads"]) == ["W", "X"]
    assert data["layer"]["bias"] is False
    assert "b_0" not in json.dumps(data)


@pytest.mark.parametrize("spec", CONV_GRID[::4], ids=spec_id)
def test_json_round_trips_through_sympify(spec):
    """Every string reads back (sympify) into the very expression derived, structurally."""
    d = derive(spec)
    data = json.loads(dumps(d))
    arrays = {"forward": d.output, **{f"grads.{k}": v for k, v in d.grads.items()}}
    texts = {"forward": data["forward"], **{f"grads.{k}": v for k, v in data["grads"].items()}}
    for name, array in arrays.items():
        read = np.array(texts[name], dtype=object)
        assert read.shape == array.shape, name
        for index, expr in np.ndenumerate(array):
            assert same(sympify(read[index]), expr), (name, index)


def test_json_bytes_are_deterministic_and_compact():
    spec = CONV_GRID[5]
    first, second = dumps(derive(spec)), dumps(derive(spec))
    assert first == second
    assert first.endswith("}\n") and first.count("\n") == 1
    assert ", " not in first.split('"forward"')[0]  # compact separators in the structure


def test_nested_keeps_the_shape():
    array = np.array([[Symbol("a"), Integer(1)], [Rational(1, 3), Symbol("b") * 2]], dtype=object)
    assert nested(array) == [["a", "1"], ["1/3", "2*b"]]
