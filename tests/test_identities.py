"""The operator identities: the operators on small arrays, the notes' statements, the grid."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from conv_grid import CONV_GRID, spec_id
from sympy import Integer, S, Symbol, symbols

from symcnn import layers
from symcnn.derive import derive
from symcnn.identities import (
    LayerIdentities,
    correlate,
    crop,
    dilate,
    equal_entries,
    full_correlate,
    pad,
    rot180,
    verify,
)
from symcnn.layers.conv2d.spec import Conv2d

identities_module = importlib.import_module("symcnn.identities")


def ints(rows):
    return np.array([[Integer(v) for v in row] for row in rows], dtype=object)


# -- the operators -------------------------------------------------------------------------------


def test_rot180_flips_both_axes():
    a = ints([[1, 2, 3], [4, 5, 6]])
    assert rot180(a).tolist() == ints([[6, 5, 4], [3, 2, 1]]).tolist()
    assert rot180(rot180(a)).tolist() == a.tolist()


def test_dilate_inserts_zeros():
    a = ints([[1, 2], [3, 4]])
    assert dilate(a, (2, 3)).tolist() == ints([[1, 0, 0, 2], [0, 0, 0, 0], [3, 0, 0, 4]]).tolist()
    assert dilate(a, (1, 1)).tolist() == a.tolist()


def test_pad_and_crop_are_inverse():
    a = ints([[1, 2, 3]])
    padded = pad(a, (1, 2), (0, 1))
    assert padded.tolist() == ints([[0, 0, 0, 0, 0, 0], [0, 0, 1, 2, 3, 0]]).tolist()
    assert crop(padded, (1, 2), (1, 3)).tolist() == a.tolist()
    assert pad(a, (1, 1)).shape == (3, 5)


def test_correlate_dive_into_deep_learning_example():
    """Dive into Deep Learning (Zhang, Lipton, Li, Smola), section 7.2.1 "The Cross-Correlation
    Operation": corr2d(X, K) with X = [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and K = [[0, 1], [2, 3]]
    prints tensor([[19., 25.], [37., 43.]])."""
    x = ints([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    k = ints([[0, 1], [2, 3]])
    assert correlate(x, k).tolist() == ints([[19, 25], [37, 43]]).tolist()


def test_full_correlate_with_the_rotated_kernel_is_the_transpose_of_correlate():
    """<correlate(A, K), B> = <A, full_correlate(B, rot180(K))>, as symbols."""
    a = np.array(symbols("a0:12"), dtype=object).reshape(3, 4)
    k = np.array(symbols("k0:6"), dtype=object).reshape(2, 3)
    g = np.array(symbols("g0:4"), dtype=object).reshape(2, 2)
    left = sum((c * h for c, h in zip(correlate(a, k).flat, g.flat, strict=True)), Integer(0))
    back = full_correlate(g, rot180(k))
    assert back.shape == a.shape
    right = sum((c * h for c, h in zip(a.flat, back.flat, strict=True)), Integer(0))
    assert (left - right).expand() == 0


def test_equal_entries():
    x, y = symbols("x y")
    left = np.array([x * (y + 1), S.Zero], dtype=object)
    assert equal_entries(left, np.array([x * y + x, S.Zero], dtype=object))
    assert not equal_entries(left, np.array([x * y, S.Zero], dtype=object))
    assert not equal_entries(left, left[:1])


# -- the notes' statements (seeds 001 and 002), for the 3x3 input and 2x2 kernel ---------------


def test_notes_operator_forms_for_their_example():
    """Seed 001: dL/dF = Convolution(X, dL/dO) and dL/dX = Full Convolution(180-rotated F,
    dL/dO); seed 002 the same with x, w, E. "Convolution" is a cross-correlation here, and the
    full convolution slides the rotated filter over dL/dO padded by the kernel size - 1."""
    d = derive(Conv2d(input_shape=(3, 3), kernel=(2, 2)))
    x, f, upstream = d.tensors.X[0, 0], d.tensors.W[0, 0], d.tensors.G[0, 0]
    assert equal_entries(correlate(x, upstream), d.grads["W"][0, 0])
    assert equal_entries(correlate(pad(upstream, (1, 1)), rot180(f)), d.grads["X"][0, 0])
    assert equal_entries(full_correlate(upstream, rot180(f)), d.grads["X"][0, 0])
    # without the rotation the "full convolution" is wrong: the notes' warning is real
    assert not equal_entries(correlate(pad(upstream, (1, 1)), f), d.grads["X"][0, 0])


def test_stride_two_needs_the_upstream_dilated():
    """Seed 002 waves stride 2 through ("Shift 2 cell at a time"): the identities hold only with
    dL/dO dilated by the stride (zeros between its entries) before correlating."""
    spec = Conv2d(input_shape=(5, 5), kernel=(3, 3), stride=2, bias=False)
    d = derive(spec)
    x, w, upstream = d.tensors.X[0, 0], d.tensors.W[0, 0], d.tensors.G[0, 0]
    assert equal_entries(correlate(x, dilate(upstream, (2, 2))), d.grads["W"][0, 0])
    assert not equal_entries(correlate(x, upstream)[:3, :3], d.grads["W"][0, 0])
    assert equal_entries(full_correlate(dilate(upstream, (2, 2)), rot180(w)), d.grads["X"][0, 0])


# -- every identity on the grid ------------------------------------------------------------------


@pytest.mark.parametrize("spec", CONV_GRID, ids=spec_id)
def test_identities_hold_on_the_grid(spec):
    results = verify(derive(spec))
    expected_keys = [
        key
        for key, tensor, _, _ in layers.table("identities")[spec.type].rules
        if spec.bias or tensor != "B"
    ]
    assert [r.key for r in results] == expected_keys
    for result in results:
        assert result.holds, result.statement
        assert result.form.shape == derive(spec).grads[result.tensor].shape


def test_verify_detects_a_wrong_identity(monkeypatch):
    """An identity built with a broken operator (no rotation) is reported as not holding."""
    monkeypatch.setattr(identities_module, "rot180", lambda kernel: kernel)
    results = {r.key: r.holds for r in verify(derive(Conv2d(input_shape=(3, 4), kernel=(2, 3))))}
    assert results == {
        "weight_correlation": True,
        "input_full_convolution": False,
        "bias_sum": True,
    }


def test_verify_of_a_layer_without_identities_is_empty(monkeypatch):
    monkeypatch.setitem(layers.table("identities"), "conv2d", LayerIdentities())
    assert verify(derive(Conv2d(input_shape=(2, 2), kernel=1))) == []


def test_identity_forms_scale_with_the_mean():
    spec = Conv2d(input_shape=(2, 1, 3, 3), kernel=2, reduction="mean")
    results = verify(derive(spec))
    assert all(r.holds for r in results)
    bias = next(r for r in results if r.key == "bias_sum")
    g = [Symbol(f"g_{n}_0_{i}_{j}") for n in range(2) for i in range(2) for j in range(2)]
    assert (bias.form[0] - sum(g, Integer(0)) / 2).expand() == 0


def test_every_windowed_layer_type_has_identities_and_a_type_without_is_named():
    # conv2d and the pools state operator identities; the other kinds have none to state
    without = {"relu", "sigmoid", "tanh", "flatten", "softmax_cross_entropy", "mse"}
    assert set(layers.table("identities")) == set(layers.layer_types()) - without
    spec = Conv2d(input_shape=(2, 2), kernel=1)
    with pytest.raises(ValueError, match="an unpooling to the extreme is not available for"):
        identities_module.extreme_unpool_form(derive(spec))  # conv2d has no extreme
