"""Forward rules: how each layer builds its output entries and their local derivatives.

A rule is a function ``rule(spec, tensors)`` that yields one :class:`Entry` per output entry:
the exact expression of that entry and its local partial derivatives ``dO/ds`` for every
symbol ``s`` it depends on. The derivation (``derive.py``) is the same for every layer: it
multiplies each local partial by the upstream gradient and accumulates. A new layer is one more
entry in ``derive.RULES``, not another branch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from sympy import Basic, Integer, Mul, S, Symbol

from . import canonical
from .layers.conv2d.spec import Conv2d
from .tensors import Tensors


@dataclass(frozen=True)
class Entry:
    """One output entry: its index, its exact expression and its local partials."""

    index: tuple[int, ...]
    expr: Basic
    partials: tuple[tuple[Symbol, Basic], ...]


def polynomial_partials(expr: Basic) -> tuple[tuple[Symbol, Basic], ...]:
    """Differentiate a sum of monomials by reading each term once.

    For a term ``c * s * rest`` (every symbol to the first power) the derivative with respect
    to ``s`` is ``c * rest``; the cost is linear in the number of terms, where calling
    ``sympy.diff`` once per symbol would rescan the whole sum each time.

    >>> from sympy import symbols
    >>> x, w, b = symbols("x w b")
    >>> polynomial_partials(x * w + b)
    ((b, 1), (w, x), (x, w))

    The partials come in the order of the terms, each symbol once.
    """
    partials: dict[Symbol, list[Basic]] = {}
    for term in _terms(expr):
        factors = Mul.make_args(term)
        if len(factors) == 2 and type(factors[0]) is Symbol and type(factors[1]) is Symbol:
            a, b = factors  # the bulk of a convolution: d(a*b)/da = b, d(a*b)/db = a
            partials.setdefault(a, []).append(b)
            partials.setdefault(b, []).append(a)
            continue
        if not all(factor.is_Number or factor.is_Symbol for factor in factors):
            # a power or a function: let SymPy differentiate the whole term
            for symbol in sorted(term.free_symbols, key=lambda s: s.name):
                partials.setdefault(symbol, []).append(term.diff(symbol))
            continue
        for position, factor in enumerate(factors):
            if factor.is_Number:
                continue
            rest = factors[:position] + factors[position + 1 :]
            partial = rest[0] if len(rest) == 1 else canonical.product(rest or (Integer(1),))
            partials.setdefault(factor, []).append(partial)
    return tuple(
        (symbol, parts[0] if len(parts) == 1 else canonical.total(parts))
        for symbol, parts in partials.items()
    )


def _terms(expr: Basic) -> tuple[Basic, ...]:
    return expr.args if expr.is_Add else (expr,)


def _window_taps(
    size: int, out_size: int, kernel: int, stride: int, padding: int, dilation: int
) -> list[tuple[slice, slice] | None]:
    """Along one axis, per output position: (its taps on real cells, the cells they read).

    Output position ``i`` reads input index ``i*stride - padding + p*dilation`` at tap ``p``;
    the taps landing inside the input are consecutive, so both are slices. None when every
    tap lands on the padding.

    >>> _window_taps(size=3, out_size=4, kernel=2, stride=1, padding=1, dilation=1)[0]
    (slice(1, 2, None), slice(0, 1, 1))
    """
    windows: list[tuple[slice, slice] | None] = []
    for i in range(out_size):
        start = i * stride - padding  # the input index of tap 0
        inside = [p for p in range(kernel) if 0 <= start + p * dilation < size]
        if not inside:
            windows.append(None)
            continue
        first, last = inside[0], inside[-1]
        cells = slice(start + first * dilation, start + last * dilation + 1, dilation)
        windows.append((slice(first, last + 1), cells))
    return windows


def conv2d_entries(spec: Conv2d, tensors: Tensors) -> Iterator[Entry]:
    """``O[n,k,i,j] = b[k] + sum_{c,p,q} X[n, c', i*S - P + p*D, j*S - P + q*D] * W[k,c,p,q]``.

    ``c'`` runs over the input channels of output channel ``k``'s group; taps that fall on the
    zero padding contribute nothing and are left out. The window of an entry is two slices of
    the symbol arrays (its real cells of X, the taps of W that read them), paired up entry by
    entry. Distinct taps read distinct input cells, so every symbol occurs in one term of an
    entry and the partials are read off the pairs (``d(x*w)/dx = w``), not recovered from the
    sum.
    """
    _, in_per_group, _, _ = spec.weight_shape
    out_per_group = spec.out_channels // spec.groups
    rows, cols = (
        _window_taps(*axis)
        for axis in zip(
            spec.input_shape[2:],
            spec.output_shape[2:],
            spec.kernel,
            spec.stride,
            spec.padding,
            spec.dilation,
            strict=True,
        )
    )
    for n, k, i, j in itertools.product(*(range(size) for size in spec.output_shape)):
        cells, taps = [], []  # X and W symbols, paired in order
        if rows[i] is not None and cols[j] is not None:
            (row_taps, row_cells), (col_taps, col_cells) = rows[i], cols[j]
            first_channel = (k // out_per_group) * in_per_group
            channels = slice(first_channel, first_channel + in_per_group)
            cells = tensors.X[n, channels, row_cells, col_cells].ravel().tolist()
            taps = tensors.W[k, :, row_taps, col_taps].ravel().tolist()
        pairs = list(zip(cells, taps, strict=True))
        partials = pairs + list(zip(taps, cells, strict=True))  # dO/dx = w, dO/dw = x
        if spec.bias:
            pairs.append((tensors.B[k], S.One))
            partials.append((tensors.B[k], S.One))  # dO/db = 1
        yield Entry((n, k, i, j), canonical.sum_of_products(pairs), tuple(partials))
