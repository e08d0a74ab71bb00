"""The generic runtime against witnesses that share none of its code.

- a naive loop reference, written straight from the definitions (one output position and one
  tap at a time), compared exactly on ``Fraction`` arrays and tightly on float64;
- the adjoint dot-product test (exact, on Fractions) and Euler's identity for the pools;
- central finite differences on float64;
- hand-built inputs with 2-, 3- and 4-way ties, and padding that must never win.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import itertools
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symcnn import layers, runtime, runtime_base
from symcnn.layers import layer_types
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d

# -- the naive reference ------------------------------------------------------------------------


def naive_output_size(size, kernel, stride, padding, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def naive_conv2d(x, w, b, grad_out, stride, padding, dilation, groups):
    """Forward output and (grad_x, grad_w, grad_b), one output position and one tap at a time.

    ``out[n,k,i,j] = b[k] + sum_{c,p,q} x[n, g*Cg + c, i*S - P + p*D, j*S - P + q*D] w[k,c,p,q]``
    with cells outside the input left out; each gradient is the chain rule summed over outputs.
    """
    batch, _, height, width = x.shape
    out_channels, in_per_group, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    out_height = naive_output_size(height, kh, sh, ph, dh)
    out_width = naive_output_size(width, kw, sw, pw, dw)
    out = np.zeros((batch, out_channels, out_height, out_width), dtype=object)
    grad_x = np.zeros(x.shape, dtype=object)
    grad_w = np.zeros(w.shape, dtype=object)
    grad_b = np.zeros(out_channels, dtype=object)
    for n, k, i, j in itertools.product(
        range(batch), range(out_channels), range(out_height), range(out_width)
    ):
        group = k // (out_channels // groups)
        g = grad_out[n, k, i, j] if grad_out is not None else 0
        total = b[k] if b is not None else 0
        grad_b[k] += g
        for c, p, q in itertools.product(range(in_per_group), range(kh), range(kw)):
            h, v = i * sh - ph + p * dh, j * sw - pw + q * dw
            if 0 <= h < height and 0 <= v < width:
                channel = group * in_per_group + c
                total += x[n, channel, h, v] * w[k, c, p, q]
                grad_x[n, channel, h, v] += g * w[k, c, p, q]
                grad_w[k, c, p, q] += g * x[n, channel, h, v]
        out[n, k, i, j] = total
    return out, grad_x, grad_w, grad_b


def window_cells(i, j, height, width, kernel, stride, padding):
    """The real cells of window (i, j), in row-major window order."""
    cells = []
    for p in range(kernel[0]):
        for q in range(kernel[1]):
            h = i * stride[0] - padding[0] + p
            v = j * stride[1] - padding[1] + q
            if 0 <= h < height and 0 <= v < width:
                cells.append((h, v))
    return cells


def naive_pool(kind, x, grad_out, kernel, stride, padding, ties="first", count_include_pad=True):
    """Forward output and grad_x of a "max", "min" or "avg" pool, one window at a time."""
    batch, channels, height, width = x.shape
    out_height = naive_output_size(height, kernel[0], stride[0], padding[0])
    out_width = naive_output_size(width, kernel[1], stride[1], padding[1])
    out = np.zeros((batch, channels, out_height, out_width), dtype=object)
    grad_x = np.zeros(x.shape, dtype=object)
    for n, c, i, j in itertools.product(
        range(batch), range(channels), range(out_height), range(out_width)
    ):
        cells = window_cells(i, j, height, width, kernel, stride, padding)
        values = [x[n, c, h, v] for h, v in cells]
        g = grad_out[n, c, i, j]
        if kind == "avg":
            divisor = kernel[0] * kernel[1] if count_include_pad else len(cells)
            out[n, c, i, j] = sum(values) / divisor
            for h, v in cells:
                grad_x[n, c, h, v] += g / divisor
            continue
        extreme = max(values) if kind == "max" else min(values)
        out[n, c, i, j] = extreme
        tied = [cell for cell, value in zip(cells, values, strict=True) if value == extreme]
        receivers = tied[:1] if ties == "first" else tied
        amount = g / len(tied) if ties == "split" else g
        for h, v in receivers:
            grad_x[n, c, h, v] += amount
    return out, grad_x


# -- helpers ------------------------------------------------------------------------------------


def fractions(rng, shape, values=None):
    """An object array of Fractions: random p/q with small p and q, or drawn from ``values``."""
    if values is not None:
        picks = rng.integers(0, len(values), size=shape)
        return np.vectorize(lambda k: Fraction(values[k]), otypes=[object])(picks)
    numerators = rng.integers(-9, 10, size=shape)
    denominators = rng.integers(1, 5, size=shape)
    return np.vectorize(Fraction, otypes=[object])(numerators, denominators)


def assert_exact(actual, expected):
    """Same shape, object dtype, and every entry exactly equal."""
    assert actual.shape == expected.shape
    assert actual.dtype == object
    mismatches = [
        (index, a, e)
        for (index, a), e in zip(np.ndenumerate(actual), expected.flat, strict=True)
        if a != e
    ]
    assert not mismatches, mismatches[:5]


def dot(a, b):
    """The exact inner product of two object arrays."""
    return sum((a * b).flat, Fraction(0))


POOL_FUNCTIONS = {
    "max": (runtime.maxpool2d_forward, runtime.maxpool2d_backward),
    "min": (runtime.minpool2d_forward, runtime.minpool2d_backward),
}


def run_pool(kind, x, grad_out, kernel, stride, padding, ties="first", count_include_pad=True):
    """The runtime's forward output and grad_x for a naive_pool-style call."""
    if kind == "avg":
        options = dict(kernel=kernel, stride=stride, padding=padding)
        options["count_include_pad"] = count_include_pad
        out = runtime.avgpool2d_forward(x, **options)
        return out, runtime.avgpool2d_backward(x, grad_out, **options)
    forward_fn, backward_fn = POOL_FUNCTIONS[kind]
    out = forward_fn(x, kernel=kernel, stride=stride, padding=padding)
    return out, backward_fn(x, grad_out, kernel=kernel, stride=stride, padding=padding, ties=ties)


def pool_output_shape(x_shape, kernel, stride, padding):
    batch, channels, height, width = x_shape
    return (
        batch,
        channels,
        naive_output_size(height, kernel[0], stride[0], padding[0]),
        naive_output_size(width, kernel[1], stride[1], padding[1]),
    )


# -- conv2d against the naive reference ---------------------------------------------------------

CONV_GRID = list(
    itertools.product(
        (1, 2, 3),  # stride
        (0, 1, 2),  # padding
        (1, 2),  # dilation
        (1, 2),  # groups
        (True, False),  # bias
    )
)


@pytest.mark.parametrize(("stride", "padding", "dilation", "groups", "bias"), CONV_GRID)
def test_conv2d_matches_naive_exactly_on_fractions(stride, padding, dilation, groups, bias):
    rng = np.random.default_rng([stride, padding, dilation, groups, bias])
    x = fractions(rng, (2, 2, 6, 5))  # batch 2, 2 channels, non-square input
    w = fractions(rng, (4, 2 // groups, 3, 2))  # 4 output channels, non-square kernel
    b = fractions(rng, (4,)) if bias else None
    options = dict(
        stride=(stride, stride),
        padding=(padding, padding),
        dilation=(dilation, dilation),
        groups=groups,
    )
    out = runtime.conv2d_forward(x, w, b, **options)
    grad_out = fractions(rng, out.shape)
    expected_out, expected_gx, expected_gw, expected_gb = naive_conv2d(x, w, b, grad_out, **options)
    grad_x, grad_w, grad_b = runtime.conv2d_backward(x, w, grad_out, bias=bias, **options)
    assert_exact(out, expected_out)
    assert_exact(grad_x, expected_gx)
    assert_exact(grad_w, expected_gw)
    if bias:
        assert_exact(grad_b, expected_gb)
    else:
        assert grad_b is None


@pytest.mark.parametrize(
    ("stride", "padding", "dilation", "groups"),
    [
        ((1, 2), (2, 0), (2, 1), 1),
        ((3, 1), (0, 1), (1, 2), 2),
        ((2, 3), (1, 2), (2, 2), 2),
    ],
)
def test_conv2d_matches_naive_exactly_with_different_height_and_width_options(
    stride, padding, dilation, groups
):
    rng = np.random.default_rng(7)
    x = fractions(rng, (3, 2, 5, 7))
    w = fractions(rng, (2, 2 // groups, 2, 3))
    b = fractions(rng, (2,))
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    out = runtime.conv2d_forward(x, w, b, **options)
    grad_out = fractions(rng, out.shape)
    expected = naive_conv2d(x, w, b, grad_out, **options)
    got = (out, *runtime.conv2d_backward(x, w, grad_out, **options))
    for actual, wanted in zip(got, expected, strict=True):
        assert_exact(actual, wanted)


@st.composite
def conv_cases(draw):
    """A valid conv2d geometry with every option drawn per axis, and its float64 arrays."""
    groups = draw(st.integers(1, 2))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    # the dilated kernel must fit into the padded input
    sizes = [
        max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
        for k, p, d in zip(kernel, padding, dilation, strict=True)
    ]
    batch = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, in_channels, *sizes))
    w = rng.standard_normal((out_channels, in_channels // groups, *kernel))
    b = rng.standard_normal(out_channels) if draw(st.booleans()) else None
    options = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
    return x, w, b, options, rng


@settings(max_examples=60, deadline=None)
@given(conv_cases())
def test_conv2d_matches_naive_on_float64(case):
    x, w, b, options, rng = case
    out = runtime.conv2d_forward(x, w, b, **options)
    grad_out = rng.standard_normal(out.shape)
    expected = naive_conv2d(x, w, b, grad_out, **options)
    grad_x, grad_w, grad_b = runtime.conv2d_backward(x, w, grad_out, bias=b is not None, **options)
    for actual, wanted in zip((out, grad_x, grad_w), expected[:3], strict=True):
        assert actual.dtype == np.float64
        np.testing.assert_allclose(actual, wanted.astype(np.float64), rtol=1e-12, atol=1e-12)
    if b is not None:
        np.testing.assert_allclose(grad_b, expected[3].astype(np.float64), rtol=1e-12, atol=1e-12)


def test_conv2d_is_exact_on_sympy_rationals():
    sympy = pytest.importorskip("sympy")
    rng = np.random.default_rng(3)
    x = fractions(rng, (1, 2, 4, 4))
    w = fractions(rng, (2, 1, 2, 2))
    grad_out = fractions(rng, (1, 2, 3, 3))
    options = dict(stride=2, padding=1, groups=2)
    to_sympy = np.vectorize(sympy.Rational, otypes=[object])
    as_fraction = runtime.conv2d_backward(x, w, grad_out, **options)
    as_sympy = runtime.conv2d_backward(to_sympy(x), to_sympy(w), to_sympy(grad_out), **options)
    for fraction_grad, sympy_grad in zip(as_fraction, as_sympy, strict=True):
        assert all(isinstance(entry, sympy.Rational) for entry in sympy_grad.flat)
        assert_exact(sympy_grad, to_sympy(fraction_grad))


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_conv2d_agrees_with_the_exact_symbolic_derivation(reduction):
    """The third witness: symcnn.derive's gradients, evaluated at the same rationals."""
    sympy = pytest.importorskip("sympy")
    from symcnn.derive import derive

    spec = Conv2d(
        input_shape=(2, 2, 4, 5),
        out_channels=2,
        kernel=(2, 3),
        stride=(2, 1),
        padding=(1, 1),
        dilation=(1, 2),
        groups=2,
        reduction=reduction,
    )
    derivation = derive(spec)
    rng = np.random.default_rng(61)
    x, w = fractions(rng, spec.input_shape), fractions(rng, spec.weight_shape)
    b, grad_out = fractions(rng, spec.bias_shape), fractions(rng, spec.output_shape)
    values = {}
    for symbols, array in (
        (derivation.tensors.X, x),
        (derivation.tensors.W, w),
        (derivation.tensors.B, b),
        (derivation.tensors.G, grad_out),
    ):
        for symbol, value in zip(symbols.flat, array.flat, strict=True):
            values[symbol] = sympy.Rational(value.numerator, value.denominator)

    def evaluate(expressions):
        return np.vectorize(
            lambda e: Fraction(str(sympy.sympify(e).xreplace(values))), otypes=[object]
        )(expressions)

    assert_exact(runtime.forward(spec, x, w, b), evaluate(derivation.output))
    grads = runtime.backward(spec, x, grad_out, w)
    assert sorted(grads) == sorted(derivation.grads)
    for name, symbolic in derivation.grads.items():
        assert_exact(grads[name], evaluate(symbolic))


# -- pools against the naive reference ----------------------------------------------------------

# (kernel, stride, padding, input height x width): overlapping windows (stride < kernel),
# windows that do not tile the input, padding, non-square everything
POOL_GEOMETRIES = [
    ((2, 2), (2, 2), (0, 0), (4, 6)),  # tiles exactly
    ((2, 2), (2, 2), (0, 0), (5, 7)),  # leaves a row and a column out
    ((3, 3), (1, 1), (0, 0), (5, 6)),  # overlapping
    ((3, 2), (2, 1), (1, 1), (7, 5)),  # overlapping, padded, non-square
    ((2, 3), (1, 2), (1, 0), (4, 7)),
    ((3, 3), (2, 2), (1, 1), (6, 6)),  # padded, windows do not tile
    ((4, 2), (3, 1), (2, 1), (6, 5)),  # padding of half the kernel
    ((1, 1), (2, 1), (0, 0), (5, 3)),  # 1x1 windows skipping rows
]

#: values with many ties: every window below is likely to hold repeated extremes
TIE_VALUES = (-1, 0, Fraction(1, 2), 1)


@pytest.mark.parametrize(("kernel", "stride", "padding", "size"), POOL_GEOMETRIES)
@pytest.mark.parametrize(
    ("kind", "ties"),
    [(kind, ties) for kind in ("max", "min") for ties in ("first", "all", "split")],
)
def test_extreme_pools_match_naive_exactly_with_ties(kind, ties, kernel, stride, padding, size):
    rng = np.random.default_rng([len(kind), len(ties), *kernel, *stride, *padding])
    x = fractions(rng, (2, 3, *size), TIE_VALUES)
    grad_out = fractions(rng, pool_output_shape(x.shape, kernel, stride, padding))
    got = run_pool(kind, x, grad_out, kernel, stride, padding, ties=ties)
    expected = naive_pool(kind, x, grad_out, kernel, stride, padding, ties=ties)
    assert_exact(got[0], expected[0])
    assert_exact(got[1], expected[1])


@pytest.mark.parametrize(("kernel", "stride", "padding", "size"), POOL_GEOMETRIES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool_matches_naive_exactly(count_include_pad, kernel, stride, padding, size):
    rng = np.random.default_rng([count_include_pad, *kernel, *stride, *padding])
    x = fractions(rng, (2, 3, *size))
    grad_out = fractions(rng, pool_output_shape(x.shape, kernel, stride, padding))
    options = dict(ties="first", count_include_pad=count_include_pad)
    got = run_pool("avg", x, grad_out, kernel, stride, padding, **options)
    expected = naive_pool("avg", x, grad_out, kernel, stride, padding, **options)
    assert_exact(got[0], expected[0])
    assert_exact(got[1], expected[1])


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["max", "min", "avg"]),
    ties=st.sampled_from(["first", "all", "split"]),
    count_include_pad=st.booleans(),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    data=st.data(),
)
def test_pools_match_naive_on_float64(kind, ties, count_include_pad, kernel, stride, data):
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(
        max(1, k - 2 * p) + data.draw(st.integers(0, 4))
        for k, p in zip(kernel, padding, strict=True)
    )
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    # a few distinct values, so that float ties happen too
    x = rng.integers(-2, 3, size=(2, 2, *size)).astype(np.float64) / 2
    grad_out = rng.standard_normal(pool_output_shape(x.shape, kernel, stride, padding))
    options = dict(ties=ties, count_include_pad=count_include_pad)
    got = run_pool(kind, x, grad_out, kernel, stride, padding, **options)
    expected = naive_pool(kind, x, grad_out, kernel, stride, padding, **options)
    for actual, wanted in zip(got, expected, strict=True):
        assert actual.dtype == np.float64
        np.testing.assert_allclose(actual, wanted.astype(np.float64), rtol=1e-12, atol=1e-12)


def test_extreme_pools_are_exact_on_sympy_rationals():
    sympy = pytest.importorskip("sympy")
    to_sympy = np.vectorize(sympy.Rational, otypes=[object])
    rng = np.random.default_rng(5)
    x = to_sympy(fractions(rng, (1, 2, 5, 5), TIE_VALUES))
    grad_out = to_sympy(fractions(rng, (1, 2, 3, 3)))
    for kind in ("max", "min"):
        got = run_pool(kind, x, grad_out, (3, 3), (2, 2), (1, 1), ties="split")
        expected = naive_pool(kind, x, grad_out, (3, 3), (2, 2), (1, 1), ties="split")
        assert_exact(got[0], expected[0])
        assert_exact(got[1], expected[1])


# -- ties and padding, built by hand ------------------------------------------------------------

# Three 2x2 windows side by side (kernel 2, stride 2): window 0 holds its maximum twice,
# window 1 three times, window 2 four times.
TIED_INPUT = [
    [5, 5, 5, 0, 5, 5],
    [1, 0, 5, 5, 5, 5],
]
TIED_UPSTREAM = [3, 6, 8]
TIED_GRADIENTS = {
    "first": [
        [3, 0, 6, 0, 8, 0],
        [0, 0, 0, 0, 0, 0],
    ],
    "all": [
        [3, 3, 6, 0, 8, 8],
        [0, 0, 6, 6, 8, 8],
    ],
    "split": [
        [Fraction(3, 2), Fraction(3, 2), 2, 0, 2, 2],
        [0, 0, 2, 2, 2, 2],
    ],
}
TIE_COUNTS = [2, 3, 4]


@pytest.mark.parametrize("ties", ["first", "all", "split"])
@pytest.mark.parametrize("kind", ["max", "min"])
def test_two_three_and_four_way_ties(kind, ties):
    sign = 1 if kind == "max" else -1  # negating turns the maxima into minima
    x = np.array([[[[Fraction(sign * v) for v in row] for row in TIED_INPUT]]], dtype=object)
    grad_out = np.array([[[[Fraction(g) for g in TIED_UPSTREAM]]]], dtype=object)
    out, grad_x = run_pool(kind, x, grad_out, (2, 2), (2, 2), (0, 0), ties=ties)
    assert_exact(out, np.array([[[[sign * 5] * 3]]], dtype=object))
    assert_exact(grad_x, np.array([[TIED_GRADIENTS[ties]]], dtype=object))
    window_sums = grad_x[0, 0].reshape(2, 3, 2).sum(axis=(0, 2))
    expected_sums = [
        g * (count if ties == "all" else 1)
        for g, count in zip(TIED_UPSTREAM, TIE_COUNTS, strict=True)
    ]
    assert list(window_sums) == expected_sums


@pytest.mark.parametrize("ties", ["first", "split"])
@pytest.mark.parametrize("kind", ["max", "min"])
def test_first_and_split_give_each_window_exactly_its_upstream(kind, ties):
    rng = np.random.default_rng(11)
    x = fractions(rng, (2, 3, 6, 9), TIE_VALUES)  # 2x3 windows tile the input exactly
    grad_out = fractions(rng, (2, 3, 3, 3))
    _, grad_x = run_pool(kind, x, grad_out, (2, 3), (2, 3), (0, 0), ties=ties)
    window_sums = grad_x.reshape(2, 3, 3, 2, 3, 3).sum(axis=(3, 5))
    assert_exact(window_sums, grad_out)


@pytest.mark.parametrize("ties", ["first", "split"])
@pytest.mark.parametrize(("kernel", "stride", "padding", "size"), POOL_GEOMETRIES)
def test_first_and_split_conserve_the_gradient_with_overlap_and_padding(
    ties, kernel, stride, padding, size
):
    rng = np.random.default_rng(13)
    x = fractions(rng, (1, 2, *size), TIE_VALUES)
    grad_out = fractions(rng, pool_output_shape(x.shape, kernel, stride, padding))
    _, grad_x = run_pool("max", x, grad_out, kernel, stride, padding, ties=ties)
    assert dot(grad_x, np.ones_like(grad_x)) == dot(grad_out, np.ones_like(grad_out))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, object])
@pytest.mark.parametrize(("kind", "fill"), [("max", -1), ("min", 1)])
def test_padded_cells_never_win(kind, fill, dtype):
    # every real cell is beaten by a zero pad; a zero-padded pool would output 0
    x = np.full((1, 1, 3, 3), fill, dtype=np.float64).astype(dtype)
    if dtype is object:
        x = np.vectorize(Fraction, otypes=[object])(x)
    grad_out = np.ones((1, 1, 2, 2), dtype=x.dtype)
    out, grad_x = run_pool(kind, x, grad_out, (2, 2), (2, 2), (1, 1), ties="first")
    assert (out == fill).all()
    # "first" sends each window's gradient to its first real cell (the top-left of its real
    # part), never to a pad before it
    expected = np.zeros((3, 3))
    expected[0, 0] = expected[0, 1] = expected[1, 0] = expected[1, 1] = 1
    np.testing.assert_array_equal(grad_x[0, 0].astype(np.float64), expected)


@pytest.mark.parametrize(("kind", "extreme"), [("max", -np.inf), ("min", np.inf)])
def test_padding_never_wins_even_against_infinite_inputs(kind, extreme):
    # kernel 2, stride 2, padding 1 on 2x2: each window holds one real cell and three pads,
    # which an -inf (+inf) padding would tie with
    x = np.full((1, 1, 2, 2), extreme)
    grad_out = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    out, grad_x = run_pool(kind, x, grad_out, (2, 2), (2, 2), (1, 1))
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(grad_x, grad_out)


# -- adjoint and Euler identities, exact --------------------------------------------------------

ADJOINT_CONVS = [
    dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=1),
    dict(stride=(3, 2), padding=(2, 1), dilation=(2, 1), groups=2),
    dict(stride=(1, 2), padding=(1, 1), dilation=(2, 2), groups=2),
]


@pytest.mark.parametrize("options", ADJOINT_CONVS)
def test_conv2d_adjoint_dot_products_are_exact(options):
    """conv2d is bilinear: <conv(x, w), y> = <x, dX(y)> = <w, dW(y)>, and the bias adds <b, dB>."""
    rng = np.random.default_rng(17)
    x = fractions(rng, (2, 4, 6, 7))
    w = fractions(rng, (4, 4 // options["groups"], 3, 2))
    b = fractions(rng, (4,))
    out = runtime.conv2d_forward(x, w, **options)
    y = fractions(rng, out.shape)
    grad_x, grad_w, grad_b = runtime.conv2d_backward(x, w, y, **options)
    assert dot(out, y) == dot(x, grad_x)
    assert dot(out, y) == dot(w, grad_w)
    out_with_bias = runtime.conv2d_forward(x, w, b, **options)
    assert dot(out_with_bias - out, y) == dot(b, grad_b)


@pytest.mark.parametrize(("kernel", "stride", "padding", "size"), POOL_GEOMETRIES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avgpool_adjoint_dot_product_is_exact(count_include_pad, kernel, stride, padding, size):
    rng = np.random.default_rng(19)
    x = fractions(rng, (2, 2, *size))
    y = fractions(rng, pool_output_shape(x.shape, kernel, stride, padding))
    out, grad_x = run_pool(
        "avg", x, y, kernel, stride, padding, count_include_pad=count_include_pad
    )
    assert dot(out, y) == dot(x, grad_x)


@pytest.mark.parametrize("ties", ["first", "split"])
@pytest.mark.parametrize("kind", ["max", "min"])
@pytest.mark.parametrize(("kernel", "stride", "padding", "size"), POOL_GEOMETRIES)
def test_extreme_pools_satisfy_eulers_identity(kind, ties, kernel, stride, padding, size):
    """max and min are positively homogeneous, so <x, dX(y)> = <pool(x), y> for the rules that
    hand each window's gradient out once (first, split)."""
    rng = np.random.default_rng(23)
    x = fractions(rng, (2, 2, *size), TIE_VALUES)
    y = fractions(rng, pool_output_shape(x.shape, kernel, stride, padding))
    out, grad_x = run_pool(kind, x, y, kernel, stride, padding, ties=ties)
    assert dot(out, y) == dot(x, grad_x)


# -- finite differences -------------------------------------------------------------------------


def central_differences(loss, array, step):
    """dloss/darray by central differences, one entry at a time."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        upper = loss()
        array[index] = saved - step
        lower = loss()
        array[index] = saved
        grad[index] = (upper - lower) / (2 * step)
    return grad


def test_conv2d_gradients_match_finite_differences():
    rng = np.random.default_rng(29)
    x = rng.standard_normal((2, 2, 5, 6))
    w = rng.standard_normal((4, 1, 3, 2))
    b = rng.standard_normal(4)
    options = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    grad_out = rng.standard_normal(runtime.conv2d_forward(x, w, b, **options).shape)

    def loss():
        return np.sum(grad_out * runtime.conv2d_forward(x, w, b, **options))

    grad_x, grad_w, grad_b = runtime.conv2d_backward(x, w, grad_out, **options)
    for analytic, array in ((grad_x, x), (grad_w, w), (grad_b, b)):
        numeric = central_differences(loss, array, 1e-4)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("ties", ["first", "all", "split"])
@pytest.mark.parametrize(
    ("kind", "count_include_pad"), [("max", True), ("min", True), ("avg", True), ("avg", False)]
)
def test_pool_gradients_match_finite_differences_without_ties(kind, count_include_pad, ties):
    rng = np.random.default_rng(31)
    # distinct values 0.1 apart: a step of 1e-4 changes no window's winner
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.1
    kernel, stride, padding = (3, 2), (2, 1), (1, 1)  # overlapping and padded
    grad_out = rng.standard_normal(pool_output_shape(x.shape, kernel, stride, padding))
    options = dict(ties=ties, count_include_pad=count_include_pad)

    def loss():
        return np.sum(grad_out * run_pool(kind, x, grad_out, kernel, stride, padding, **options)[0])

    analytic = run_pool(kind, x, grad_out, kernel, stride, padding, **options)[1]
    numeric = central_differences(loss, x, 1e-4)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


# -- the spec-level entry points ----------------------------------------------------------------

SPECS = [
    Conv2d(input_shape=(2, 2, 5, 4), out_channels=2, kernel=(2, 3), padding=(1, 0), groups=2),
    Conv2d(input_shape=(2, 1, 4, 4), out_channels=3, kernel=(2, 2), stride=2, bias=False),
    MaxPool2d(input_shape=(2, 2, 5, 5), kernel=(3, 3), stride=(2, 2), padding=1, ties="split"),
    MinPool2d(input_shape=(2, 2, 4, 5), kernel=(2, 3), stride=1, ties="all"),
    AvgPool2d(input_shape=(2, 2, 5, 5), kernel=(2, 2), padding=1, count_include_pad=False),
]


def spec_arrays(spec, rng, make):
    """The input, weight and bias (None where the layer has none) for ``spec``, built by make."""
    x = make(rng, spec.input_shape)
    w = make(rng, spec.weight_shape) if hasattr(spec, "weight_shape") else None
    b = make(rng, spec.bias_shape) if getattr(spec, "bias_shape", None) else None
    return x, w, b


def test_every_layer_type_has_a_runtime():
    assert set(layers.table("runtime")) == set(layer_types())
    assert all(isinstance(r, runtime.LayerRuntime) for r in layers.table("runtime").values())


def test_a_layer_type_without_a_runtime_is_refused_naming_the_known_ones(monkeypatch):
    spec = AvgPool2d(input_shape=(2, 2), kernel=2)
    monkeypatch.delitem(layers.table("runtime"), spec.type)
    with pytest.raises(ValueError, match="the runtime is not available for avgpool2d: it is for"):
        runtime.forward(spec, np.zeros(spec.input_shape))


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_spec_entry_points_agree_with_the_array_functions(spec):
    rng = np.random.default_rng(37)
    x, w, b = spec_arrays(spec, rng, fractions)
    out = runtime.forward(spec, x, w, b)
    grad_out = fractions(rng, spec.output_shape)
    grads = runtime.backward(spec, x, grad_out, w)
    if spec.type == "conv2d":
        options = dict(stride=spec.stride, padding=spec.padding, dilation=spec.dilation)
        options["groups"] = spec.groups
        assert_exact(out, runtime.conv2d_forward(x, w, b, **options))
        expected = runtime.conv2d_backward(x, w, grad_out, bias=spec.bias, **options)
        assert sorted(grads) == (["B", "W", "X"] if spec.bias else ["W", "X"])
        for name, wanted in zip("XWB", expected, strict=True):
            if wanted is not None:
                assert_exact(grads[name], wanted)
    else:
        kind = spec.type.removesuffix("pool2d")
        options = dict(ties=getattr(spec, "ties", "first"))
        options["count_include_pad"] = getattr(spec, "count_include_pad", True)
        expected = naive_pool(kind, x, grad_out, spec.kernel, spec.stride, spec.padding, **options)
        assert_exact(out, expected[0])
        assert list(grads) == ["X"]
        assert_exact(grads["X"], expected[1])


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_mean_reduction_halves_every_gradient_at_batch_two(spec):
    rng = np.random.default_rng(41)
    x, w, _ = spec_arrays(spec, rng, fractions)
    grad_out = fractions(rng, spec.output_shape)
    summed = runtime.backward(spec, x, grad_out, w)
    mean_spec = type(spec)(**{**vars(spec), "reduction": "mean"})
    averaged = runtime.backward(mean_spec, x, grad_out, w)
    assert spec.batch == 2
    assert sorted(averaged) == sorted(summed)
    for name, grad in summed.items():
        assert_exact(averaged[name], grad / 2)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.type)
def test_float32_in_gives_float32_out(spec):
    rng = np.random.default_rng(43)

    def make(rng, shape):
        return rng.standard_normal(shape).astype(np.float32)

    x, w, b = spec_arrays(spec, rng, make)
    out = runtime.forward(spec, x, w, b)
    assert out.dtype == np.float32
    grads = runtime.backward(spec, x, make(rng, spec.output_shape), w)
    assert {name: grad.dtype for name, grad in grads.items()} == dict.fromkeys(grads, np.float32)
    mean_spec = type(spec)(**{**vars(spec), "reduction": "mean"})
    mean_grads = runtime.backward(mean_spec, x, make(rng, spec.output_shape), w)
    assert all(grad.dtype == np.float32 for grad in mean_grads.values())


def test_float32_array_functions_keep_float32():
    x = np.ones((1, 2, 4, 4), dtype=np.float32)
    w = np.ones((2, 2, 2, 2), dtype=np.float32)
    b = np.ones(2, dtype=np.float32)
    grad = np.ones((1, 2, 3, 3), dtype=np.float32)
    results = [
        runtime.conv2d_forward(x, w, b),
        *runtime.conv2d_backward(x, w, grad),
        runtime.maxpool2d_forward(x, kernel=2, stride=1),
        runtime.minpool2d_backward(x, grad, kernel=2, stride=1, ties="split"),
        runtime.avgpool2d_forward(x, kernel=2, stride=1, count_include_pad=False),
        runtime.avgpool2d_backward(x, grad, kernel=2, stride=1, count_include_pad=False),
    ]
    assert [r.dtype for r in results] == [np.float32] * len(results)


def test_pool_stride_defaults_to_the_kernel_and_ints_mean_both_axes():
    rng = np.random.default_rng(47)
    x = fractions(rng, (1, 2, 6, 7), TIE_VALUES)
    grad_out = fractions(rng, (1, 2, 2, 2))
    for kind in ("max", "min", "avg"):
        defaulted = run_pool(kind, x, grad_out, 3, None, 0, ties="split")
        explicit = naive_pool(kind, x, grad_out, (3, 3), (3, 3), (0, 0), ties="split")
        assert_exact(defaulted[0], explicit[0])
        assert_exact(defaulted[1], explicit[1])


def test_conv2d_int_options_mean_both_axes():
    rng = np.random.default_rng(53)
    x, w = fractions(rng, (1, 2, 7, 7)), fractions(rng, (2, 1, 2, 2))
    as_ints = runtime.conv2d_forward(x, w, stride=2, padding=1, dilation=2, groups=2)
    as_pairs = naive_conv2d(x, w, None, None, (2, 2), (1, 1), (2, 2), 2)[0]
    assert_exact(as_ints, as_pairs)


def test_a_conv_spec_with_bias_run_without_b_adds_no_bias():
    rng = np.random.default_rng(59)
    spec = Conv2d(input_shape=(1, 1, 3, 3), out_channels=2, kernel=2)
    x, w = fractions(rng, spec.input_shape), fractions(rng, spec.weight_shape)
    zero_bias = np.array([Fraction(0), Fraction(0)], dtype=object)
    assert_exact(runtime.forward(spec, x, w), runtime.forward(spec, x, w, zero_bias))


# -- bad arrays ---------------------------------------------------------------------------------

X = np.zeros((1, 3, 5, 5))
W = np.zeros((2, 3, 3, 3))
BAD_CALLS = {
    "x not 4-D": (
        lambda: runtime.conv2d_forward(np.zeros((3, 5, 5)), W),
        "x has shape (3, 5, 5): expected a 4-D array (N, C, H, W)",
    ),
    "w not 4-D": (
        lambda: runtime.conv2d_forward(X, np.zeros((2, 3, 3))),
        "w has shape (2, 3, 3): expected a 4-D array",
    ),
    "w channels do not match x": (
        lambda: runtime.conv2d_forward(X, np.zeros((2, 2, 3, 3))),
        "w has shape (2, 2, 3, 3): expected (2, 3, 3, 3)",
    ),
    "w channels do not match x over groups": (
        lambda: runtime.conv2d_forward(np.zeros((1, 4, 5, 5)), np.zeros((2, 4, 3, 3)), groups=2),
        "w has shape (2, 4, 3, 3): expected (2, 2, 3, 3)",
    ),
    "bias of the wrong length": (
        lambda: runtime.conv2d_forward(X, W, np.zeros(3)),
        "b has shape (3,): expected (2,)",
    ),
    "conv grad_out of the wrong shape": (
        lambda: runtime.conv2d_backward(X, W, np.zeros((1, 2, 4, 4))),
        "grad_out has shape (1, 2, 4, 4): expected (1, 2, 3, 3) (the forward output shape)",
    ),
    "pool grad_out of the wrong shape": (
        lambda: runtime.maxpool2d_backward(X, np.zeros((1, 3, 3, 3)), kernel=2),
        "grad_out has shape (1, 3, 3, 3): expected (1, 3, 2, 2) (the forward output shape)",
    ),
    "avg pool grad_out with a wrong channel count": (
        lambda: runtime.avgpool2d_backward(X, np.zeros((1, 2, 2, 2)), kernel=2),
        "grad_out has shape (1, 2, 2, 2): expected (1, 3, 2, 2)",
    ),
    "pool input not 4-D": (
        lambda: runtime.minpool2d_forward(np.zeros((5, 5)), kernel=2),
        "x has shape (5, 5): expected a 4-D array (N, C, H, W)",
    ),
    "spec input of the wrong shape": (
        lambda: runtime.forward(MaxPool2d(input_shape=(1, 3, 6, 6), kernel=2), X),
        "x has shape (1, 3, 5, 5): expected (1, 3, 6, 6) (the spec's input_shape)",
    ),
    "spec conv without a weight": (
        lambda: runtime.forward(Conv2d(input_shape=(1, 3, 5, 5), kernel=3), X),
        "w is missing: expected an array of shape (1, 3, 3, 3)",
    ),
    "spec pool given a weight": (
        lambda: runtime.backward(
            AvgPool2d(input_shape=(1, 3, 5, 5), kernel=2), X, np.zeros((1, 3, 2, 2)), W
        ),
        "w must be None for this avgpool2d (it has no weight), got shape (2, 3, 3, 3)",
    ),
    "spec conv without bias given a bias": (
        lambda: runtime.forward(
            Conv2d(input_shape=(1, 3, 5, 5), out_channels=2, kernel=3, bias=False), X, W, [1, 2]
        ),
        "b must be None for this conv2d (it has no bias), got shape (2,)",
    ),
    "integer input": (
        lambda: runtime.avgpool2d_forward(np.zeros((1, 1, 2, 2), dtype=int), kernel=2),
        "x has dtype int64: expected float32, float64 or object",
    ),
    "an option the spec refuses": (
        lambda: runtime.conv2d_forward(X, W, stride=0),
        "stride=0 is not valid",
    ),
}


@pytest.mark.parametrize(("call", "message"), BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_bad_arrays_raise_value_errors_naming_argument_and_shapes(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


# -- the module itself --------------------------------------------------------------------------

PACKAGE_PATH = Path(runtime.__file__).parent

#: The runtime's own modules: the public face, the shared base and each kind's runtime.
RUNTIME_MODULES = [
    runtime,
    runtime_base,
    *(importlib.import_module(f"symcnn.layers.{kind}.runtime") for kind in layers.KINDS),
]


def _imports(module) -> set[str]:
    """Every module ``module`` imports, absolute (relative imports resolved against it)."""
    tree = ast.parse(Path(module.__file__).read_text())
    package = module.__name__.rpartition(".")[0].split(".")
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            if node.module:
                imported.add(".".join([*base, node.module]))
            else:  # ``from . import layers``: the names are modules
                imported.update(".".join([*base, alias.name]) for alias in node.names)
    return imported


def _is_spec_or_runtime(name: str) -> bool:
    """The spec group (the spec base, the registry, the kinds' specs) or a runtime module."""
    if name in ("symcnn.spec", "symcnn.layers", "symcnn.runtime", "symcnn.runtime_base"):
        return True
    parts = name.split(".")
    return parts[:2] == ["symcnn", "layers"] and len(parts) == 4 and parts[3] in ("spec", "runtime")


@pytest.mark.parametrize("module", RUNTIME_MODULES, ids=lambda module: module.__name__)
def test_runtime_imports_only_numpy_and_the_specs(module):
    imported = _imports(module)
    own = {name for name in imported if name.startswith("symcnn")}
    assert all(_is_spec_or_runtime(name) for name in own), sorted(own)
    standard = {"__future__", "collections.abc", "dataclasses", "functools", "typing"}
    assert imported - own <= {*standard, "numpy"}


def test_the_kind_runtimes_never_import_the_public_face():
    """symcnn.runtime re-exports the kinds' functions: the edge goes one way only."""
    for module in RUNTIME_MODULES[1:]:
        assert "symcnn.runtime" not in _imports(module), module.__name__


def test_runtime_works_without_sympy_installed():
    # symcnn/__init__ imports the symbolic core, so load the package without running it and
    # make any import of sympy fail.
    script = f"""
import sys, types
sys.modules["sympy"] = None
package = types.ModuleType("symcnn")
package.__path__ = [{str(PACKAGE_PATH)!r}]
sys.modules["symcnn"] = package
import numpy as np
from symcnn import runtime
out = runtime.maxpool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), kernel=2)
assert out.tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]], out
assert not any(name.startswith("sympy") and mod is not None for name, mod in sys.modules.items())
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_doctests():
    """The examples of the public face, the base and every kind's runtime all run."""
    total = 0
    for module in RUNTIME_MODULES:
        failures, tried = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failures == 0, module.__name__
        total += tried
    assert total > 10
