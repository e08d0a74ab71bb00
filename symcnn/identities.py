"""The operator identities of backpropagation, built from named operators and proved per layer.

Lecture notes state the gradients of a convolution as operator forms:

- dL/dW is the correlation of the (padded) input X with dL/dO dilated by the stride, read at
  steps of the dilation;
- dL/dX is the full convolution of the stride-dilated dL/dO with the kernel rotated 180
  degrees (itself dilated by the dilation), cropped by the padding;
- dL/dB is the sum of dL/dO over the batch and the positions.

Lecture notes state the gradients of the pools as unpooling:

- max (min) pooling: dL/dX is dL/dO *max-unpooled*: each window's upstream value routed to its
  maximal (minimal) cell(s) by the tie rule;
- average pooling: each window's upstream value spread evenly over its real cells.

This module builds each form with the small operators below (``rot180``, ``dilate``, ``pad``,
``crop``, ``correlate``, ``full_correlate``, ``unpool``) on object arrays of SymPy expressions, and
:func:`verify` proves it equal to the derived gradient entry by entry (the routing identities by
exact evaluation, :func:`equal_by_value`). The printers name the identities that hold; the
checker recomputes wrong derivations with the same operators.

Which identities a layer type has is its kind's business: ``symcnn/layers/<kind>/identities.py``
pairs each type with a :class:`LayerIdentities` (its ``TABLE``), built from the operators and
forms here; :func:`verify` reads them through the registry. This module names no layer.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from sympy import Add, Basic, Eq, Max, Min, Mul, Piecewise, Rational, S, Symbol, expand
from sympy.core.relational import Relational

from . import canonical, layers, progress
from .derive import Derivation
from .evaluate import value_of
from .tensors import parse_symbol

# -- the operators, on 2-D object arrays ---------------------------------------------------------


def rot180(kernel: np.ndarray) -> np.ndarray:
    """Rotate a 2-D array by 180 degrees: flip it vertically, then horizontally."""
    return kernel[::-1, ::-1]


def dilate(array: np.ndarray, step: tuple[int, int]) -> np.ndarray:
    """Insert ``step - 1`` zeros between neighbouring entries along each axis."""
    rows, cols = array.shape
    out = np.full(((rows - 1) * step[0] + 1, (cols - 1) * step[1] + 1), S.Zero, dtype=object)
    out[:: step[0], :: step[1]] = array
    return out


def pad(array: np.ndarray, before: tuple[int, int], after: tuple[int, int] | None = None):
    """Surround a 2-D array with zeros: ``before`` rows/columns first, ``after`` last."""
    after = before if after is None else after
    rows, cols = array.shape
    out = np.full((rows + before[0] + after[0], cols + before[1] + after[1]), S.Zero, dtype=object)
    out[before[0] : before[0] + rows, before[1] : before[1] + cols] = array
    return out


def crop(array: np.ndarray, before: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """The ``size`` window of ``array`` starting ``before`` rows and columns in."""
    return array[before[0] : before[0] + size[0], before[1] : before[1] + size[1]]


def correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation: ``R[u, v] = sum_{a,b} image[u + a, v + b] * kernel[a, b]``.

    This is what CNN frameworks call convolution. Zero entries on either side add no term.
    """
    kh, kw = kernel.shape
    rows, cols = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.empty((rows, cols), dtype=object)
    taps = [(a, b, kernel[a, b]) for a in range(kh) for b in range(kw) if not _zero(kernel[a, b])]
    for u in range(rows):
        for v in range(cols):
            terms = [
                times(image[u + a, v + b], k) for a, b, k in taps if not _zero(image[u + a, v + b])
            ]
            out[u, v] = canonical.total(terms)
    return out


def times(a: Basic, b: Basic) -> Basic:
    """``a * b``, built by :func:`symcnn.canonical.product` (SymPy's ``Mul`` where it must).

    The operators multiply hundreds of thousands of symbol pairs for one layer's notes; SymPy's
    generic ``Mul`` was four fifths of printing LeNet's first layer as text (measured: 21 s of
    27), the canonical builder makes the same object in a fraction of it.
    """
    if type(a) is Symbol and type(b) is Symbol:
        return canonical.pair(a, b)  # the bulk: an input times an upstream or kernel symbol
    return canonical.product((*Mul.make_args(a), *Mul.make_args(b)))


def _zero(value) -> bool:
    """``value == 0`` without sympifying the 0 each time (the zeros here are ``S.Zero``)."""
    return value is S.Zero or value == S.Zero


def _terms(expr: Basic) -> tuple[Basic, ...]:
    """``Add.make_args(expr)``, without its call to sympify."""
    return expr.args if type(expr) is Add else (expr,)


def add_arrays(arrays: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    """The entrywise sum of ``arrays`` (each shaped ``shape``), each entry built in one sum.

    ``total = total + array`` in a loop re-sorts the growing sum at every step: quadratic in
    the number of arrays (a batch of images, the channels of a group). One :func:`total` of all
    the terms sorts once.
    """
    if len(arrays) == 1:
        return arrays[0].copy()  # its entries are sums already
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = canonical.total(term for array in arrays for term in _terms(array[index]))
    return out


def matmul(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The matrix product of two 2-D object arrays, each entry built in one sum.

    NumPy's ``dot`` on objects adds one product at a time, re-sorting the growing sum: quadratic
    in the inner size (measured: nine tenths of printing a 100x100 linear layer as text).
    """
    rows, inner = left.shape
    cols = right.shape[1]
    out = np.empty((rows, cols), dtype=object)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = canonical.total(times(left[i, m], right[m, j]) for m in range(inner))
    return out


def full_correlate(array: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """The notes' "full convolution": ``kernel`` slid over every overlap with ``array``.

    ``full_correlate(A, K) = correlate(pad(A, K.shape - 1), K)``. Like the notes' ``full_conv``
    (CNN "convolution" being cross-correlation) it does not rotate the kernel; the input
    gradient rotates it explicitly: ``full_correlate(dL/dO, rot180(W))``.
    """
    kh, kw = kernel.shape
    return correlate(pad(array, (kh - 1, kw - 1)), kernel)


# -- the identities -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """One operator identity, the form it builds, and whether it equals the derived gradient."""

    key: str
    tensor: str
    statement: str
    form: np.ndarray
    holds: bool


def upstream_gradient(derivation: Derivation) -> np.ndarray:
    """dL/dO as an array: the upstream gradient G times the reduction's scale."""
    scale = derivation.upstream_scale
    return np.vectorize(lambda g: g * scale, otypes=[object])(derivation.tensors.G)


def fit(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Zeros where ``array`` is smaller than ``size``, cut where it is larger (bottom/right)."""
    out = np.full(size, S.Zero, dtype=object)
    rows, cols = min(size[0], array.shape[0]), min(size[1], array.shape[1])
    out[:rows, :cols] = array[:rows, :cols]
    return out


Operator = Callable[[np.ndarray, np.ndarray], np.ndarray]


def conv2d_weight_gradient(
    derivation: Derivation, per_image: Operator, *, stride_dilation: bool = True
) -> np.ndarray:
    """dL/dW as ``sum_n per_image(pad(X[n, c'], P), dilate(dL/dO[n, k], S))`` read at steps D.

    With ``per_image = correlate`` this is the identity; the checker passes the operators of
    known mistakes (and ``stride_dilation=False``) to rebuild the wrong derivations they predict.
    """
    spec = derivation.spec
    upstream = upstream_gradient(derivation)
    out_channels, in_per_group, kh, kw = spec.weight_shape
    out_per_group = out_channels // spec.groups
    step = spec.stride if stride_dilation else (1, 1)
    form = np.empty(spec.weight_shape, dtype=object)
    for k in range(out_channels):
        for c in range(in_per_group):
            channel = (k // out_per_group) * in_per_group + c
            parts = []
            for n in range(spec.input_shape[0]):
                image = pad(derivation.tensors.X[n, channel], spec.padding)
                response = per_image(image, dilate(upstream[n, k], step))
                parts.append(fit(response[:: spec.dilation[0], :: spec.dilation[1]], (kh, kw)))
            form[k, c] = add_arrays(parts, (kh, kw))
    return form


def conv2d_input_gradient(
    derivation: Derivation,
    per_kernel: Operator,
    *,
    stride_dilation: bool = True,
    crop_padding: bool = True,
) -> np.ndarray:
    """dL/dX as ``crop(sum_k per_kernel(dilate(dL/dO[n, k], S), dilate(W[k, c], D)), P)``.

    With ``per_kernel(g, w) = full_correlate(g, rot180(w))`` this is the identity; the checker
    passes the operators of known mistakes. Rows and columns the strided windows never reached
    receive no gradient (:func:`fit` fills them with zeros).
    """
    spec = derivation.spec
    upstream = upstream_gradient(derivation)
    _, in_channels, height, width = spec.input_shape
    out_channels, in_per_group, _, _ = spec.weight_shape
    out_per_group = out_channels // spec.groups
    padded = (height + 2 * spec.padding[0], width + 2 * spec.padding[1])
    step = spec.stride if stride_dilation else (1, 1)
    start = spec.padding if crop_padding else (0, 0)
    form = np.empty(spec.input_shape, dtype=object)
    for n in range(spec.input_shape[0]):
        for channel in range(in_channels):
            group, c = divmod(channel, in_per_group)
            parts = []
            for k in range(group * out_per_group, (group + 1) * out_per_group):
                kernel = dilate(derivation.tensors.W[k, c], spec.dilation)
                parts.append(fit(per_kernel(dilate(upstream[n, k], step), kernel), padded))
            form[n, channel] = crop(add_arrays(parts, padded), start, (height, width))
    return form


def conv2d_weight_form(derivation: Derivation) -> np.ndarray:
    """dL/dW[k, c] = sum_n correlate(pad(X[n, c']), dilate(dL/dO[n, k], S)) read at steps D."""
    return conv2d_weight_gradient(derivation, correlate)


def conv2d_input_form(derivation: Derivation) -> np.ndarray:
    """dL/dX[n, c'] = crop_P(sum_k full_conv(dilate(dL/dO[n, k], S), rot180(dilate(W[k, c], D))))

    ``full_conv`` is :func:`full_correlate`: the rotation is written out, as in the notes.
    """
    return conv2d_input_gradient(derivation, lambda g, w: full_correlate(g, rot180(w)))


def conv2d_bias_form(derivation: Derivation) -> np.ndarray:
    """dL/dB[k] = sum over n, i, j of dL/dO[n, k, i, j]."""
    upstream = upstream_gradient(derivation)
    return np.array(
        [canonical.total(upstream[:, k].flat) for k in range(upstream.shape[1])], dtype=object
    )


# -- pooling: unpooling, spreading each window's upstream value over its cells -------------------


def unpool(
    upstream: np.ndarray,
    weights: np.ndarray,
    input_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
) -> np.ndarray:
    """Add ``upstream[i, j] * weights[i, j]`` onto window (i, j) of the padded grid, then crop.

    ``weights`` has shape (OH, OW, kh, kw): how window (i, j) shares its upstream value among
    its taps, with 0 on padded cells. Tap (p, q) of window (i, j) is row ``i*S + p*D``, column
    ``j*S + q*D`` of the padded input (the grid reaches past it where a ``ceil_mode`` window
    overhangs); overlapping windows add up.
    """
    out_height, out_width, kh, kw = weights.shape
    size = _grid_size(input_size, weights.shape, stride, padding, dilation)
    grid = np.full(size, S.Zero, dtype=object)
    (sh, sw), (dh, dw) = stride, dilation
    for i in range(out_height):
        for j in range(out_width):
            rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
            cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
            grid[rows, cols] = grid[rows, cols] + upstream[i, j] * weights[i, j]
    return crop(grid, padding, input_size)


def _grid_size(input_size, weights_shape, stride, padding, dilation) -> tuple[int, int]:
    """The padded input, or more where the last window reaches past it (``ceil_mode``)."""
    out_height, out_width, kh, kw = weights_shape
    return tuple(
        max(size + 2 * pad, (out - 1) * step + spacing * (taps - 1) + 1)
        for size, pad, out, step, spacing, taps in zip(
            input_size, padding, (out_height, out_width), stride, dilation, (kh, kw), strict=True
        )
    )


def _real_taps(image: np.ndarray, spec) -> Iterator[tuple[int, int, list, list]]:
    """Per window (i, j): its taps on real cells and those cells' values, in row-major order."""
    window = spec.window
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (
        window.kernel,
        window.stride,
        window.padding,
        window.dilation,
    )
    height, width = image.shape
    _, _, out_height, out_width = spec.output_shape
    for i in range(out_height):
        for j in range(out_width):
            taps = [
                (p, q)
                for p in range(kh)
                for q in range(kw)
                if 0 <= i * sh - ph + p * dh < height and 0 <= j * sw - pw + q * dw < width
            ]
            values = [image[i * sh - ph + p * dh, j * sw - pw + q * dw] for p, q in taps]
            yield i, j, taps, values


def window_weights(image: np.ndarray, spec, share: Callable[[list], list]) -> np.ndarray:
    """Per window of ``image`` (padded by the spec), the share of each tap; 0 on padding.

    ``share`` receives the values of the window's real cells in row-major order and returns
    their shares in the same order.
    """
    _, _, out_height, out_width = spec.output_shape
    kh, kw = spec.window.kernel
    weights = np.full((out_height, out_width, kh, kw), S.Zero, dtype=object)
    for i, j, taps, values in _real_taps(image, spec):
        for (p, q), amount in zip(taps, share(values), strict=True):
            weights[i, j, p, q] = amount
    return weights


def average_weights(image: np.ndarray, spec, count_include_pad: bool) -> np.ndarray:
    """Per window, ``1 / divisor`` on each real tap (0 on padding).

    With ``count_include_pad`` the divisor counts the window's taps on the padded input (all
    ``kh * kw`` of them, but where a ``ceil_mode`` window overhangs the padding), else its taps
    on real cells.
    """
    window = spec.window
    height, width = image.shape
    weights = window_weights(image, spec, lambda values: [S.One] * len(values))
    for i, j, taps, _ in _real_taps(image, spec):
        if not count_include_pad:
            weights[i, j] = weights[i, j] * Rational(1, len(taps))
            continue
        padded = [
            sum(1 for t in range(taps_along) if position * step - pad + t * spacing < size + pad)
            for position, size, taps_along, step, pad, spacing in zip(
                (i, j),
                (height, width),
                window.kernel,
                window.stride,
                window.padding,
                window.dilation,
                strict=True,
            )
        ]
        weights[i, j] = weights[i, j] * Rational(1, padded[0] * padded[1])
    return weights


def _wins(value, extreme):
    """1 where ``value`` equals the window's extreme, else 0."""
    return Piecewise((S.One, Eq(value, extreme, evaluate=False)), (S.Zero, True), evaluate=False)


def _route_first(values: list, extreme) -> list:
    """The first cell equal to the extreme in row-major order, and only it, gets it all.

    A Piecewise takes its first branch whose condition holds: branch e asks "is cell e the
    extreme?", so the branch taken is the first extreme cell's, which pays 1 to that cell only.
    """
    tests = [Eq(value, extreme, evaluate=False) for value in values]
    return [
        Piecewise(
            *((S.One if e == k else S.Zero, test) for e, test in enumerate(tests[: k + 1])),
            (S.Zero, True),
            evaluate=False,
        )
        for k in range(len(values))
    ]


def _route_all(values: list, extreme) -> list:
    """Every cell equal to the extreme gets it all."""
    return [_wins(value, extreme) for value in values]


def _route_split(values: list, extreme) -> list:
    """The cells equal to the extreme share it equally: each gets 1 / (how many there are)."""
    wins = [_wins(value, extreme) for value in values]
    count = Add(*wins, evaluate=False)
    return [win / count for win in wins]


#: Tie rule -> how a window routes its upstream value, from the rule's definition.
ROUTES: dict[str, Callable[[list, object], list]] = {
    "first": _route_first,
    "all": _route_all,
    "split": _route_split,
}


def extreme_unpool_form(derivation: Derivation) -> np.ndarray:
    """dL/dX[n, c] = unpool(dL/dO[n, c]) with each window routed to its extreme by the tie rule."""
    spec = derivation.spec
    extreme, route = _extreme_of(spec.type), ROUTES[spec.ties]

    def share(values: list) -> list:
        return route(values, extreme(*values, evaluate=False))

    return _unpool_each_map(derivation, lambda image: window_weights(image, spec, share))


def _extreme_of(layer_type: str) -> Callable[..., Basic]:
    """The extreme an extreme pool routes to, from its kind's identities; a ValueError else."""
    extremes = {
        name: found.extreme
        for name, found in layers.table("identities").items()
        if found.extreme is not None
    }
    if layer_type not in extremes:
        raise ValueError(
            f"an unpooling to the extreme is not available for {layer_type}: it is for"
            f" {', '.join(sorted(extremes))}"
        )
    return extremes[layer_type]


def avg_spread_form(derivation: Derivation) -> np.ndarray:
    """dL/dX[n, c] = unpool(dL/dO[n, c]) with each window's value over its divisor to every cell."""
    spec = derivation.spec
    return _unpool_each_map(
        derivation, lambda image: average_weights(image, spec, spec.count_include_pad)
    )


def _unpool_each_map(
    derivation: Derivation, weights_of: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    spec = derivation.spec
    window = spec.window
    upstream = upstream_gradient(derivation)
    n_batch, channels, height, width = spec.input_shape
    form = np.empty(spec.input_shape, dtype=object)
    for n in range(n_batch):
        for c in range(channels):
            weights = weights_of(derivation.tensors.X[n, c])
            form[n, c] = unpool(
                upstream[n, c],
                weights,
                (height, width),
                window.stride,
                window.padding,
                window.dilation,
            )
    return form


# -- proving a routing identity by exact evaluation -----------------------------------------------
#
# The unpool form and the derived gradient are different expressions of one function (Eq
# against Max on one side, chains of > and >= on the other), so they are compared by value.
# Both are linear in the upstream symbols G: dL/dX[cell] = sum over the windows w holding the cell
# of g_w * f(cell, w), and f(cell, w) depends only on the cells of w. So the identity holds iff
# the coefficients of every g_w agree at every cell. A coefficient built from comparisons alone
# (every symbol sits inside a relational) is constant on each *weak ordering* of the symbols it
# reads (which are equal, which larger), so evaluating it at one point per weak ordering covers
# every real input: for coefficients of at most EXHAUSTIVE_CELLS symbols that is exactly what is
# done, a proof. Past that (3x3 windows have 7,087,261 weak orderings) it is a test: every
# pattern of two levels (every possible set of tied extremes, for max and min alike) and
# SAMPLED_ORDERINGS seeded random weak orderings. Coefficient pairs equal up to renaming their
# symbols (the same tree over symbols in the same index order) are checked once.

EXHAUSTIVE_CELLS = 5
SAMPLED_ORDERINGS = 200


def equal_by_value(derivation: Derivation, form: np.ndarray, grad: np.ndarray) -> bool:
    """True when ``form`` and ``grad`` are equal functions, proved as the comment above says."""
    if form.shape != grad.shape:
        return False
    upstream = set(derivation.tensors.G.flat)
    checked: dict[tuple, bool] = {}
    for left, right in zip(form.flat, grad.flat, strict=True):
        left_parts, right_parts = _by_upstream(left, upstream), _by_upstream(right, upstream)
        if left_parts is None or right_parts is None:
            return False  # not linear in G: not a pooling gradient
        for g in sorted(left_parts.keys() | right_parts.keys(), key=lambda s: s.name):
            pair = (left_parts.get(g, S.Zero), right_parts.get(g, S.Zero))
            if pair[0] == pair[1]:
                continue
            symbols = sorted(pair[0].free_symbols | pair[1].free_symbols, key=_index_order)
            position = {symbol: k for k, symbol in enumerate(symbols)}
            key = (_shape(pair[0], position), _shape(pair[1], position))
            if key not in checked:
                checked[key] = _equal_on_orderings(*pair, symbols)
            if not checked[key]:
                return False
    return True


def _by_upstream(expr, upstream: set) -> dict | None:
    """``expr`` as {g: coefficient of g}; None when some term is not one g times the rest."""
    parts: dict = {}
    for term in Add.make_args(expr):
        if term == 0:
            continue  # a cell no window reads
        factors = Mul.make_args(term)
        gs = [f for f in factors if f in upstream]
        if len(gs) != 1:
            return None
        rest = [f for f in factors if f is not gs[0]]
        parts.setdefault(gs[0], []).append(Mul(*rest))
    return {g: Add(*terms) for g, terms in parts.items()}


def _shape(expr, position: dict) -> tuple:
    """The tree of ``expr`` with each symbol replaced by its position: equal shapes mean equal
    expressions up to renaming the symbols (in the order of their tensor indices)."""
    if expr.is_Symbol:
        return (Symbol, position[expr])
    if not expr.args:
        return (type(expr), expr)
    return (type(expr), *(_shape(arg, position) for arg in expr.args))


def _index_order(symbol: Symbol) -> tuple:
    parsed = parse_symbol(symbol)
    return (0, parsed[0], parsed[1]) if parsed else (1, symbol.name, ())


def _equal_on_orderings(left, right, symbols: list) -> bool:
    if not (_reads_order_only(left) and _reads_order_only(right)):
        return False  # a value depends on more than the order of the cells: not provable here
    for ranks in weak_orderings(len(symbols)):
        values = dict(zip(symbols, ranks, strict=True))  # ints: exact, and faster than Fractions
        if value_of(left, values) != value_of(right, values):
            return False
    return True


def _reads_order_only(expr) -> bool:
    """True when every symbol of ``expr`` is only compared: it sits in a relational whose two
    sides are symbols or Max/Min of symbols, so the value depends on the cells' order alone."""
    if isinstance(expr, Relational):
        return all(_compared_term(side) for side in expr.args)
    if isinstance(expr, Symbol):
        return False
    return all(_reads_order_only(arg) for arg in expr.args)


def _compared_term(expr) -> bool:
    if isinstance(expr, Symbol):
        return True
    return isinstance(expr, Max | Min) and all(_compared_term(arg) for arg in expr.args)


def weak_orderings(count: int) -> Iterator[tuple[int, ...]]:
    """Rank tuples of ``count`` items: every weak ordering when ``count <= EXHAUSTIVE_CELLS``.

    Ranks are 0, 1, ... with no gap, so each weak ordering (ties allowed) appears exactly once.
    Past the limit: every two-level pattern, then SAMPLED_ORDERINGS seeded random orderings.

    >>> sorted(weak_orderings(2))
    [(0, 0), (0, 1), (1, 0)]
    >>> sum(1 for _ in weak_orderings(4))  # the ordered Bell (Fubini) number
    75
    """
    if count <= EXHAUSTIVE_CELLS:
        for ranks in itertools.product(range(count), repeat=count):
            if set(ranks) == set(range(max(ranks, default=-1) + 1)):
                yield ranks
        return
    for ranks in itertools.product((0, 1), repeat=count):
        yield ranks  # every set of cells at the top (or bottom), the all-equal pattern included
    generator = random.Random(count)
    for _ in range(SAMPLED_ORDERINGS):
        ranks = [generator.randrange(count) for _ in range(count)]
        used = sorted(set(ranks))
        yield tuple(used.index(rank) for rank in ranks)


IdentityRule = tuple[str, str, str, Callable[[Derivation], np.ndarray]]


@dataclass(frozen=True)
class LayerIdentities:
    """What a layer type's ``layers/<kind>/identities.py`` gives (its ``TABLE`` value).

    Attributes
    ----------
    rules : tuple of IdentityRule
        ``(key, tensor, statement, builder of the operator form)`` per identity, in the order
        :func:`verify` reports them.
    extreme : callable, optional
        For an extreme pool, the extreme its unpooling routes to (``Max``, ``Min``).
    """

    rules: tuple[IdentityRule, ...] = ()
    extreme: Callable[..., Basic] | None = None


#: Identity key -> how to prove its form equal to the derived gradient, where comparing the
#: expressions term by term (:func:`equal_entries`) cannot: the routing identities are equal
#: functions written differently, proved by exact evaluation (:func:`equal_by_value`).
PROOFS: dict[str, Callable[[Derivation, np.ndarray, np.ndarray], bool]] = {
    "max_unpool_routing": equal_by_value,
    "min_unpool_routing": equal_by_value,
}


def equal_entries(left: np.ndarray, right: np.ndarray) -> bool:
    """True when two object arrays of expressions are equal entry by entry."""
    if left.shape != right.shape:
        return False
    for a, b in zip(left.flat, right.flat, strict=True):
        if a != b and expand(a - b) != 0:
            return False
    return True


def verify(derivation: Derivation) -> list[Identity]:
    """Build every identity of the layer's type and prove it against the derived gradients."""
    results = []
    found = layers.table("identities").get(derivation.spec.type)
    rules = found.rules if found else ()
    for key, tensor, statement, build in progress.bar(
        rules, total=len(rules), desc="identities", unit="identity"
    ):
        if tensor not in derivation.grads:
            continue  # e.g. the bias identity of a layer without bias
        form = build(derivation)
        prove = PROOFS.get(key)
        grad = derivation.grads[tensor]
        holds = prove(derivation, form, grad) if prove else equal_entries(form, grad)
        results.append(Identity(key, tensor, statement, form, holds))
    return results
