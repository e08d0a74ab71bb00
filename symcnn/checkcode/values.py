"""Exact arrays for the probes: seeded, small rationals, the same on every run."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

#: The seed of every probe's values: the same file gets the same report on every run.
SEED = 231


def fractions(rng: np.random.Generator, shape: tuple[int, ...], span: int, denominator: int):
    """An object array of Fractions ``k / denominator`` with ``-span <= k <= span``."""
    numerators = rng.integers(-span, span + 1, size=shape)
    return as_fractions(numerators, denominator)


def nonzero_fractions(rng: np.random.Generator, shape: tuple[int, ...], denominator: int = 4):
    """Fractions ``±k / denominator`` with ``1 <= k <= 2 * denominator``: none is zero."""
    magnitudes = rng.integers(1, 2 * denominator + 1, size=shape)
    signs = rng.choice((-1, 1), size=shape)
    return as_fractions(magnitudes * signs, denominator)


def as_fractions(numbers, denominator: int = 1) -> np.ndarray:
    """An object array of ``Fraction(n, denominator)`` for every ``n``."""
    numbers = np.asarray(numbers)
    out = np.empty(numbers.shape, dtype=object)
    for index, n in np.ndenumerate(numbers):
        out[index] = Fraction(int(n), denominator)
    return out


def zeros(shape: tuple[int, ...]) -> np.ndarray:
    """An object array of exact zeros."""
    return as_fractions(np.zeros(shape, dtype=np.int64))


def embed_top_left(small: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``small`` in the top-left corner of its last two axes, exact zeros elsewhere."""
    out = zeros(shape)
    out[..., : small.shape[-2], : small.shape[-1]] = small
    return out


def unit(shape: tuple[int, ...], index: tuple[int, ...]) -> np.ndarray:
    """The exact array with a 1 at ``index`` and 0 elsewhere."""
    out = zeros(shape)
    out[index] = Fraction(1)
    return out
