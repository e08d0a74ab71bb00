"""Known mistakes, each recomputed: a diagnosis is named only when the wrong entries match it.

Every pattern in :data:`PATTERNS` rebuilds the *wrong* derivation its mistake produces, with
the same operators as the identities (:mod:`symcnn.check.operators`, built on
:mod:`symcnn.identities`): the kernel left unrotated, the stride dilation forgotten, the padded
gradient left uncropped, the arguments of the convolution swapped, and so on. A submission's
wrong entries are compared with that recomputation exactly; nothing is guessed from the text.

A pattern is reported when it reproduces at least one wrong entry and the submission's correct
entries do not contradict it more than it is confirmed; of two patterns, one that explains a
subset of what the other explains, with no fewer contradictions, is dropped.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sympy import Add, Basic, S, expand

from .. import identities, pooling
from ..derive import Derivation, derive
from ..layers import layer_types
from .compare import Record
from .equality import equal, is_upstream
from .operators import conv, full_conv

Builder = Callable[[Derivation], dict[str, np.ndarray]]


class NotApplicable(Exception):
    """The pattern cannot differ from the exact derivation for this layer (e.g. no padding)."""


@dataclass(frozen=True)
class Pattern:
    """One known mistake: its name, what it makes of each gradient, and how to rebuild it.

    ``forms`` maps a tensor (``"X"``, ``"W"``; ``"*"`` for any) to (the wrong form, the right
    form), written with the fields ``{X} {W} {dO} {S} {P}`` that the report fills in with the
    submission's letters and the layer's stride and padding.
    """

    key: str
    title: str
    forms: dict[str, tuple[str, str]]
    layers: tuple[str, ...]
    build: Builder
    sentence: str = ""  # replaces the per-tensor forms when set (fields: {count} {lines} ...)


@dataclass(frozen=True)
class Diagnosis:
    """A pattern that the submission's wrong entries match."""

    pattern: Pattern
    explained: tuple[Record, ...]
    contradicted: tuple[Record, ...]

    @property
    def tensors(self) -> tuple[str, ...]:
        return tuple(sorted({record.tensor for record in self.explained if record.tensor}))


# -- rebuilding wrong derivations -----------------------------------------------------------------


# The operator forms of the identities, with the operators of each mistake put in.
input_gradient = identities.conv2d_input_gradient
weight_gradient = identities.conv2d_weight_gradient
_upstream = identities.upstream_gradient


def _rotated_weight_gradient(derivation: Derivation) -> np.ndarray:
    """rot180 of every kernel slice of the exact dL/dW."""
    grad = derivation.grads["W"]
    out = np.empty(grad.shape, dtype=object)
    for k in range(grad.shape[0]):
        for c in range(grad.shape[1]):
            out[k, c] = identities.rot180(grad[k, c])
    return out


def _needs(condition: bool) -> None:
    if not condition:
        raise NotApplicable


def _kernel_not_rotated(d: Derivation) -> dict[str, np.ndarray]:
    return {"X": input_gradient(d, lambda g, w: full_conv(g, w))}


def _rotation_misplaced(d: Derivation) -> dict[str, np.ndarray]:
    rotate = identities.rot180
    return {
        "X": input_gradient(d, lambda g, w: full_conv(rotate(g), rotate(w))),
        "W": weight_gradient(d, lambda x, g: conv(x, rotate(g))),
    }


def _stride_dilation_missing(d: Derivation) -> dict[str, np.ndarray]:
    _needs(d.spec.stride != (1, 1))
    return {
        "X": input_gradient(
            d, lambda g, w: full_conv(g, identities.rot180(w)), stride_dilation=False
        ),
        "W": weight_gradient(d, conv, stride_dilation=False),
    }


def _padding_not_cropped(d: Derivation) -> dict[str, np.ndarray]:
    _needs(d.spec.padding != (0, 0))
    return {
        "X": input_gradient(d, lambda g, w: full_conv(g, identities.rot180(w)), crop_padding=False)
    }


def _correlation_for_convolution(d: Derivation) -> dict[str, np.ndarray]:
    return {
        "X": input_gradient(d, lambda g, w: full_conv(g, w)),
        "W": _rotated_weight_gradient(d),
    }


def _input_kernel_swapped(d: Derivation) -> dict[str, np.ndarray]:
    return {
        "X": input_gradient(d, lambda g, w: full_conv(identities.rot180(w), g)),
        "W": weight_gradient(d, lambda x, g: conv(g, x)),
    }


# -- pooling --------------------------------------------------------------------------------------


def _routed(derivation: Derivation, receivers) -> dict[str, np.ndarray]:
    """dL/dX when ``receivers(cells)`` of every window get its dL/dO (and no one else)."""
    spec = derivation.spec
    upstream = _upstream(derivation)
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


def _other_layer(d: Derivation, **changes) -> dict[str, np.ndarray]:
    """The exact gradient of the same layer with some options changed (or of its mirror)."""
    spec = d.spec
    kind = changes.pop("type", None)
    cls = layer_types()[kind] if kind else type(spec)
    fields = {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    if kind and "ties" in fields and not hasattr(cls, "ties"):
        fields.pop("ties")
    fields.update(changes)
    other = cls(**fields)
    _needs(other != spec)
    return {"X": derive(other).grads["X"]}


def _opposite_extreme(d: Derivation) -> dict[str, np.ndarray]:
    mirror = {"maxpool2d": "minpool2d", "minpool2d": "maxpool2d"}[d.spec.type]
    return _other_layer(d, type=mirror)


def _tie_rule(rule: str) -> Builder:
    def build(d: Derivation) -> dict[str, np.ndarray]:
        _needs(d.spec.ties != rule)
        return _other_layer(d, ties=rule)

    return build


def _divisor(d: Derivation) -> dict[str, np.ndarray]:
    _needs(d.spec.padding != (0, 0))
    return _other_layer(d, count_include_pad=not d.spec.count_include_pad)


EXTREMES = ("maxpool2d", "minpool2d")
RIGHT_POOL = "dL/dO of each window to its {extreme} only (ties: {ties})"


CONV = ("conv2d",)
TIE_WORDS = {
    "first": "dL/dO of each window to its first tied {extreme} only",
    "all": "dL/dO of each window to every tied {extreme}",
    "split": "dL/dO of each window shared equally by the tied {extreme}s",
}
RIGHT_X = "full_conv({dO}, rot180({W}))"
RIGHT_W = "conv({X}, {dO})"

#: The known mistakes, in the order they are listed when several match.
PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "kernel_not_rotated",
        "kernel not rotated",
        {"X": ("full_conv({dO}, {W})", RIGHT_X)},
        CONV,
        _kernel_not_rotated,
    ),
    Pattern(
        "rotation_misplaced",
        "rotation applied where it does not belong",
        {
            "X": ("full_conv(rot180({dO}), rot180({W}))", RIGHT_X),
            "W": ("conv({X}, rot180({dO}))", RIGHT_W),
        },
        CONV,
        _rotation_misplaced,
    ),
    Pattern(
        "stride_dilation_missing",
        "stride dilation missing",
        {
            "X": (
                "full_conv({dO}, rot180({W})), {dO} not dilated",
                "full_conv(dilate({dO}, {S}), rot180({W}))",
            ),
            "W": ("conv({X}, {dO}), {dO} not dilated", "conv({X}, dilate({dO}, {S}))"),
        },
        CONV,
        _stride_dilation_missing,
    ),
    Pattern(
        "padding_not_cropped",
        "padding not cropped",
        {
            "X": (
                "the gradient of the padded input, read from its corner",
                "crop(full_conv({dO}, rot180({W})), {P})",
            ),
        },
        CONV,
        _padding_not_cropped,
    ),
    Pattern(
        "correlation_for_convolution",
        "correlation taken for convolution",
        {
            "X": (
                "full_conv({dO}, {W}), the gradient of a flipped-kernel convolution",
                RIGHT_X + " (the layer is a cross-correlation)",
            ),
            "W": (
                "rot180(conv({X}, {dO})), the gradient of a flipped-kernel convolution",
                RIGHT_W + " (the layer is a cross-correlation)",
            ),
        },
        CONV,
        _correlation_for_convolution,
    ),
    Pattern(
        "pool_every_entry",
        "pooling gradient given to every entry of the window",
        {"X": ("dL/dO of each window given to all its entries", RIGHT_POOL)},
        EXTREMES,
        _every_entry,
    ),
    Pattern(
        "pool_first_entry",
        "pooling gradient given to the wrong entry: the window's first",
        {"X": ("dL/dO of each window given to its top-left entry", RIGHT_POOL)},
        EXTREMES,
        _first_entry,
    ),
    Pattern(
        "pool_opposite_extreme",
        "pooling gradient given to the wrong entry: the {other_extreme}",
        {"X": ("dL/dO of each window given to its {other_extreme}", RIGHT_POOL)},
        EXTREMES,
        _opposite_extreme,
    ),
    *(
        Pattern(
            f"pool_ties_{rule}",
            f"tie rule: gradient given as --ties {rule} gives it",
            {"X": (TIE_WORDS[rule], RIGHT_POOL)},
            EXTREMES,
            _tie_rule(rule),
        )
        for rule in ("first", "all", "split")
    ),
    Pattern(
        "avgpool_not_divided",
        "average-pool gradient not divided among the window",
        {
            "X": (
                "dL/dO of each window given whole to all its entries",
                "dL/dO divided by the window size",
            )
        },
        ("avgpool2d",),
        _every_entry,
    ),
    Pattern(
        "avgpool_divisor",
        "average-pool divisor counts the padding the other way",
        {"X": ("dL/dO divided by {other_divisor}", "dL/dO divided by {divisor}")},
        ("avgpool2d",),
        _divisor,
    ),
    Pattern(
        "input_kernel_swapped",
        "input and kernel swapped",
        {
            "X": ("full_conv(rot180({W}), {dO}), the operands in the wrong order", RIGHT_X),
            "W": ("conv({dO}, {X}), the operands in the wrong order", RIGHT_W),
        },
        CONV,
        _input_kernel_swapped,
    ),
)


#: Indices counted from the other end (0 vs 1): found by reading the file again the other way
#: (:func:`symcnn.check.checker.check_source`), the one recomputation that needs the text.
INDEX_SHIFT = Pattern(
    "indices_shifted",
    "indices shifted by one (0- vs 1-based)",
    {},
    ("conv2d", "maxpool2d", "minpool2d", "avgpool2d"),
    lambda derivation: {},
    "read with indices counted {other}, all {count} wrong or unreadable claims ({lines}) are"
    " right: check with {option}, or count {this}",
)


# -- matching -------------------------------------------------------------------------------------


def diagnose(
    records: list[Record], derivation: Derivation, values: dict | None = None
) -> list[Diagnosis]:
    """The patterns the wrong records match (none when nothing is wrong).

    Records are judged in *units*: one operator or matrix statement, or all the entry claims of
    one tensor. A unit confirms a pattern when more of its wrong entries match the pattern than
    its correct entries contradict it (the correct value differs from the pattern's).
    """
    wrong = [record for record in records if record.status == "wrong"]
    if not wrong:
        return []
    correct = [record for record in records if record.status == "correct"]
    found = []
    for pattern in PATTERNS:
        if derivation.spec.type not in pattern.layers:
            continue
        try:
            predicted = pattern.build(derivation)
        except NotApplicable:
            continue
        if values:
            predicted = {name: _at(array, values) for name, array in predicted.items()}
        matching = [r for r in wrong if _matches(predicted, r, r.got)]
        if not matching:
            continue
        contradicting = [r for r in correct if _differs(predicted, r)]
        explained = []
        for unit in {_unit(r) for r in matching}:
            confirmed = [r for r in matching if _unit(r) == unit]
            against = [r for r in contradicting if _unit(r) == unit]
            if len(confirmed) > len(against):
                explained += confirmed
        if explained:
            explained.sort(key=lambda r: (r.offset, r.tensor, r.index))
            found.append(Diagnosis(pattern, tuple(explained), tuple(contradicting)))
    return _undominated(found)


def _at(array: np.ndarray, values: dict) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    for index, expr in np.ndenumerate(array):
        out[index] = None if expr is None else expr.xreplace(values)
    return out


def _unit(record: Record) -> tuple:
    """Entry claims of one tensor form one unit; an operator or matrix statement is its own."""
    if record.kind == "entry":
        return ("entries", record.tensor)
    return ("statement", record.offset)


def _matches(predicted: dict[str, np.ndarray], record: Record, value: Basic) -> bool:
    if record.tensor not in predicted:
        return False
    guess = predicted[record.tensor][record.index]
    return guess is not None and equal(guess, value)


def _differs(predicted: dict[str, np.ndarray], record: Record) -> bool:
    if record.tensor not in predicted:
        return False
    guess = predicted[record.tensor][record.index]
    return guess is None or not equal(guess, record.expected)


def _undominated(found: list[Diagnosis]) -> list[Diagnosis]:
    """Drop a diagnosis another one explains at least as well (a superset, no more contradicted)."""

    def ids(diagnosis: Diagnosis) -> set[int]:
        return {id(record) for record in diagnosis.explained}

    kept = []
    for candidate in found:
        dominated = any(
            other is not candidate
            and ids(other) >= ids(candidate)
            and len(other.contradicted) <= len(candidate.contradicted)
            and (
                ids(other) > ids(candidate) or len(other.contradicted) < len(candidate.contradicted)
            )
            for other in found
        )
        if not dominated:
            kept.append(candidate)
    kept.sort(key=lambda diagnosis: -len(diagnosis.explained))
    return kept


# -- hints on single entries ----------------------------------------------------------------------


def entry_hints(
    records: list[Record], derivation: Derivation, values: dict | None = None
) -> dict[int, list[tuple]]:
    """Per wrong record (by position in ``records``): hints that hold exactly.

    ``("other_entry", tensor, index)``: the given value is the exact value of another entry
    (a wrong index on the left side); ``("not_linear", terms)``: terms without exactly one
    ∂L/∂O factor (every term of a gradient entry of a linear layer has one).
    """
    exact: dict[Basic, tuple[str, tuple[int, ...]]] = {}
    for name, grad in derivation.grads.items():
        for index, expr in np.ndenumerate(grad):
            expr = expr.xreplace(values) if values else expr
            if expr != 0:
                exact.setdefault(expr, (name, index))
    hints: dict[int, list[tuple]] = {}
    for position, record in enumerate(records):
        if record.status != "wrong":
            continue
        found = []
        given = expand(record.got)
        owner = exact.get(given)
        if owner is not None and owner != (record.tensor, record.index):
            found.append(("other_entry", *owner))
        if derivation.spec.type == "conv2d" and given.is_polynomial():
            odd = [t for t in Add.make_args(given) if t != 0 and _upstream_degree(t) != 1]
            if odd:
                found.append(("not_linear", tuple(odd)))
        if found:
            hints[position] = found
    return hints


def _upstream_degree(term: Basic) -> int:
    degree = 0
    for factor, power in term.as_powers_dict().items():
        if is_upstream(factor):
            degree += int(power)
    return degree
