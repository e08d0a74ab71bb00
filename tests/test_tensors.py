"""Symbolic tensors: the contract's names, 0-based, plain symbols, and their parser."""

from __future__ import annotations

import numpy as np
import pytest
from sympy import Symbol

from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import MaxPool2d
from symcnn.tensors import Tensors, parse_symbol, symbol_array


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
