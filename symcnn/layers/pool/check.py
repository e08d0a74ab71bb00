"""The checker's knowledge of the pools: their known mistakes, words, and routing notation.

Max and min pooling: the gradient given to every entry of the window, to its first, to the
opposite extreme, or by another tie rule. Average pooling: the gradient not divided, or divided
counting the padding the other way. Each mistake is rebuilt exactly (the routing with the
window's cells, or the exact gradient of the layer with the option changed).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from sympy import S

from ... import identities, pooling
from ...check.kinds import Builder, KindCheck, NotApplicable, Pattern
from ...derive import Derivation, derive
from .check_right_forms import right_forms
from .spec import AvgPool2d, ExtremePool2d, MaxPool2d, MinPool2d, Pool2d


def _needs(condition: bool) -> None:
    if not condition:
        raise NotApplicable


def _routed(derivation: Derivation, receivers) -> dict[str, np.ndarray]:
    """dL/dX when ``receivers(cells)`` of every window get its dL/dO (and no one else)."""
    spec = derivation.spec
    upstream = identities.upstream_gradient(derivation)
    grad = np.full(spec.input_shape, S.Zero, dtype=object)
    n_batch, channels, out_h, out_w = spec.output_shape
    for n, c, i, j in itertools.product(
        range(n_batch), range(channels), range(out_h), range(out_w)
    ):
        for row, col in receivers(pooling.window_cells(spec, i, j)):
            grad[n, c, row, col] += upstream[n, c, i, j]
    return {"X": grad}


def _every_entry(d: Derivation) -> dict[str, np.ndarray]:
    return _routed(d, lambda cells: cells)


def _first_entry(d: Derivation) -> dict[str, np.ndarray]:
    return _routed(d, lambda cells: cells[:1])


def _exact_for(spec: Pool2d, original: Pool2d) -> dict[str, np.ndarray]:
    """The exact gradient of another layer standing in for ``original`` (same options)."""
    _needs(spec != original)
    return {"X": derive(spec).grads["X"]}


#: Each extreme pool and its mirror (the same options, the other extreme).
MIRRORS = {MaxPool2d: MinPool2d, MinPool2d: MaxPool2d}


def _opposite_extreme(d: Derivation) -> dict[str, np.ndarray]:
    spec = d.spec
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    return _exact_for(MIRRORS[type(spec)](**fields), spec)


def _tie_rule(rule: str) -> Builder:
    def build(d: Derivation) -> dict[str, np.ndarray]:
        _needs(d.spec.ties != rule)
        return _exact_for(dataclasses.replace(d.spec, ties=rule), d.spec)

    return build


def _divisor(d: Derivation) -> dict[str, np.ndarray]:
    spec = d.spec
    _needs(spec.padding != (0, 0))
    return _exact_for(dataclasses.replace(spec, count_include_pad=not spec.count_include_pad), spec)


# The right form, in the checker's notation and in words: built per layer, read back by the
# checker against the exact gradient (check_right_forms.py), filled in through KindCheck.fields.
RIGHT_POOL = "{right_X}"
TIE_WORDS = {
    "first": "dL/dO of each window to its first tied {extreme} only",
    "all": "dL/dO of each window to every tied {extreme}",
    "split": "dL/dO of each window shared equally by the tied {extreme}s",
}

#: The known mistakes of max and min pooling, in the order they are listed when several match.
EXTREME_PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "pool_every_entry",
        "pooling gradient given to every entry of the window",
        {"X": ("dL/dO of each window given to all its entries", RIGHT_POOL)},
        _every_entry,
    ),
    Pattern(
        "pool_first_entry",
        "pooling gradient given to the wrong entry: the window's first",
        {"X": ("dL/dO of each window given to its top-left entry", RIGHT_POOL)},
        _first_entry,
    ),
    Pattern(
        "pool_opposite_extreme",
        "pooling gradient given to the wrong entry: the {other_extreme}",
        {"X": ("dL/dO of each window given to its {other_extreme}", RIGHT_POOL)},
        _opposite_extreme,
    ),
    *(
        Pattern(
            f"pool_ties_{rule}",
            f"tie rule: gradient given as --ties {rule} gives it",
            {"X": (TIE_WORDS[rule], RIGHT_POOL)},
            _tie_rule(rule),
        )
        for rule in ("first", "all", "split")
    ),
)

#: The known mistakes of average pooling.
AVERAGE_PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "avgpool_not_divided",
        "average-pool gradient not divided among the window",
        {"X": ("dL/dO of each window given whole to all its entries", RIGHT_POOL)},
        _every_entry,
    ),
    Pattern(
        "avgpool_divisor",
        "average-pool divisor counts the padding the other way",
        {"X": ("dL/dO divided by {other_divisor}", RIGHT_POOL)},
        _divisor,
    ),
)


def _divisors(spec: Pool2d, include_pad: bool) -> dict[str, str]:
    """The divisor of an average and the other one, in words."""
    kernel = spec.kernel
    window = f"the whole window ({kernel[0] * kernel[1]} cells, padding included)"
    real = "the window's real cells (padding left out)"
    return {
        "divisor": window if include_pad else real,
        "other_divisor": real if include_pad else window,
    }


def _extreme_fields(extreme: str, other: str):
    def fields(spec: ExtremePool2d) -> dict[str, str]:
        words = {"extreme": extreme, "other_extreme": other, "ties": spec.ties}
        return {**words, **_divisors(spec, True), **right_forms(spec)}

    return fields


def _average_fields(spec: AvgPool2d) -> dict[str, str]:
    words = {"extreme": "", "other_extreme": "", "ties": ""}
    return {**words, **_divisors(spec, spec.count_include_pad), **right_forms(spec)}


def _extreme_routing(spec: ExtremePool2d) -> tuple[str, bool]:
    return spec.ties, True  # spread over an extreme pool's window divides by the whole window


def _average_routing(spec: AvgPool2d) -> tuple[str, bool]:
    return "first", spec.count_include_pad  # max-unpool through an average's windows: first


TABLE = {
    MaxPool2d.type: KindCheck(
        EXTREME_PATTERNS, _extreme_fields("maximum", "minimum"), routing=_extreme_routing
    ),
    MinPool2d.type: KindCheck(
        EXTREME_PATTERNS, _extreme_fields("minimum", "maximum"), routing=_extreme_routing
    ),
    AvgPool2d.type: KindCheck(AVERAGE_PATTERNS, _average_fields, routing=_average_routing),
}
