"""Claims against the exact derivation, entry by entry: correct, wrong, unchecked or unusable.

A wrong entry carries its *missing* terms (in the exact value, not in the claim) and its
*extra* terms (in the claim, not in the exact value), read off ``expand(expected - given)``.
Every entry of every gradient the file does not claim is *unchecked*: nothing is assumed.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

import numpy as np
from sympy import Add, Basic, expand

from ..derive import Derivation
from . import equality
from .resolve import Claims

#: The note on a piecewise claim judged on a sample of orderings rather than every ordering.
SAMPLED = (
    "compared on every two-level assignment of the entries and a fixed sample of their"
    " orderings ({method}), not on every ordering: the window is too large to try them all"
)
#: The note on a claim judged by its value at points: neither a polynomial nor a function of
#: the entries' order, so a test rather than a proof.
BY_VALUE = "compared by value at points, {method}, including zero, negative entries and kinks"
#: Most other places a record lists for an entry claimed many times.
MAX_PLACES = 20


@dataclass(frozen=True)
class Record:
    """The verdict on one gradient entry as one statement claims it (or as no statement does).

    ``offset`` is None for unchecked entries; ``got`` is None for unchecked and invalid ones.
    """

    tensor: str
    index: tuple[int, ...] | None
    status: str
    offset: int | None
    expected: Basic | None
    got: Basic | None = None
    missing: tuple[Basic, ...] = ()
    extra: tuple[Basic, ...] = ()
    written: str = ""
    kind: str = "entry"
    message: str = ""
    notes: tuple = ()  # strings, or ("differs_at", {symbol: value}) for a piecewise claim
    also_at: tuple[int, ...] = ()  # offsets of other statements claiming the same entry


def term_difference(expected: Basic, given: Basic) -> tuple[tuple[Basic, ...], tuple[Basic, ...]]:
    """(missing, extra): the terms of ``expected - given`` with positive and negative sign."""
    missing, extra = [], []
    for term in Add.make_args(expand(expected - given)):
        if term == 0:
            continue
        coefficient, _ = term.as_coeff_Mul()
        (extra if coefficient < 0 else missing).append(-term if coefficient < 0 else term)
    return tuple(missing), tuple(extra)


def compare(claims: Claims, derivation: Derivation, deadline=None) -> list[Record]:
    """One record per claim and per unusable claim, in file order, then the unchecked entries.

    When the file gives its input's values, both sides are compared at those values.
    ``deadline``, if given, is called with each claim's offset before comparing it (it raises
    past the file's time budget).
    """
    values = claims.values
    records: list[Record] = []
    for claim in claims.claims:
        if deadline is not None:
            deadline(claim.offset)
        expected = _at(derivation.grads[claim.tensor][claim.index], values)
        given = _at(claim.value, values)
        notes = (claim.note,) if claim.note else ()
        verdict = equality.compare(expected, given)
        if verdict.equal:
            if not verdict.exhaustive:
                notes = (*notes, _sampled_note(verdict))
            records.append(
                Record(
                    claim.tensor,
                    claim.index,
                    "correct",
                    claim.offset,
                    expected,
                    given,
                    written=claim.written,
                    kind=claim.kind,
                    notes=notes,
                )
            )
            continue
        if verdict.where is not None:
            notes = (*notes, ("differs_at", verdict.where))
            missing, extra = (), ()
        else:
            missing, extra = term_difference(expected, given)
        records.append(
            Record(
                claim.tensor,
                claim.index,
                "wrong",
                claim.offset,
                expected,
                given,
                missing,
                extra,
                claim.written,
                claim.kind,
                notes=notes,
            )
        )
    for unusable in claims.unusable:
        expected = (
            _at(derivation.grads[unusable.tensor][unusable.index], values)
            if unusable.tensor is not None and unusable.index is not None
            else None
        )
        records.append(
            Record(
                unusable.tensor or "",
                unusable.index,
                "invalid",
                unusable.offset,
                expected,
                written=unusable.written,
                message=unusable.message,
            )
        )
    records.sort(key=lambda record: record.offset if record.offset is not None else -1)
    records = _note_duplicates(records, claims)
    claimed = {(r.tensor, r.index) for r in records if r.index is not None}
    for name, grad in derivation.grads.items():
        for index, expected in np.ndenumerate(grad):
            if (name, index) not in claimed:
                records.append(Record(name, index, "unchecked", None, _at(expected, values)))
    return records


def _sampled_note(verdict: equality.Verdict) -> str:
    """Why an equal verdict is a test, not a proof, and how it was tested."""
    template = SAMPLED if verdict.method.startswith("orderings") else BY_VALUE
    return template.format(method=verdict.method)


def _at(expr: Basic, values: dict) -> Basic:
    """``expr`` at the input values the file gives (unchanged when it gives none)."""
    return expr.xreplace(values) if values else expr


def _note_duplicates(records: list[Record], claims: Claims) -> list[Record]:
    """Entries claimed by more than one statement: each such record names the others' places."""
    group_of = {claim.offset: claim.group for claim in claims.claims}

    def group(record: Record) -> int:
        return group_of.get(record.offset, -1 - record.offset)

    places: dict[tuple, dict[int, int]] = defaultdict(dict)  # entry -> {group: first offset}
    for record in records:
        if record.index is not None and record.offset is not None:
            places[(record.tensor, record.index)].setdefault(group(record), record.offset)
    firsts = {  # the first few places of each entry, enough to list all but one's own
        entry: sorted(by_group.items(), key=lambda item: item[1])[: MAX_PLACES + 1]
        for entry, by_group in places.items()
        if len(by_group) > 1
    }
    out = []
    for record in records:
        first = firsts.get((record.tensor, record.index))
        if first is None or record.offset is None:
            out.append(record)
            continue
        own = group(record)
        others = tuple(offset for g, offset in first if g != own)[:MAX_PLACES]
        out.append(replace(record, also_at=others))
    return out
