"""The checker's equality: exact where it can be, numeric where it cannot, never blind."""

from __future__ import annotations

from sympy import Abs, Heaviside, Max, Piecewise, Symbol, cosh, symbols, tanh

from symcnn.check.equality import compare

X, G = Symbol("x_0_0_0_0"), Symbol("g_0_0_0_0")
x, g = symbols("x g")


def test_tanh_gradients_that_differ_compare_unequal():
    verdict = compare(g * (1 - tanh(x) ** 2), g * (1 - tanh(x)))
    assert not verdict.equal
    assert verdict.method.startswith("numeric (50 digits")
    assert not verdict.exhaustive


def test_tanh_gradients_written_two_ways_compare_equal_numerically():
    verdict = compare(g * (1 - tanh(x) ** 2), g / cosh(x) ** 2)
    assert verdict.equal
    assert verdict.method.startswith("numeric (50 digits")
    assert not verdict.exhaustive  # a test, not a proof


def test_a_relu_gradient_that_differs_only_at_zero_compares_unequal():
    for upstream, entry in ((G, X), (g, x)):
        verdict = compare(
            Piecewise((upstream, entry > 0), (0, True)),
            Piecewise((upstream, entry >= 0), (0, True)),
        )
        assert not verdict.equal
        assert verdict.where[entry] == 0  # the kink
        assert verdict.method.startswith("exact evaluation")


def test_two_spellings_of_the_relu_gradient_compare_equal():
    relu = Piecewise((G, X > 0), (0, True))
    verdict = compare(relu, Piecewise((0, X <= 0), (G, True)))
    assert verdict.equal
    assert verdict.method.startswith("exact evaluation")
    assert compare(relu, G * Heaviside(X, 0)).equal  # not exactly computable: numerically


def test_a_difference_at_negative_inputs_only_compares_unequal():
    for entry, upstream in ((x, 1), (X, G)):
        verdict = compare(Abs(entry) * upstream, entry * upstream)
        assert not verdict.equal
        assert verdict.where[entry] < 0


def test_relu_outputs_through_max_and_piecewise_compare_equal():
    assert compare(Max(X, 0) * G, Piecewise((X * G, X > 0), (0, True))).equal


def test_comparisons_of_entries_are_proved_on_every_weak_ordering():
    a, b = Symbol("x_0_0_0_0"), Symbol("x_0_0_0_1")
    first = Piecewise((G, a >= b), (0, True))
    verdict = compare(first, Piecewise((0, b > a), (G, True)))
    assert verdict.equal and verdict.exhaustive and verdict.method == "exhaustive"
    wrong = compare(first, Piecewise((G, a > b), (0, True)))
    assert not wrong.equal and wrong.where[a] == wrong.where[b]  # the tie


def test_polynomials_are_compared_by_expansion():
    verdict = compare((X + G) ** 2, X**2 + 2 * X * G + G**2)
    assert verdict.equal and verdict.method == "exact"
    assert not compare(G**2, G).equal  # not linear in dL/dO: compared whole
