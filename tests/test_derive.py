"""The derivation, held against independent witnesses.

1. The lecture notes' worked example (seeds 001 and 002), transcribed by hand.
2. Plain SymPy: the output built from the definition on an explicitly zero-padded array, the
   loss ``L = sum(G*O)`` (over N for the mean), and ``sympy.diff(L, s)`` once per symbol.
3. Over the grid of ``conv_grid.CONV_GRID`` (stride 1-3, padding 0-2, dilation 1-2, groups 1-2,
   non-square kernels and inputs, several channels, batch > 1, bias on and off, both
   reductions), the three witnesses of every gradient:

   - the derived expressions evaluated on random exact rationals equal the generic runtime
     run on ``Fraction`` arrays, exactly;
   - the runtime's float64 gradients agree with central finite differences of its forward;
   - the adjoint dot test holds exactly: ``<dL/dX, X> = <dL/dW, W> = L without the bias`` and
     ``<dL/dB, B> = the bias part of L`` (Euler's identity for a loss linear in each argument).
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import itertools
import re
import sys
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from conv_grid import CONV_GRID, spec_id
from sympy import Add, Integer, Rational, S, Symbol, diff, expand, srepr, sympify

from symcnn import layers, runtime
from symcnn.cli import main
from symcnn.derive import DEFAULT_TERM_LIMIT, RULES, derive
from symcnn.layers.conv2d.spec import Conv2d
from symcnn.spec import Layer

derive_module = importlib.import_module("symcnn.derive")  # the package re-exports the function

# -- 1. the notes' example ---------------------------------------------------------------------


def X(r, c):
    """The notes' 1-based X_rc (seed 001; x_rc in seed 002) as the contract's symbol."""
    return Symbol(f"x_0_0_{r - 1}_{c - 1}")


def F(r, c):
    """The notes' filter F_rc (seed 001; w_rc in seed 002)."""
    return Symbol(f"w_0_0_{r - 1}_{c - 1}")


def dO(r, c):
    """The notes' dL/dO_rc (seed 001; dE/do_rc in seed 002): the upstream gradient G."""
    return Symbol(f"g_0_0_{r - 1}_{c - 1}")


b = Symbol("b_0")

# The forward pass, seed 002: o11 = w11 x11 + w12 x12 + w21 x21 + w22 x22, ... The notes have no
# bias; symcnn's conv2d has one by default, so every output adds b.
NOTES_FORWARD = {
    (1, 1): F(1, 1) * X(1, 1) + F(1, 2) * X(1, 2) + F(2, 1) * X(2, 1) + F(2, 2) * X(2, 2) + b,
    (1, 2): F(1, 1) * X(1, 2) + F(1, 2) * X(1, 3) + F(2, 1) * X(2, 2) + F(2, 2) * X(2, 3) + b,
    (2, 1): F(1, 1) * X(2, 1) + F(1, 2) * X(2, 2) + F(2, 1) * X(3, 1) + F(2, 2) * X(3, 2) + b,
    (2, 2): F(1, 1) * X(2, 2) + F(1, 2) * X(2, 3) + F(2, 1) * X(3, 2) + F(2, 2) * X(3, 3) + b,
}

# dL/dF, seed 001 ("Step 2: Using the Chain rule", the lines with X substituted). Seed 002 has
# the same four but with typos in its unevaluated form: its dE/dw21 line reads
# "dE/do21 do21/dw21 + dE/do11 ... + dE/do21 ..." (o21 twice, o12 missing) and its dE/dw22 line
# "dE/do22 ... + dE/do12 ... + dE/do21 ... + dE/do22" (o22 twice, o11 missing); its evaluated
# form (x21 x22 x31 x32 and x22 x23 x32 x33) agrees with seed 001.
NOTES_GRAD_W = {
    (1, 1): dO(1, 1) * X(1, 1) + dO(1, 2) * X(1, 2) + dO(2, 1) * X(2, 1) + dO(2, 2) * X(2, 2),
    (1, 2): dO(1, 1) * X(1, 2) + dO(1, 2) * X(1, 3) + dO(2, 1) * X(2, 2) + dO(2, 2) * X(2, 3),
    (2, 1): dO(1, 1) * X(2, 1) + dO(1, 2) * X(2, 2) + dO(2, 1) * X(3, 1) + dO(2, 2) * X(3, 2),
    (2, 2): dO(1, 1) * X(2, 2) + dO(1, 2) * X(2, 3) + dO(2, 1) * X(3, 2) + dO(2, 2) * X(3, 3),
}

# dL/dX, seed 001 ("For every element of X_i"), with its typos fixed:
# - the third line is printed "dL/dX12 = dL/dO12 * F12": it is dL/dX13 (X12 appears twice, X13
#   never);
# - the dL/dX21 line writes "dL/dQ11", "dL/dQ21" for dL/dO11, dL/dO21.
# Seed 002's version is garbled further ("dE/dx12 = dE/do11 w12 + dE/do12 1": the 1 is w11).
NOTES_GRAD_X = {
    (1, 1): dO(1, 1) * F(1, 1),
    (1, 2): dO(1, 1) * F(1, 2) + dO(1, 2) * F(1, 1),
    (1, 3): dO(1, 2) * F(1, 2),  # printed as dL/dX12
    (2, 1): dO(1, 1) * F(2, 1) + dO(2, 1) * F(1, 1),  # printed with Q for O
    (2, 2): dO(1, 1) * F(2, 2) + dO(1, 2) * F(2, 1) + dO(2, 1) * F(1, 2) + dO(2, 2) * F(1, 1),
    (2, 3): dO(1, 2) * F(2, 2) + dO(2, 2) * F(1, 2),
    (3, 1): dO(2, 1) * F(2, 1),
    (3, 2): dO(2, 1) * F(2, 2) + dO(2, 2) * F(2, 1),
    (3, 3): dO(2, 2) * F(2, 2),
}

# dL/dB, seed 000: "dB = sum over all spatial positions of dZ".
NOTES_GRAD_B = dO(1, 1) + dO(1, 2) + dO(2, 1) + dO(2, 2)

NOTES_SPEC = Conv2d(input_shape=(3, 3), kernel=(2, 2))


def test_notes_example_from_python():
    d = derive(NOTES_SPEC)
    assert {
        (i + 1, j + 1): d.output[0, 0, i, j] for i, j in itertools.product(range(2), repeat=2)
    } == NOTES_FORWARD
    assert {
        (p + 1, q + 1): d.grads["W"][0, 0, p, q] for p, q in itertools.product(range(2), repeat=2)
    } == NOTES_GRAD_W
    assert {
        (r + 1, c + 1): d.grads["X"][0, 0, r, c] for r, c in itertools.product(range(3), repeat=2)
    } == NOTES_GRAD_X
    assert d.grads["B"][0] == NOTES_GRAD_B


SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
#: A listed entry: ``O₁₁ = ...`` (forward) or ``∂L/∂X₂₃ = ...`` (a gradient), 1-based subscripts.
ENTRY_LINE = re.compile(r"^\s*(O|∂L/∂[XWB])([₀-₉]+) = (.*)$")
CONTINUATION_LINE = re.compile(r"^\s+= (.*)$")
#: The notes' letters in the printed text -> the contract's symbol prefix.
LETTERS = {"∂L/∂O": "g", "X": "x", "W": "w", "B": "b"}
PRINTED_SYMBOL = re.compile(r"(∂L/∂O|X|W|B)([₀-₉]+)")


def contract_symbol(letter: str, subscript: str) -> str:
    """``X₂₃`` -> ``x_0_0_1_2``; ``B₁`` -> ``b_0`` (the text drops batch and channel of 1)."""
    digits = [int(d) - 1 for d in subscript.translate(SUBSCRIPT_DIGITS)]
    prefix = LETTERS[letter]
    return "b_" + str(digits[0]) if prefix == "b" else f"{prefix}_0_0_{digits[0]}_{digits[1]}"


def printed_entries(text: str) -> dict[str, object]:
    """Every entry the text lists, ``{"O11": expr, "W12": expr, ...}``, read back as SymPy.

    A gradient entry is printed as its chain-rule sum and then, on a continuation line, with
    the local gradients substituted: the last line is its value.
    """
    values, current = {}, None
    for line in text.splitlines():
        if match := ENTRY_LINE.match(line):
            current = match.group(1)[-1] + match.group(2).translate(SUBSCRIPT_DIGITS)
            values[current] = match.group(3)
        elif current and (match := CONTINUATION_LINE.match(line)):
            values[current] = match.group(1)
        else:
            current = None
    entries = {}
    for name, value in values.items():
        source = PRINTED_SYMBOL.sub(lambda m: contract_symbol(m.group(1), m.group(2)), value)
        entries[name] = sympify(source.replace("·", "*"))
    return entries


def test_notes_example_from_the_command_line(capsys):
    """`symcnn derive conv2d --input 3x3 --kernel 2x2 --format text` lists exactly the 4 outputs,
    4 dW, 9 dX and 1 dB entries of the notes, each equal to the hand transcription above."""
    assert main(["derive", "conv2d", "--input", "3x3", "--kernel", "2x2", "--format", "text"]) == 0
    shown = printed_entries(capsys.readouterr().out)
    expected = {f"O{r}{c}": e for (r, c), e in NOTES_FORWARD.items()}
    expected |= {f"W{r}{c}": e for (r, c), e in NOTES_GRAD_W.items()}
    expected |= {f"X{r}{c}": e for (r, c), e in NOTES_GRAD_X.items()}
    expected |= {"B1": NOTES_GRAD_B}
    assert len(expected) == 4 + 4 + 9 + 1
    assert sorted(shown) == sorted(expected)
    for name, expr in expected.items():
        assert expand(shown[name] - expr) == 0, (name, shown[name], expr)


# -- published examples ----------------------------------------------------------------------


def forward_at(spec, x, w, b=None):
    """The derived output evaluated at integer arrays (exact), as nested lists of ints."""
    d = derive(spec)
    values = dict(zip(d.tensors.X.flat, map(Integer, np.asarray(x).flat), strict=True))
    values.update(zip(d.tensors.W.flat, map(Integer, np.asarray(w).flat), strict=True))
    if b is not None:
        values.update(zip(d.tensors.B.flat, map(Integer, np.asarray(b).flat), strict=True))
    return np.vectorize(lambda e: int(e.xreplace(values)), otypes=[object])(d.output).tolist()


def test_dive_into_deep_learning_cross_correlation():
    """Dive into Deep Learning (Zhang, Lipton, Li, Smola), 7.2.1: corr2d(X, K) with X = 0..8 as
    3x3 and K = [[0, 1], [2, 3]] prints tensor([[19., 25.], [37., 43.]])."""
    spec = Conv2d(input_shape=(3, 3), kernel=(2, 2), bias=False)
    out = forward_at(spec, np.arange(9).reshape(1, 1, 3, 3), [[[[0, 1], [2, 3]]]])
    assert out == [[[[19, 25], [37, 43]]]]


def test_dive_into_deep_learning_edge_detection():
    """Dive into Deep Learning, 7.2.2: X = ones(6, 8) with X[:, 2:6] = 0, K = [[1.0, -1.0]]
    prints six rows [0., 1., 0., 0., 0., -1., 0.] (a non-square 1x2 kernel)."""
    x = np.ones((6, 8), dtype=int)
    x[:, 2:6] = 0
    spec = Conv2d(input_shape=(6, 8), kernel=(1, 2), bias=False)
    out = forward_at(spec, x.reshape(1, 1, 6, 8), [[[[1, -1]]]])
    assert out == [[[[0, 1, 0, 0, 0, -1, 0]] * 6]]


def test_dive_into_deep_learning_multiple_channels():
    """Dive into Deep Learning, 7.4.1: two input channels X = [0..8, 1..9] (3x3 each) and
    K = [[[0, 1], [2, 3]], [[1, 2], [3, 4]]] give tensor([[56., 72.], [104., 120.]]); 7.4.2 stacks
    K, K + 1, K + 2 as three output channels: [[56, 72], [104, 120]], [[76, 100], [148, 172]],
    [[96, 128], [192, 224]]."""
    x = np.stack([np.arange(9).reshape(3, 3), np.arange(1, 10).reshape(3, 3)])[None]
    k = np.array([[[0, 1], [2, 3]], [[1, 2], [3, 4]]])
    one = Conv2d(input_shape=(1, 2, 3, 3), kernel=2, bias=False)
    assert forward_at(one, x, k[None]) == [[[[56, 72], [104, 120]]]]
    three = Conv2d(input_shape=(1, 2, 3, 3), out_channels=3, kernel=2, bias=False)
    assert forward_at(three, x, np.stack([k, k + 1, k + 2])) == [
        [[[56, 72], [104, 120]], [[76, 100], [148, 172]], [[96, 128], [192, 224]]]
    ]


def test_notes_stride_two_drops_the_intermediate_outputs():
    """Seed 001, "Interpreting Stride > 1": a 4x4 input A and 2x2 kernel W give the stride-1
    output 9 9 7 / 2 5 6 / -7 9 -10 and, dropping intermediates, the stride-2 output 9 7 / -7 -10.
    The slides do not print A and W, so the numbers cannot be recomputed; what they claim can:
    the stride-2 output is the stride-1 output at every second row and column (symbolically,
    for any A and W), and the printed matrices are related exactly that way."""
    stride_one = derive(Conv2d(input_shape=(4, 4), kernel=2)).output
    stride_two = derive(Conv2d(input_shape=(4, 4), kernel=2, stride=2)).output
    assert stride_two.tolist() == stride_one[:, :, ::2, ::2].tolist()
    printed_stride_one = np.array([[9, 9, 7], [2, 5, 6], [-7, 9, -10]])
    printed_stride_two = np.array([[9, 7], [-7, -10]])
    assert (printed_stride_one[::2, ::2] == printed_stride_two).all()


# -- 2. plain SymPy -------------------------------------------------------------------------------


def plain_sympy_output(spec, tensors):
    """O from the definition, on an explicitly zero-padded copy of X, with SymPy's own `+`."""
    n_batch, channels, height, width = spec.input_shape
    (ph, pw), (sh, sw), (dh, dw) = spec.padding, spec.stride, spec.dilation
    padded = np.full((n_batch, channels, height + 2 * ph, width + 2 * pw), S.Zero, dtype=object)
    padded[:, :, ph : ph + height, pw : pw + width] = tensors.X
    out_channels, in_per_group, kh, kw = spec.weight_shape
    output = np.empty(spec.output_shape, dtype=object)
    for n, k, i, j in np.ndindex(*spec.output_shape):
        group = k // (out_channels // spec.groups)
        total = tensors.B[k] if spec.bias else Integer(0)
        for c, p, q in itertools.product(range(in_per_group), range(kh), range(kw)):
            cell = padded[n, group * in_per_group + c, i * sh + p * dh, j * sw + q * dw]
            total += cell * tensors.W[k, c, p, q]
        output[n, k, i, j] = total
    return output


PLAIN_SPECS = [
    Conv2d(input_shape=(2, 2, 4, 3), out_channels=2, kernel=(2, 2), padding=1, stride=(2, 1)),
    Conv2d(input_shape=(2, 4, 3, 4), out_channels=2, kernel=(2, 2), dilation=(1, 2), groups=2,
           reduction="mean", bias=False),
    Conv2d(input_shape=(3, 1, 2, 4), kernel=(1, 2), padding=(2, 0), reduction="mean"),
]  # fmt: skip


@pytest.mark.parametrize("spec", PLAIN_SPECS, ids=spec_id)
def test_gradients_equal_plain_sympy_diff(spec):
    d = derive(spec)
    output = plain_sympy_output(spec, d.tensors)
    assert all(a == e for a, e in zip(d.output.flat, output.flat, strict=True))
    scale = Rational(1, spec.batch) if spec.reduction == "mean" else Integer(1)
    loss = scale * Add(*(g * o for g, o in zip(d.tensors.G.flat, output.flat, strict=True)))
    assert expand(d.loss - loss) == 0
    for name, symbols in d.tensors.parameters().items():
        for index, symbol in np.ndenumerate(symbols):
            assert expand(d.grads[name][index] - diff(loss, symbol)) == 0, (name, index)


def test_sum_gradients_are_in_sympys_canonical_form():
    """Not only equal: structurally the expression SymPy builds (so printing is stable)."""
    d = derive(Conv2d(input_shape=(2, 2, 3, 3), out_channels=2, kernel=(2, 2), padding=(1, 0)))
    loss = Add(*(g * o for g, o in zip(d.tensors.G.flat, d.output.flat, strict=True)))
    for name, symbols in d.tensors.parameters().items():
        for index, symbol in np.ndenumerate(symbols):
            expected = expand(diff(loss, symbol))
            assert d.grads[name][index].args == expected.args


def test_mean_divides_every_gradient_by_the_batch():
    summed = derive(Conv2d(input_shape=(3, 2, 3, 3), kernel=2, out_channels=2))
    mean = derive(Conv2d(input_shape=(3, 2, 3, 3), kernel=2, out_channels=2, reduction="mean"))
    assert summed.upstream_scale == 1 and mean.upstream_scale == Rational(1, 3)
    for name in ("X", "W", "B"):
        for a, m in zip(summed.grads[name].flat, mean.grads[name].flat, strict=True):
            assert expand(a / 3 - m) == 0
    assert all(a == m for a, m in zip(summed.output.flat, mean.output.flat, strict=True))


def test_derivation_shapes_and_parameters():
    d = derive(Conv2d(input_shape=(2, 4, 5, 6), out_channels=6, kernel=(3, 2), groups=2))
    assert d.output.shape == (2, 6, 3, 5)
    assert {name: g.shape for name, g in d.grads.items()} == {
        "X": (2, 4, 5, 6),
        "W": (6, 2, 3, 2),
        "B": (6,),
    }
    assert len(d.entries) == 2 * 6 * 3 * 5
    no_bias = derive(Conv2d(input_shape=(3, 3), kernel=2, bias=False))
    assert sorted(no_bias.grads) == ["W", "X"] and no_bias.tensors.B is None


def test_padding_larger_than_the_kernel():
    """PyTorch allows it; the border outputs see only padding and are the bias (or 0)."""
    d = derive(Conv2d(input_shape=(1, 1, 2, 2), kernel=1, padding=2))
    assert d.output.shape == (1, 1, 6, 6)
    assert d.output[0, 0, 0, 0] == b
    assert d.output[0, 0, 2, 2] == Symbol("w_0_0_0_0") * Symbol("x_0_0_0_0") + b
    no_bias = derive(Conv2d(input_shape=(1, 1, 2, 2), kernel=1, padding=2, bias=False))
    assert no_bias.output[0, 0, 5, 5] == 0
    assert no_bias.grads["W"][0, 0, 0, 0] == sum(
        (
            Symbol(f"g_0_0_{i + 2}_{j + 2}") * Symbol(f"x_0_0_{i}_{j}")
            for i in (0, 1)
            for j in (0, 1)
        ),
        Integer(0),
    )


def test_derivation_is_deterministic():
    spec = CONV_GRID[1]
    first, second = derive(spec), derive(spec)
    for a, c in zip(
        [first.output, *first.grads.values()], [second.output, *second.grads.values()], strict=True
    ):
        assert [srepr(e) for e in a.flat] == [srepr(e) for e in c.flat]


def test_term_limit_from_python(monkeypatch):
    spec = Conv2d(input_shape=(3, 3), kernel=2)
    # 16 multiply terms and 18 symbols (9 of X, 4 of W, 1 of B, 4 of G): 34 terms of work
    with pytest.raises(
        ValueError,
        match=r"would cost 34 terms \(16 multiply terms, 18 symbols\), more than the limit of 33",
    ):
        derive(spec, term_limit=33)
    assert derive(spec, term_limit=34).output.shape == (1, 1, 2, 2)
    assert DEFAULT_TERM_LIMIT == 1_000_000

    def no_symbols(*args):
        raise AssertionError("symbols were built before the size check")

    monkeypatch.setattr(derive_module.Tensors, "for_layer", no_symbols)
    big = Conv2d(input_shape=(1, 1, 1000, 1001), kernel=1)
    with pytest.raises(ValueError, match=r"1,001,000 multiply terms.*--max-terms.*term_limit="):
        derive(big)


def test_collector_is_restored(monkeypatch):
    import gc

    assert gc.isenabled()
    derive(NOTES_SPEC)
    assert gc.isenabled()
    gc.disable()
    try:
        derive(NOTES_SPEC)
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()


# -- 3. the three witnesses over the grid ---------------------------------------------------------


def random_rationals(rng, shape):
    """An object array of SymPy Rationals p/q, p in -9..9, q in 1..6 (exact, varied)."""
    numerators = rng.integers(-9, 10, size=shape)
    denominators = rng.integers(1, 7, size=shape)
    return np.vectorize(lambda p, q: Rational(int(p), int(q)), otypes=[object])(
        numerators, denominators
    )


def as_fractions(array):
    return np.vectorize(lambda r: Fraction(int(r.p), int(r.q)), otypes=[object])(array)


def evaluate(expressions, values):
    """Each expression with every symbol replaced by its rational: exact Fractions."""
    return np.vectorize(lambda e: Fraction(str(e.xreplace(values))), otypes=[object])(expressions)


@pytest.fixture(scope="module", params=CONV_GRID, ids=spec_id)
def witnessed(request):
    """A grid layer, its derivation and random rationals for X, W, B and G."""
    spec = request.param
    d = derive(spec)
    rng = np.random.default_rng(CONV_GRID.index(spec))
    arrays = {
        name: random_rationals(rng, symbols.shape)
        for name, symbols in vars(d.tensors).items()
        if symbols is not None
    }
    values = {}
    for name, symbols in vars(d.tensors).items():
        if symbols is not None:
            values.update(zip(symbols.flat, arrays[name].flat, strict=True))
    exact = {name: as_fractions(array) for name, array in arrays.items()}
    return spec, d, values, exact


def assert_exact(actual, expected):
    assert actual.shape == expected.shape
    mismatches = [
        (i, a, e) for (i, a), e in zip(np.ndenumerate(actual), expected.flat, strict=True) if a != e
    ]
    assert not mismatches, mismatches[:3]


def test_derived_equals_runtime_exactly(witnessed):
    spec, d, values, exact = witnessed
    bias = exact.get("B")
    assert_exact(evaluate(d.output, values), runtime.forward(spec, exact["X"], exact["W"], bias))
    grads = runtime.backward(spec, exact["X"], exact["G"], exact["W"])
    assert sorted(grads) == sorted(d.grads)
    for name, expressions in d.grads.items():
        assert_exact(evaluate(expressions, values), grads[name])


def test_adjoint_dot_products_exactly(witnessed):
    """L is linear in each of X, W, B, so <dL/dX, X> = <dL/dW, W> = L with the bias left out
    (the adjoint test <A x, G> = <x, A^T G>), and <dL/dB, B> = the bias part of L."""
    spec, d, values, exact = witnessed
    scale = Fraction(1, spec.batch) if spec.reduction == "mean" else Fraction(1)
    linear = scale * np.sum(exact["G"] * runtime.forward(spec, exact["X"], exact["W"]))
    grads = {name: evaluate(expressions, values) for name, expressions in d.grads.items()}
    assert np.sum(grads["X"] * exact["X"]) == linear
    assert np.sum(grads["W"] * exact["W"]) == linear
    if spec.bias:
        bias_part = scale * np.sum(exact["G"] * exact["B"][None, :, None, None])
        assert np.sum(grads["B"] * exact["B"]) == bias_part
        assert bias_part != 0  # the identity is not vacuous


def test_runtime_agrees_with_central_differences(witnessed):
    """Central differences of the runtime's float64 forward against its float64 backward.

    Along any line theta + h*v (v moving X, W and B together) the loss is a polynomial of degree
    2 in h, and the central difference (L(h) - L(-h)) / 2h of a quadratic is its derivative at
    0 exactly, for any h. So h = 1 and the only error is float64 rounding in two forward passes
    and the dot products: at most about m * eps * M, m the number of terms summed (multiply
    terms plus outputs), M the same sums taken over absolute values. The tolerance is that
    bound, times 4; a wrong gradient entry is off by O(1).
    """
    spec, _, _, exact = witnessed
    rng = np.random.default_rng(7)
    floats = {name: array.astype(np.float64) for name, array in exact.items()}
    scale = 1 / spec.batch if spec.reduction == "mean" else 1.0
    grads = runtime.backward(spec, floats["X"], floats["G"], floats["W"])
    leaves = [name for name in ("X", "W", "B") if name in grads]

    def loss(arrays):
        return scale * np.sum(
            floats["G"] * runtime.forward(spec, arrays["X"], arrays["W"], arrays.get("B"))
        )

    directions = [
        {name: rng.standard_normal(floats[name].shape) for name in leaves} for _ in range(2)
    ]
    directions += [
        {
            name: (
                rng.standard_normal(floats[name].shape)
                if name == only
                else np.zeros_like(floats[name])
            )
            for name in leaves
        }
        for only in leaves
    ]
    terms = spec.multiply_terms + int(np.prod(spec.output_shape))
    eps = np.finfo(np.float64).eps
    for v in directions:
        plus = {name: floats[name] + v[name] for name in leaves}
        minus = {name: floats[name] - v[name] for name in leaves}
        central = (loss(plus) - loss(minus)) / 2
        directional = sum(np.sum(grads[name] * v[name]) for name in leaves)
        absolute = {name: np.abs(floats[name]) + np.abs(v[name]) for name in leaves}
        magnitude = abs(scale) * np.sum(
            np.abs(floats["G"])
            * runtime.forward(spec, absolute["X"], absolute["W"], absolute.get("B"))
        )
        assert abs(central - directional) <= 4 * terms * eps * magnitude, (central, directional)


def test_the_benchmarks_naive_baseline_agrees_and_its_report_renders(monkeypatch):
    """benchmarks/bench_derive.py's baseline (sympy.diff per symbol) on a tiny layer, so the
    script cannot rot unnoticed; its figures are in docs/benchmarks.md."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_derive.py"
    module_spec = importlib.util.spec_from_file_location("bench_derive", path)
    bench = importlib.util.module_from_spec(module_spec)
    monkeypatch.setitem(sys.modules, "bench_derive", bench)  # dataclasses look their module up
    module_spec.loader.exec_module(bench)
    spec = Conv2d(input_shape=(2, 2, 3, 3), out_channels=2, kernel=2, padding=1, stride=2)
    naive, derived = bench.naive_gradients(spec), derive(spec).grads
    for name in derived:
        assert all(
            expand(a - b) == 0 for a, b in zip(naive[name].flat, derived[name].flat, strict=True)
        )
    row = {"name": bench.LENET_C1, "terms": 1, "symbols": 1, "derive": 0.5, "json": 1.0}
    text = bench.report([{**row, "megabytes": 0.1, "naive_text": "—"}], "python3 x", "here", 60)
    assert "| LeNet C1" in text and "(met: 0.500 s)" in text


@pytest.mark.parametrize("spec", ["conv2d", None, {"type": "conv2d"}])
def test_derive_refuses_what_is_not_a_spec_with_value_error(spec):
    with pytest.raises(ValueError, match=r"is not valid: expected a layer spec such as"):
        derive(spec)


def test_a_layer_type_without_a_rule_is_refused_by_the_registry():
    """derive reaches the rules through the registry: a type no kind defines is named."""

    @dataclasses.dataclass(frozen=True)
    class Ruleless(Layer):
        type: ClassVar[str] = "ruleless"

        @property
        def output_shape(self):
            return self.input_shape

    with pytest.raises(ValueError, match="a derivation is not available for ruleless: it is for"):
        derive(Ruleless(input_shape=(1, 1, 2, 2)))


def test_the_rules_are_the_kinds_tables():
    assert layers.table("rule") == RULES
    assert set(RULES) == set(layers.layer_types())


def test_two_layers_of_one_network_share_no_symbol():
    spec = Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2))
    first, second = derive(spec, namespace="l0"), derive(spec, namespace="l1")
    symbols = [
        {s for grad in d.grads.values() for e in grad.flat for s in e.free_symbols}
        for d in (first, second)
    ]
    assert symbols[0] and not symbols[0] & symbols[1]
    assert str(first.grads["W"][0, 0, 0, 0]).startswith("l0_g_0_0_0_0*l0_x_0_0_0_0")
    plain = derive(spec)  # the contract's names are unchanged
    assert str(plain.grads["W"][0, 0, 0, 0]).startswith("g_0_0_0_0*x_0_0_0_0")
