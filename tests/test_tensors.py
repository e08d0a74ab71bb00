"""Symbolic tensors: the contract's names, 0-based, plain symbols, and their parser."""

from __future__ import annotations

import numpy as np
import pytest
from sympy import Symbol, sympify

from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import MaxPool2d
from symcnn.tensors import Tensors, is_upstream, parse_symbol, symbol_array, symbol_namespace


def test_symbol_array_names_every_entry_by_its_index():
    array = symbol_array("x", (2, 1, 2, 3))
    assert array.shape == (2, 1, 2, 3) and array.dtype == object
    assert array[1, 0, 1, 2] == Symbol("x_1_0_1_2")
    assert len({s.name for s in array.flat}) == array.size
    assert all(s.assumptions0 == {"commutative": True} for s in array.flat)  # plain symbols


def test_tensors_for_a_conv():
    spec = Conv2d(input_shape=(2, 4, 5, 6), out_channels=6, kernel=(3, 2), groups=2)
    t = Tensors.for_layer(spec)
    assert t.X.shape == spec.input_shape and t.W.shape == (6, 2, 3, 2)
    assert t.B.shape == (6,) and t.G.shape == spec.output_shape
    assert t.B[5] == Symbol("b_5") and t.G[1, 5, 2, 4] == Symbol("g_1_5_2_4")
    assert list(t.parameters()) == ["X", "W", "B"]
    no_bias = Tensors.for_layer(Conv2d(input_shape=(3, 3), kernel=2, bias=False))
    assert no_bias.B is None and list(no_bias.parameters()) == ["X", "W"]


def test_tensors_for_a_pool():
    t = Tensors.for_layer(MaxPool2d(input_shape=(4, 4), kernel=2))
    assert t.W is None and t.B is None and list(t.parameters()) == ["X"]
    assert t.G.shape == (1, 1, 2, 2)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("x_0_1_2_3", ("X", (0, 1, 2, 3))),
        ("w_10_0_2_11", ("W", (10, 0, 2, 11))),
        ("b_7", ("B", (7,))),
        ("g_1_0_0_0", ("G", (1, 0, 0, 0))),
        ("x", None),
        ("y_0_0", None),
        ("x_0_a", None),
        ("x__1", None),
        ("x_0_", None),
    ],
)
def test_parse_symbol(name, parsed):
    assert parse_symbol(Symbol(name)) == parsed


def test_parse_symbol_inverts_symbol_array():
    for prefix, tensor in (("x", "X"), ("w", "W"), ("b", "B"), ("g", "G")):
        array = symbol_array(prefix, (2, 3) if prefix != "b" else (4,))
        for index, symbol in np.ndenumerate(array):
            assert parse_symbol(symbol) == (tensor, index)


def names(tensors: Tensors) -> list[str]:
    """Every symbol's name, X, W, B then G, each in index order."""
    arrays = (*tensors.parameters().values(), tensors.G)
    return [symbol.name for array in arrays for symbol in array.flat]


def test_a_namespace_prefixes_every_name_and_two_layers_share_none():
    first = Conv2d(input_shape=(1, 2, 3, 3), out_channels=2, kernel=2)
    second = Conv2d(input_shape=(1, 2, 2, 2), kernel=1)
    a, b = Tensors.for_layer(first, namespace="l0"), Tensors.for_layer(second, namespace="l1")
    assert a.X[0, 1, 2, 2] == Symbol("l0_x_0_1_2_2") and a.W[1, 0, 1, 1] == Symbol("l0_w_1_0_1_1")
    assert a.B[1] == Symbol("l0_b_1") and a.G[0, 1, 1, 1] == Symbol("l0_g_0_1_1_1")
    assert a.namespace == "l0" and Tensors.for_layer(first).namespace == ""
    assert not set(names(a)) & set(names(b))
    assert [n.removeprefix("l0_") for n in names(a)] == names(Tensors.for_layer(first))


def test_namespaced_names_parse_to_the_same_tensor_and_index_and_read_back():
    for namespace in ("", "l0", "conv2", "X"):
        t = Tensors.for_layer(Conv2d(input_shape=(1, 1, 2, 3), kernel=(1, 2)), namespace)
        for tensor, array in (*t.parameters().items(), ("G", t.G)):
            for index, symbol in np.ndenumerate(array):
                assert parse_symbol(symbol) == (tensor, index)
                assert symbol_namespace(symbol) == namespace
                assert is_upstream(symbol) == (tensor == "G")
                assert sympify(symbol.name) == symbol


def test_the_namespace_keeps_the_order_of_the_names():
    spec = Conv2d(input_shape=(1, 2, 3, 3), out_channels=2, kernel=2)
    plain, spaced = Tensors.for_layer(spec), Tensors.for_layer(spec, "l7")
    order = sorted(range(len(names(plain))), key=names(plain).__getitem__)
    assert order == sorted(range(len(names(spaced))), key=names(spaced).__getitem__)


@pytest.mark.parametrize("namespace", ["0l", "l_0", "l-0", " ", "l0 "])
def test_a_namespace_that_would_not_parse_back_is_refused(namespace):
    with pytest.raises(ValueError, match=r"namespace=.* is not valid"):
        Tensors.for_layer(MaxPool2d(input_shape=(2, 2), kernel=2), namespace)


@pytest.mark.parametrize("name", ["x", "g", "y_0_0", "l0_y_0", "l0_", "0l_x_0", "l_0_x_0", "g_"])
def test_names_of_no_tensor_have_no_namespace(name):
    assert parse_symbol(Symbol(name)) is None and symbol_namespace(Symbol(name)) is None
    assert not is_upstream(Symbol(name))
