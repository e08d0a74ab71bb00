"""Known mistakes, each recomputed: a diagnosis is named only when the wrong entries match it.

Every pattern of a layer kind (``KindCheck.patterns`` in ``symcnn/layers/<kind>/check.py``,
see :mod:`symcnn.check.kinds`) rebuilds the *wrong* derivation its mistake produces, with the
same operators as the identities (:mod:`symcnn.check.operators`, built on
:mod:`symcnn.identities`): the kernel left unrotated, the stride dilation forgotten, the padded
gradient left uncropped, the arguments of the convolution swapped, and so on. A submission's
wrong entries are compared with that recomputation exactly; nothing is guessed from the text.

A pattern is reported when it reproduces at least one wrong entry and the submission's correct
entries do not contradict it more than it is confirmed; of two patterns, one that explains a
subset of what the other explains, with no fewer contradictions, is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sympy import Add, Basic, expand

from ..derive import Derivation
from .compare import Record
from .equality import equal, is_upstream
from .kinds import Builder, NotApplicable, Pattern, kind_check

#: Pattern, NotApplicable and Builder live in :mod:`.kinds` (the kinds' modules build them) and
#: stay importable from here.
__all__ = [
    "INDEX_SHIFT",
    "Builder",
    "Diagnosis",
    "NotApplicable",
    "Pattern",
    "diagnose",
    "entry_hints",
]


@dataclass(frozen=True)
class Diagnosis:
    """A pattern that the submission's wrong entries match."""

    pattern: Pattern
    explained: tuple[Record, ...]
    contradicted: tuple[Record, ...]

    @property
    def tensors(self) -> tuple[str, ...]:
        return tuple(sorted({record.tensor for record in self.explained if record.tensor}))


#: Indices counted from the other end (0 vs 1): found by reading the file again the other way
#: (:func:`symcnn.check.checker.check_source`), the one recomputation that needs the text.
INDEX_SHIFT = Pattern(
    "indices_shifted",
    "indices shifted by one (0- vs 1-based)",
    {},
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
    for pattern in kind_check(derivation.spec).patterns:
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
    upstream_terms = kind_check(derivation.spec).upstream_terms
    for position, record in enumerate(records):
        if record.status != "wrong":
            continue
        found = []
        given = expand(record.got)
        owner = exact.get(given)
        if owner is not None and owner != (record.tensor, record.index):
            found.append(("other_entry", *owner))
        if upstream_terms and given.is_polynomial():
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
