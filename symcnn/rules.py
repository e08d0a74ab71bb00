"""Forward rules: what every layer's rule builds, and the helpers the rules share.

A rule is a function ``rule(spec, tensors)`` that yields one :class:`Entry` per output entry:
the exact expression of that entry and its local partial derivatives ``dO/ds`` for every
symbol ``s`` it depends on. The derivation (``derive.py``) is the same for every layer: it
multiplies each local partial by the upstream gradient and accumulates. Each layer kind
defines its rules in ``symcnn/layers/<kind>/rule.py`` (``TABLE``: layer type -> rule), which
``derive`` loads through :func:`symcnn.layers.table`; a new layer is one more such module, not
another branch. This module names no layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sympy import Basic, Integer, Mul, Symbol

from . import canonical


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


def window_taps(
    size: int, out_size: int, kernel: int, stride: int, padding: int, dilation: int
) -> list[tuple[slice, slice] | None]:
    """Along one axis, per output position: (its taps on real cells, the cells they read).

    Output position ``i`` reads input index ``i*stride - padding + p*dilation`` at tap ``p``;
    the taps landing inside the input are consecutive, so both are slices. None when every
    tap lands on the padding.

    >>> window_taps(size=3, out_size=4, kernel=2, stride=1, padding=1, dilation=1)[0]
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
