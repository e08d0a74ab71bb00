"""The exact pooling rules (symcnn.pooling) and their identities, against independent witnesses.

- the generic runtime (symcnn.runtime) on exact Fractions: random inputs, and inputs built to
  have 2-, 3- and 4-way ties across overlapping windows, for every tie rule;
- exact central finite differences away from ties (a pool is piecewise linear, so a step smaller
  than every gap between distinct values gives the derivative exactly);
- hand computations: the notes' 4x4 pooling example (seed 001), the notes' printed max-pool
  mask (seed 003), the notes' even-spreading example (seed 000), and small padded averages;
- SymPy's own evaluated construction, which the fast template construction must reproduce.
"""

from __future__ import annotations

import functools
import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sympy import Max, Min, Rational, Symbol, symbols, sympify

from symcnn import identities, pooling, runtime
from symcnn.derive import derive
from symcnn.evaluate import bind, evaluate
from symcnn.layers import layer_from_dict
from symcnn.layers.pool.spec import AvgPool2d, MaxPool2d, MinPool2d

EXTREME_POOLS = {"maxpool2d": MaxPool2d, "minpool2d": MinPool2d}
TIES = ("first", "all", "split")


# -- helpers ------------------------------------------------------------------------------------


@functools.cache
def derived(spec):
    """One derivation per spec (specs are frozen and hashable)."""
    return derive(spec)


def as_fractions(rows):
    return np.vectorize(Fraction, otypes=[object])(np.asarray(rows, dtype=object))


def image(rows):
    """A 2-D list as a (1, 1, H, W) object array of Fractions."""
    return as_fractions(rows)[None, None]


def random_fractions(rng, shape, values=None):
    """Fractions p/q with small p, q; or drawn from ``values`` (few values: many ties)."""
    if values is not None:
        return as_fractions(rng.choice(values, size=shape))
    numerators = rng.integers(-20, 21, size=shape)
    denominators = rng.integers(1, 6, size=shape)
    return np.vectorize(Fraction, otypes=[object])(numerators, denominators)


def exact(spec, x, upstream):
    """The derivation's forward output and dL/dX evaluated exactly at X = x, G = upstream."""
    d = derived(spec)
    values = bind(d.tensors.X, x) | bind(d.tensors.G, upstream)
    return evaluate(d.output, values), evaluate(d.grads["X"], values)


def assert_equal_arrays(actual, expected):
    assert actual.shape == expected.shape
    wrong = [
        (index, a, e)
        for (index, a), e in zip(np.ndenumerate(actual), expected.flat, strict=True)
        if a != e
    ]
    assert not wrong, wrong[:5]


def assert_matches_runtime(spec, x, upstream):
    output, grad = exact(spec, x, upstream)
    assert_equal_arrays(output, runtime.forward(spec, x))
    assert_equal_arrays(grad, runtime.backward(spec, x, upstream)["X"])


def window_values(spec, x, n, c, i, j):
    return [x[n, c, r, s] for r, s in pooling.window_cells(spec, i, j)]


def tie_sizes(spec, x):
    """How many cells share the extreme, for every window."""
    pick = max if spec.type == "maxpool2d" else min
    sizes = set()
    for n, c, i, j in np.ndindex(spec.output_shape):
        values = window_values(spec, x, n, c, i, j)
        sizes.add(values.count(pick(values)))
    return sizes


# -- specs: validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"kernel": 0}, "kernel=0"),
        ({"kernel": (2, 2), "stride": 0}, "stride=0"),
        ({"kernel": (2, 2), "padding": -1}, "padding=-1"),
        ({"kernel": (2, 2), "padding": (2, 0)}, "padding=[2, 0]"),
        ({"kernel": (5, 2)}, "kernel=[5, 2]"),
        ({"kernel": (2, 2), "stride": (1, 2, 3)}, "stride=(1, 2, 3)"),
        ({"kernel": "2"}, "kernel='2'"),
    ],
)
@pytest.mark.parametrize("layer", [MaxPool2d, MinPool2d, AvgPool2d])
def test_pool_specs_refuse_bad_windows_naming_the_value(layer, options, named):
    with pytest.raises(ValueError, match="not valid") as error:
        layer(input_shape=(1, 1, 4, 4), **options)
    assert named in str(error.value)


@pytest.mark.parametrize("layer", [MaxPool2d, MinPool2d])
@pytest.mark.parametrize("ties", ["First", "max", None, 1])
def test_extreme_pools_refuse_an_unknown_tie_rule(layer, ties):
    with pytest.raises(ValueError, match=r"ties=.* expected one of first, all, split"):
        layer(input_shape=(4, 4), kernel=2, ties=ties)


@pytest.mark.parametrize("value", [1, "yes", None])
def test_avgpool_refuses_a_non_boolean_count_include_pad(value):
    with pytest.raises(ValueError, match=r"count_include_pad=.* expected True or False"):
        AvgPool2d(input_shape=(4, 4), kernel=2, count_include_pad=value)


def test_pool_defaults_and_resolved_options():
    spec = MaxPool2d(input_shape=(5, 5), kernel=(2, 3))
    assert spec.stride == (2, 3)  # the stride defaults to the kernel
    assert spec.ties == "first"  # PyTorch's behaviour
    assert spec.output_shape == (1, 1, 2, 1)  # windows that do not tile: floor
    assert AvgPool2d(input_shape=(4, 4), kernel=2).count_include_pad is True  # PyTorch's default
    as_dict = spec.to_dict()
    assert as_dict["stride"] == [2, 3] and as_dict["ties"] == "first"
    assert layer_from_dict(as_dict) == spec


def test_padding_is_at_most_half_the_kernel_as_in_pytorch():
    MaxPool2d(input_shape=(4, 4), kernel=(3, 2), padding=(1, 1))  # 2*1 <= 3 and 2*1 <= 2
    with pytest.raises(ValueError, match="at most half the kernel along the width"):
        MaxPool2d(input_shape=(4, 4), kernel=(3, 1), padding=(1, 1))


# -- forward entries ----------------------------------------------------------------------------


def test_max_and_min_entries_are_max_and_min_of_the_real_cells():
    for layer, function in ((MaxPool2d, Max), (MinPool2d, Min)):
        spec = layer(input_shape=(3, 3), kernel=2, stride=1, padding=1)
        d = derived(spec)
        x = d.tensors.X[0, 0]
        assert d.output[0, 0, 0, 0] == x[0, 0]  # three padded cells, never a candidate
        assert d.output[0, 0, 0, 1] == function(x[0, 0], x[0, 1])
        assert d.output[0, 0, 1, 1] == function(x[0, 0], x[0, 1], x[1, 0], x[1, 1])


def test_avg_entries_divide_by_the_window_or_by_its_real_cells():
    x = derived(AvgPool2d(input_shape=(3, 3), kernel=2, stride=1, padding=1)).tensors.X[0, 0]
    with_pad = derived(AvgPool2d(input_shape=(3, 3), kernel=2, stride=1, padding=1)).output
    without = derived(
        AvgPool2d(input_shape=(3, 3), kernel=2, stride=1, padding=1, count_include_pad=False)
    ).output
    assert with_pad[0, 0, 0, 0] == x[0, 0] / 4
    assert without[0, 0, 0, 0] == x[0, 0]
    assert with_pad[0, 0, 0, 1] == (x[0, 0] + x[0, 1]) / 4
    assert without[0, 0, 0, 1] == (x[0, 0] + x[0, 1]) / 2
    assert without[0, 0, 1, 1] == (x[0, 0] + x[0, 1] + x[1, 0] + x[1, 1]) / 4


# -- the tie rules, exactly as stated -----------------------------------------------------------


def test_the_partials_state_each_tie_rule():
    a, b, c = symbols("a b c")
    window = [a, b, c]
    first = [pooling.TIE_RULES["first"](window, i, pooling.MAXIMUM) for i in range(3)]
    assert str(first[0]) == "Piecewise((1, (a >= b) & (a >= c)), (0, True))"
    assert str(first[1]) == "Piecewise((1, (b >= c) & (a < b)), (0, True))"
    assert str(first[2]) == "Piecewise((1, (a < c) & (b < c)), (0, True))"
    every = pooling.TIE_RULES["all"](window, 1, pooling.MINIMUM)
    assert str(every) == "Piecewise((1, (a >= b) & (b <= c)), (0, True))"
    split = pooling.TIE_RULES["split"](window, 0, pooling.MAXIMUM)
    ties = "Piecewise((1, Eq(a, b)), (0, True)) + Piecewise((1, Eq(a, c)), (0, True)) + 1"
    assert str(split) == f"Piecewise((1/({ties}), (a >= b) & (a >= c)), (0, True))"


@pytest.mark.parametrize("layer", ["maxpool2d", "minpool2d"])
def test_a_three_way_tie_passes_on_the_upstream_gradient_as_each_rule_says(layer):
    x = image([[5, 5, 5]])  # one window, three tied cells
    upstream = image([[6]])
    expected = {"first": [6, 0, 0], "all": [6, 6, 6], "split": [2, 2, 2]}
    for ties in TIES:
        spec = EXTREME_POOLS[layer](input_shape=(1, 3), kernel=(1, 3), ties=ties)
        _, grad = exact(spec, x, upstream)
        assert list(grad.flat) == expected[ties], ties


def test_sympys_own_derivative_of_max_is_not_used():
    # Why the rules are written out: d/dx Max gives Heaviside(0) = 1/2 to each tied entry, so a
    # three-way tie would pass on 3/2 of the upstream gradient.
    a, b, c = symbols("a b c")
    sympy_total = sum(Max(a, b, c).diff(s) for s in (a, b, c)).subs({a: 1, b: 1, c: 1})
    assert sympy_total == Rational(3, 2)
    spec = MaxPool2d(input_shape=(1, 3), kernel=(1, 3), ties="first")
    _, grad = exact(spec, image([[1, 1, 1]]), image([[1]]))
    assert sum(grad.flat) == 1


# -- exact against the runtime ------------------------------------------------------------------

EXTREME_GEOMETRIES = [
    # (input HxW, kernel, stride, padding): tiling, overlapping, not tiling, padded
    ((4, 4), (2, 2), (2, 2), (0, 0)),
    ((4, 4), (2, 2), (1, 1), (0, 0)),
    ((5, 5), (3, 3), (2, 2), (1, 1)),
    ((5, 4), (2, 3), (2, 1), (1, 1)),
    ((5, 5), (2, 2), (2, 2), (0, 0)),
    ((3, 5), (3, 2), (1, 3), (1, 0)),
]


@pytest.mark.parametrize("geometry", EXTREME_GEOMETRIES)
@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("layer", ["maxpool2d", "minpool2d"])
def test_extreme_pools_match_the_runtime_on_random_and_tied_inputs(layer, ties, geometry):
    size, kernel, stride, padding = geometry
    spec = EXTREME_POOLS[layer](
        input_shape=(2, 2, *size), kernel=kernel, stride=stride, padding=padding, ties=ties
    )
    rng = np.random.default_rng(sum(size) * 31 + kernel[0])
    for values in (None, [0, 1], [-1, 0, 1], [3]):  # random; then few values: many ties
        x = random_fractions(rng, spec.input_shape, values)
        upstream = random_fractions(rng, spec.output_shape)
        assert_matches_runtime(spec, x, upstream)


# Inputs built to have ties of the max within and across overlapping windows (2x2 windows,
# stride 1); negated, they have the same ties of the min (tied_image).
TIED_INPUTS = [
    [[3, 3, 1], [3, 0, 3], [1, 3, 3]],  # 3-way ties at two corners, 2-way in the others
    [[2, 2, 2, 2], [2, 2, 2, 2], [2, 2, 2, 2]],  # 4-way in every window
    [[1, 4, 4, 0], [4, 4, 1, 4], [0, 1, 4, 4]],  # 2-, 3- and 4-way ties in overlapping windows
    [[0, 9, 0], [9, 0, 9], [0, 9, 0]],  # max ties of 2 everywhere, min ties of 2 everywhere
]


def tied_image(rows, layer):
    return image(rows) if layer == "maxpool2d" else -image(rows)


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("layer", ["maxpool2d", "minpool2d"])
def test_built_ties_match_the_runtime_and_cover_two_three_and_four_way_ties(layer, ties):
    seen = set()
    rng = np.random.default_rng(7)
    for rows in TIED_INPUTS:
        x = tied_image(rows, layer)
        spec = EXTREME_POOLS[layer](input_shape=x.shape, kernel=2, stride=1, ties=ties)
        assert_matches_runtime(spec, x, random_fractions(rng, spec.output_shape))
        seen |= tie_sizes(spec, x)
    assert {2, 3, 4} <= seen  # the inputs really hold every kind of tie


@pytest.mark.parametrize("ties", ["first", "split"])
@pytest.mark.parametrize("layer", ["maxpool2d", "minpool2d"])
def test_each_windows_gradient_sums_to_its_upstream_value(layer, ties):
    # One window's upstream value at a time (the others 0), so overlapping windows stay apart.
    for rows in TIED_INPUTS:
        x = tied_image(rows, layer)
        spec = EXTREME_POOLS[layer](input_shape=x.shape, kernel=2, stride=1, ties=ties)
        for index in np.ndindex(spec.output_shape):
            upstream = np.zeros(spec.output_shape, dtype=object)
            upstream[index] = Fraction(5, 3)
            _, grad = exact(spec, x, upstream)
            assert sum(grad.flat) == Fraction(5, 3)


def test_under_all_each_tied_cell_gets_the_whole_upstream_value():
    x = image(TIED_INPUTS[2])
    spec = MaxPool2d(input_shape=x.shape, kernel=2, stride=1, ties="all")
    for n, c, i, j in np.ndindex(spec.output_shape):
        upstream = np.zeros(spec.output_shape, dtype=object)
        upstream[n, c, i, j] = Fraction(1)
        _, grad = exact(spec, x, upstream)
        values = window_values(spec, x, n, c, i, j)
        assert sum(grad.flat) == values.count(max(values))


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize(
    "geometry",
    [
        ((4, 4), (2, 2), (2, 2), (0, 0)),
        ((4, 4), (3, 3), (1, 1), (1, 1)),  # overlapping and padded
        ((5, 5), (3, 2), (2, 1), (1, 1)),  # not tiling, padded
        ((5, 5), (2, 2), (2, 2), (0, 0)),  # not tiling
    ],
)
def test_avgpool_matches_the_runtime(geometry, count_include_pad):
    size, kernel, stride, padding = geometry
    spec = AvgPool2d(
        input_shape=(2, 1, *size),
        kernel=kernel,
        stride=stride,
        padding=padding,
        count_include_pad=count_include_pad,
    )
    rng = np.random.default_rng(3)
    x = random_fractions(rng, spec.input_shape)
    assert_matches_runtime(spec, x, random_fractions(rng, spec.output_shape))


@given(
    layer=st.sampled_from(["maxpool2d", "minpool2d", "avgpool2d"]),
    option=st.sampled_from([*TIES, True, False]),
    height=st.integers(1, 5),
    width=st.integers(1, 5),
    kernel=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    pad=st.tuples(st.booleans(), st.booleans()),
    seed=st.integers(0, 2**16),
)
def test_any_small_pool_matches_the_runtime(
    layer, option, height, width, kernel, stride, pad, seed
):
    padding = tuple(k // 2 if p else 0 for k, p in zip(kernel, pad, strict=True))
    if any(k > s + 2 * p for k, s, p in zip(kernel, (height, width), padding, strict=True)):
        return  # the window does not fit (the spec refuses it: tested above)
    options = dict(input_shape=(1, 1, height, width), kernel=kernel, stride=stride)
    if layer == "avgpool2d":
        count_include_pad = option if isinstance(option, bool) else True
        spec = AvgPool2d(**options, padding=padding, count_include_pad=count_include_pad)
    else:
        ties = option if isinstance(option, str) else "first"
        spec = EXTREME_POOLS[layer](**options, padding=padding, ties=ties)
    rng = np.random.default_rng(seed)
    x = random_fractions(rng, spec.input_shape, [0, 1, 2])  # three values: ties everywhere
    assert_matches_runtime(spec, x, random_fractions(rng, spec.output_shape))


def test_mean_reduction_divides_by_the_batch():
    rng = np.random.default_rng(11)
    for reduction_free in (
        MaxPool2d(input_shape=(3, 1, 3, 3), kernel=2, stride=1, ties="split"),
        AvgPool2d(input_shape=(3, 1, 3, 3), kernel=2, stride=1, padding=1),
    ):
        mean = layer_from_dict(reduction_free.to_dict() | {"reduction": "mean"})
        x = random_fractions(rng, mean.input_shape, [0, 1])
        upstream = random_fractions(rng, mean.output_shape)
        _, summed = exact(reduction_free, x, upstream)
        _, averaged = exact(mean, x, upstream)
        assert_equal_arrays(averaged, summed / 3)
        assert_matches_runtime(mean, x, upstream)


def test_padded_cells_never_win():
    # Zeros in the padding would win a max over negative cells (and a min over positive ones),
    # and the window's gradient would vanish into the padding.
    negative = image([[-5, -7, -6], [-9, -8, -4], [-3, -2, -1]])
    for layer, x in ((MaxPool2d, negative), (MinPool2d, -negative)):
        spec = layer(input_shape=x.shape, kernel=3, stride=2, padding=1)
        output, grad = exact(spec, x, np.ones(spec.output_shape, dtype=object))
        assert all(value != 0 for value in output.flat)
        assert sum(grad.flat) == spec.output_shape[2] * spec.output_shape[3]


def test_cells_no_window_reads_get_no_gradient():
    spec = MaxPool2d(input_shape=(5, 5), kernel=2, stride=2)  # row 4 and column 4 unread
    grad = derived(spec).grads["X"][0, 0]
    assert all(entry == 0 for entry in grad[4, :]) and all(entry == 0 for entry in grad[:, 4])
    assert all(entry != 0 for entry in grad[:4, :4].flat)


# -- finite differences, away from ties ---------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        MaxPool2d(input_shape=(1, 2, 4, 4), kernel=3, stride=1, padding=1),
        MinPool2d(input_shape=(1, 1, 5, 5), kernel=2, stride=2),
        AvgPool2d(input_shape=(1, 1, 4, 4), kernel=3, stride=2, padding=1),
        AvgPool2d(input_shape=(1, 1, 4, 4), kernel=3, stride=1, padding=1, count_include_pad=False),
    ],
)
def test_exact_central_differences_agree_away_from_ties(spec):
    rng = np.random.default_rng(5)
    size = int(np.prod(spec.input_shape))
    x = as_fractions(rng.permutation(size)).reshape(spec.input_shape)  # distinct: no ties
    upstream = random_fractions(rng, spec.output_shape)
    _, grad = exact(spec, x, upstream)
    step = Fraction(1, 4)  # under half the smallest gap (1): no window changes its extreme

    def loss(values):
        return sum((upstream * runtime.forward(spec, values)).flat, Fraction(0))

    for index in np.ndindex(spec.input_shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        assert (loss(plus) - loss(minus)) / (2 * step) == grad[index], index


# -- worked examples from the notes (hand-computed) ---------------------------------------------

# Seed 001 (recitation slides, "Pooling: Max, Mean, Min") shows this 4x4 input under 2x2 pooling
# without printing the results. By hand, stride 2, windows [[4,8],[16,10]], [[3,9],[0,7]],
# [[6,12],[67,18]], [[13,8],[3,7]]:
#   max  = [[16, 9], [67, 13]]
#   mean = [[38/4, 19/4], [103/4, 31/4]] = [[19/2, 19/4], [103/4, 31/4]]
#   min  = [[4, 0], [6, 3]]
# An upstream gradient [[1, 2], [3, 4]] is routed by max to 16 at (1,0), 9 at (0,3), 67 at (3,0)
# and 13 at (2,2); by min to 4 at (0,0), 0 at (1,2), 6 at (2,0) and 3 at (3,2); by the mean to
# every cell of each window as a quarter of its value.
SLIDES_INPUT = [[4, 8, 3, 9], [16, 10, 0, 7], [6, 12, 13, 8], [67, 18, 3, 7]]
SLIDES_UPSTREAM = [[1, 2], [3, 4]]
SLIDES_EXPECTED = {
    "maxpool2d": (
        [[16, 9], [67, 13]],
        [[0, 0, 0, 2], [1, 0, 0, 0], [0, 0, 4, 0], [3, 0, 0, 0]],
    ),
    "minpool2d": (
        [[4, 0], [6, 3]],
        [[1, 0, 0, 0], [0, 0, 2, 0], [3, 0, 0, 0], [0, 0, 4, 0]],
    ),
    "avgpool2d": (
        [[Fraction(19, 2), Fraction(19, 4)], [Fraction(103, 4), Fraction(31, 4)]],
        [[Fraction(1, 4)] * 2 + [Fraction(1, 2)] * 2] * 2 + [[Fraction(3, 4)] * 2 + [1] * 2] * 2,
    ),
}


@pytest.mark.parametrize("layer", sorted(SLIDES_EXPECTED))
def test_the_slides_4x4_pooling_example(layer):
    spec = layer_from_dict({"type": layer, "input_shape": [4, 4], "kernel": [2, 2]})
    output, grad = exact(spec, image(SLIDES_INPUT), image(SLIDES_UPSTREAM))
    expected_output, expected_grad = SLIDES_EXPECTED[layer]
    assert_equal_arrays(output, image(expected_output))
    assert_equal_arrays(grad, image(expected_grad))


# Seed 003 ("Backward Max-pool") prints a 4x4 input Z, its 2x2 max pool a = [[8, 6], [11, 13]] and
# the gradient mask g (1 where Z equals its window's max): an upstream of ones routed by max-unpool.
NOTES_Z = [[1, 2, 3, 4], [8, 7, 5, 6], [9, 11, 12, 10], [10, 7, 13, 9]]
NOTES_POOLED = [[8, 6], [11, 13]]
NOTES_MASK = [[0, 0, 0, 0], [1, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]


@pytest.mark.parametrize("ties", TIES)
def test_the_notes_printed_max_pool_mask(ties):
    spec = MaxPool2d(input_shape=(4, 4), kernel=2, ties=ties)  # no ties here: every rule agrees
    output, grad = exact(spec, image(NOTES_Z), np.ones(spec.output_shape, dtype=object))
    assert_equal_arrays(output, image(NOTES_POOLED))
    assert_equal_arrays(grad, image(NOTES_MASK))


def test_the_notes_equality_mask_is_the_all_rule():
    # Seed 003's g_maxpool: repeat the pooled map over each 2x2 window and compare for equality,
    # so every cell equal to its window's max gets the gradient, ties included: ties="all".
    z = np.array([[2, 2, 1, 2], [2, 2, 0, 2], [1, 3, 3, 3], [3, 0, 3, 1]], dtype=object)
    spec = MaxPool2d(input_shape=z.shape, kernel=2, ties="all")
    pooled = runtime.forward(spec, image(z))[0, 0]
    mask = np.repeat(np.repeat(pooled, 2, axis=1), 2, axis=0) == z
    _, grad = exact(spec, image(z), np.ones(spec.output_shape, dtype=object))
    assert_equal_arrays(grad[0, 0], mask.astype(int).astype(object))
    assert tie_sizes(spec, image(z)) == {2, 3, 4}  # windows with 4-, 2-, 2- and 3-way ties


def test_the_notes_even_spreading_example():
    # Seed 000: "If the region was 2x2, or size 4, and the value in dZ was 8, we'd divide 8 by 4,
    # yielding 2, and insert the 2 into all 4 slots of the current region."
    spec = AvgPool2d(input_shape=(2, 2), kernel=2)
    _, grad = exact(spec, image([[5, -1], [0, 3]]), image([[8]]))
    assert_equal_arrays(grad, image([[2, 2], [2, 2]]))


def test_overlapping_padded_average_by_hand():
    # 3x3 input, 2x2 windows, stride 1, padding 1: 16 windows, each cell in 4 of them.
    # count_include_pad: every window divides by 4, so dL/dX = 4 * 1/4 = 1 under an upstream of
    # ones. Without it: a corner is in windows of 1, 2, 2 and 4 real cells (1 + 1/2 + 1/2 + 1/4),
    # an edge cell in windows of 2, 2, 4, 4 (1/2 + 1/2 + 1/4 + 1/4), the centre in four of 4.
    ones = np.ones((1, 1, 4, 4), dtype=object)
    x = image([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    options = dict(input_shape=(3, 3), kernel=2, stride=1, padding=1)
    _, with_pad = exact(AvgPool2d(**options), x, ones)
    _, without = exact(AvgPool2d(**options, count_include_pad=False), x, ones)
    assert_equal_arrays(with_pad, image([[1, 1, 1], [1, 1, 1], [1, 1, 1]]))
    corner, edge = Fraction(9, 4), Fraction(3, 2)
    assert_equal_arrays(
        without, image([[corner, edge, corner], [edge, 1, edge], [corner, edge, corner]])
    )
    # and symbolically: the centre cell is the quarter of the four windows that hold it
    d = derived(AvgPool2d(**options, count_include_pad=False))
    g = d.tensors.G[0, 0]
    assert d.grads["X"][0, 0, 1, 1] == (g[1, 1] + g[1, 2] + g[2, 1] + g[2, 2]) / 4
    assert d.grads["X"][0, 0, 0, 0] == g[0, 0] + g[0, 1] / 2 + g[1, 0] / 2 + g[1, 1] / 4


# -- exact printing and the fast construction ---------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        *(
            EXTREME_POOLS[layer](
                input_shape=(1, 1, 4, 5), kernel=3, stride=(1, 2), padding=1, ties=t
            )
            for layer in EXTREME_POOLS
            for t in TIES
        ),
        MaxPool2d(input_shape=(2, 1, 3, 3), kernel=2, stride=1, ties="split", reduction="mean"),
        AvgPool2d(input_shape=(3, 3), kernel=2, stride=1, padding=1, count_include_pad=False),
    ],
    ids=str,
)
def test_every_entry_reads_back_through_sympify(spec):
    d = derived(spec)
    for array in (d.output, d.grads["X"]):
        for expr in array.flat:
            assert sympify(str(expr)) == expr


@pytest.mark.parametrize("ties", TIES)
@pytest.mark.parametrize("extreme", [pooling.MAXIMUM, pooling.MINIMUM], ids=["max", "min"])
def test_fast_partials_equal_sympys_own_construction(extreme, ties):
    # Windows whose names sort in other orders than row-major (row 10 sorts before row 9).
    names = ["x_0_0_9_9", "x_0_0_9_10", "x_0_0_10_9", "x_0_0_10_10", "x_0_0_2_0"]
    cells = [Symbol(name) for name in names]
    windows = [list(w) for size in (1, 2, 3) for w in itertools.permutations(cells[:size])]
    windows += [cells[:4], cells[3::-1], cells, cells[::-1], cells[2:] + cells[:2]]
    for window in windows:
        for i in range(len(window)):
            fast = pooling.extreme_partial(ties, extreme, window, i)
            slow = pooling.TIE_RULES[ties](window, i, extreme)
            assert fast == slow
            assert str(fast) == str(slow)


# -- identities ---------------------------------------------------------------------------------

IDENTITY_SPECS = [
    *(
        EXTREME_POOLS[layer](input_shape=(1, 2, 4, 4), kernel=2, stride=s, ties=t)
        for layer in EXTREME_POOLS
        for t in TIES
        for s in (1, 2)
    ),
    MaxPool2d(input_shape=(1, 1, 5, 5), kernel=3, stride=2, padding=1, ties="split"),
    MinPool2d(input_shape=(2, 1, 5, 4), kernel=(2, 3), stride=1, padding=(1, 1), reduction="mean"),
    AvgPool2d(input_shape=(2, 1, 5, 5), kernel=3, stride=2, padding=1),
    AvgPool2d(input_shape=(1, 1, 5, 5), kernel=3, stride=1, padding=1, count_include_pad=False),
]


@pytest.mark.parametrize("spec", IDENTITY_SPECS, ids=str)
def test_the_pool_identities_hold(spec):
    results = identities.verify(derived(spec))
    expected = {"maxpool2d": "max_unpool_routing", "minpool2d": "min_unpool_routing"}
    assert [r.key for r in results] == [expected.get(spec.type, "even_spreading")]
    assert all(r.holds for r in results)


@pytest.mark.parametrize("wrong", ["all", "split"])
def test_a_routing_by_another_tie_rule_does_not_hold(wrong):
    spec = MaxPool2d(input_shape=(3, 3), kernel=2, stride=1, ties="first")
    d = derived(spec)
    impostor = derived(MaxPool2d(input_shape=(3, 3), kernel=2, stride=1, ties=wrong))
    form = identities.extreme_unpool_form(impostor)
    assert not identities.equal_by_value(d, form, d.grads["X"])
    assert identities.equal_by_value(d, identities.extreme_unpool_form(d), d.grads["X"])


def test_a_min_routing_does_not_prove_a_max_gradient():
    d = derived(MaxPool2d(input_shape=(2, 3), kernel=2, stride=1))
    form = identities.extreme_unpool_form(
        derived(MinPool2d(input_shape=(2, 3), kernel=2, stride=1))
    )
    assert not identities.equal_by_value(d, form, d.grads["X"])


def test_a_gradient_misrouted_to_a_neighbour_does_not_hold():
    d = derived(MaxPool2d(input_shape=(2, 4), kernel=2, stride=2))
    form = identities.extreme_unpool_form(d).copy()
    form[0, 0, 0, [1, 2]] = form[0, 0, 0, [2, 1]]  # swap two cells of different windows
    assert not identities.equal_by_value(d, form, d.grads["X"])


def test_a_coefficient_that_reads_a_value_is_not_proved():
    d = derived(MaxPool2d(input_shape=(1, 2), kernel=(1, 2)))
    grad, x = d.grads["X"], d.tensors.X
    # Equal, but a value outside any comparison: the order of the cells alone cannot tell.
    left, right = grad * (x + 1), grad * x + grad
    assert not identities.equal_by_value(d, left, right)  # unprovable here, so not claimed
    assert identities.equal_by_value(d, left, left)  # the very same expressions are equal


def test_an_avg_spread_with_the_wrong_divisor_does_not_hold():
    spec = AvgPool2d(input_shape=(3, 3), kernel=2, stride=1, padding=1, count_include_pad=False)
    other = derived(layer_from_dict(spec.to_dict() | {"count_include_pad": True}))
    assert not identities.equal_entries(identities.avg_spread_form(other), derived(spec).grads["X"])


def test_weak_orderings_are_exhaustive_up_to_the_limit_and_cover_every_top_set_past_it():
    fubini = [1, 1, 3, 13, 75, 541]
    for count, expected in enumerate(fubini):
        orderings = list(identities.weak_orderings(count))
        assert len(orderings) == len(set(orderings)) == expected
    nine = list(identities.weak_orderings(9))
    tops = {frozenset(k for k, r in enumerate(ranks) if r == max(ranks)) for ranks in nine}
    assert len(tops) == 2**9 - 1  # every non-empty set of cells is the set of maxima once
    assert len(nine) == 2**9 + identities.SAMPLED_ORDERINGS
