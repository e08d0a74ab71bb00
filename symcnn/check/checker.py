"""The checker's driver: a submission and a layer -> a :class:`Report`.

Reads as the pipeline: text -> statements -> parsed statements -> letters -> claims -> verdicts
per entry -> diagnoses.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sympy import Integer

from ..derive import Derivation, collector_paused, derive
from ..options import check_loss_letter
from ..spec import Layer
from .compare import Record, compare
from .diagnose import INDEX_SHIFT, Diagnosis, diagnose, entry_hints
from .parse import FailedStatement, ParsedStatement, parse_statement
from .resolve import MAX_TERMS, Letters, Reader, Skipped, infer_letters, unread_claims
from .source import (
    MAX_BYTES,
    NotationError,
    Source,
    read_source,
    source_from_text,
    split_statements,
)

#: Seconds one file may take to check (``--time-limit``, Python ``time_limit=``).
DEFAULT_TIME_LIMIT = 60.0


class Deadline:
    """The time budget of checking one file: calling it with a claim's offset raises a
    :class:`NotationError` there once the budget is spent.

    It is checked before each statement is read and before each claim is compared, so one claim
    past the budget is the most it overruns (and one claim's work is bounded by
    ``max_claim_terms``).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def __call__(self, offset: int) -> None:
        if time.monotonic() > self.end:
            raise NotationError(
                f"checking this file took longer than the time limit of {self.seconds:g} s"
                " (stopped before this claim); raise it with --time-limit SECONDS"
                " (Python: time_limit=)",
                offset,
            )


@dataclass(frozen=True)
class Report:
    """The verdict on one submission.

    Attributes
    ----------
    source : Source
        The submission (its name and text, to turn offsets into ``FILE:LINE:COLUMN``).
    derivation : Derivation
        The exact derivation the claims were compared with.
    letters : Letters
        The letters the file was read with (given or inferred).
    zero_based : bool
        Whether indices were read as counting from 0.
    records : list of Record
        One per claim (file order), then one per unchecked entry.
    diagnoses : list of Diagnosis
        Known mistakes the wrong entries match, most explaining first.
    skipped : list of Skipped
        Statements about the loss's gradient that are not checkable claims.
    hints : dict
        Exact hints on single wrong records, by their position in ``records``.
    values : dict
        The input values the file gives (symbol -> number); claims were checked at them.
    """

    source: Source
    derivation: Derivation
    letters: Letters
    zero_based: bool
    records: list[Record]
    diagnoses: list[Diagnosis] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    hints: dict[int, list[tuple]] = field(default_factory=dict)
    values: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(record.status for record in self.records)
        return {
            status: counts.get(status, 0) for status in ("correct", "wrong", "invalid", "unchecked")
        }

    @property
    def exit_status(self) -> int:
        """0: every claim correct; 1: a claim is wrong; 2: a claim could not be read."""
        summary = self.summary
        if summary["invalid"]:
            return 2
        return 1 if summary["wrong"] else 0

    def where(self, offset: int | None) -> str:
        return self.source.where(offset)

    def line(self, offset: int | None) -> int | None:
        return None if offset is None else self.source.position(offset)[0]


def check_source(
    source: Source,
    derivation: Derivation,
    *,
    letters: str | None = None,
    loss: str | None = None,
    zero_based: bool = False,
    max_claim_terms: int = MAX_TERMS,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Report:
    """Check every claim of a submission against the exact derivation.

    Parameters
    ----------
    source : Source
        The submission (:func:`symcnn.check.source.read_source` or ``source_from_text``).
    derivation : Derivation
        ``derive(spec)`` for the layer the submission derives.
    letters : str, optional
        Input, kernel, output[, bias] letters (``"XFO"``); pools: input, output. Inferred when
        omitted.
    loss : str, optional
        The loss letter (``"L"``, ``"E"``); inferred when omitted.
    zero_based : bool
        Read indices as counting from 0 (default: from 1).
    max_claim_terms : int
        Refuse a claim that would expand to more terms than this (10,000): it bounds the work
        of comparing one claim.
    time_limit : float
        Seconds the whole file may take (60): past them the check stops, at the claim it
        had reached, with a :class:`NotationError`.

    Raises
    ------
    NotationError
        When the submission holds no claim at all, its letters cannot be told apart, or
        checking it takes longer than ``time_limit``.
    """
    _check_options(letters, loss, zero_based, max_claim_terms)
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not math.isfinite(time_limit)
        or time_limit <= 0
    ):
        raise ValueError(
            f"time_limit={time_limit!r} is not valid: expected a number of seconds > 0"
            f" (default {DEFAULT_TIME_LIMIT:g})"
        )
    with collector_paused():
        return _check(
            source,
            derivation,
            letters=letters,
            loss=loss,
            zero_based=zero_based,
            max_terms=max_claim_terms,
            deadline=Deadline(time_limit),
        )


def _check_options(letters, loss, zero_based, max_claim_terms) -> None:
    """ValueError naming the first option of :func:`check_source` that is not valid."""
    if letters is not None and not isinstance(letters, str):
        raise ValueError(f"letters={letters!r} is not valid: expected a string such as 'XFO'")
    if loss is not None:
        check_loss_letter(loss)  # the rule derive applies; the letters are checked once known
    if not isinstance(zero_based, bool):
        raise ValueError(f"zero_based={zero_based!r} is not valid: expected True or False")
    if isinstance(max_claim_terms, bool) or not isinstance(max_claim_terms, int):
        raise ValueError(f"max_claim_terms={max_claim_terms!r} is not valid: expected a count")
    if max_claim_terms < 1:
        raise ValueError(f"max_claim_terms={max_claim_terms!r} is not valid: expected >= 1")


def _loss_itself(derivation: Derivation) -> Derivation:
    """A loss's derivation with dL/dO = 1: its output O is the loss L itself, so a hand
    derivation writes dL/dX without that factor (exactly)."""
    one = {derivation.tensors.G[0]: Integer(1)}
    grads = {
        name: np.vectorize(lambda expr: expr.xreplace(one), otypes=[object])(grad)
        for name, grad in derivation.grads.items()
    }
    return dataclasses.replace(derivation, grads=grads)


def _check(source, derivation, *, letters, loss, zero_based, max_terms, deadline) -> Report:
    if derivation.spec.is_loss:
        derivation = _loss_itself(derivation)
    # [text] -> [statements]
    statements = split_statements(source)
    # [statements] -> [expression trees in the reader's notation]
    readings = [parse_statement(statement) for statement in statements]
    parsed = [p for p in readings if isinstance(p, ParsedStatement | FailedStatement)]
    # [trees] -> [letters]
    has_kernel = "W" in derivation.grads
    chosen: Letters = infer_letters(parsed, has_kernel, letters=letters, loss=loss)
    # [trees + letters] -> [claims in the contract's symbols]
    reader = Reader(
        derivation, chosen, zero_based=zero_based, max_terms=max_terms, deadline=deadline
    )
    claims = reader.read(parsed, source)
    # [statements left without a verdict] -> [claims reported as not read]
    unread_claims(statements, readings, claims, chosen)
    if not claims.claims and not claims.unusable:
        reason = f" ({claims.skipped[0].reason})" if claims.skipped else ""
        raise NotationError(
            "no gradient claims found: expected lines such as"
            f" dL/dX12 = dL/dO11*W12 + ... or \\frac{{\\partial L}}{{\\partial X_{{12}}}} = ...,"
            f" with the letters {chosen.describe()}{reason}"
        )
    # [claims] -> [verdict per entry] -> [known mistakes]
    records = compare(claims, derivation, deadline)
    diagnoses = diagnose(records, derivation, claims.values)
    shifted = _index_shift(
        parsed, source, derivation, chosen, zero_based, records, max_terms, deadline
    )
    if shifted is not None:
        diagnoses = [shifted]  # every claim right the other way: nothing else to explain
    return Report(
        source,
        derivation,
        chosen,
        zero_based,
        records,
        diagnoses,
        claims.skipped,
        entry_hints(records, derivation, claims.values),
        claims.values,
    )


def _index_shift(
    parsed, source, derivation, letters, zero_based, records, max_terms, deadline
) -> Diagnosis | None:
    """Read the file again counting from the other end; if every claim is then right, say so.

    This is the index-shift pattern's recomputation: the exact derivation written with every
    index one off is what this reading found wrong, exactly when the other reading finds it
    right.
    """
    failed = [r for r in records if r.status in ("wrong", "invalid")]
    if not failed:
        return None
    reader = Reader(
        derivation, letters, zero_based=not zero_based, max_terms=max_terms, deadline=deadline
    )
    other = reader.read(parsed, source)
    if other.unusable or not other.claims:
        return None
    again = compare(other, derivation, deadline)
    if any(record.status == "wrong" for record in again):
        return None
    return Diagnosis(INDEX_SHIFT, tuple(failed), ())


def check_text(text: str, spec: Layer, **options) -> Report:
    """Check a submission given as text (see :func:`check_source` for the options).

    >>> from symcnn.layers.conv2d.spec import Conv2d
    >>> report = check_text("dE/dx12 = dE/do11*w12 + dE/do12*w11",
    ...                     Conv2d(input_shape=(1, 1, 3, 3), kernel=(2, 2)))
    >>> report.summary["correct"], report.exit_status
    (1, 0)
    """
    if not isinstance(text, str):
        raise ValueError(
            f"text={_short(text)} is not valid: expected the submission as a str"
            " (check_file reads a file)"
        )
    return check_source(source_from_text(text), derive(spec), **options)


def check_file(
    path: str | Path,
    spec_or_derivation: Layer | Derivation,
    *,
    max_bytes: int = MAX_BYTES,
    **options,
) -> Report:
    """Check a submission file (see :func:`check_source` for the options).

    Raises ValueError (:class:`~symcnn.check.source.NotationError`) for a path that is missing,
    not a regular file, or not a readable derivation.
    """
    if not isinstance(path, str | os.PathLike):
        raise ValueError(f"path={_short(path)} is not valid: expected a file name (str or Path)")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"max_bytes={max_bytes!r} is not valid: expected a whole number >= 1")
    derivation = (
        spec_or_derivation
        if isinstance(spec_or_derivation, Derivation)
        else derive(spec_or_derivation)
    )
    try:
        source = read_source(path, max_bytes=max_bytes)
    except NotationError as error:  # name the file: the caller may read many
        raise NotationError(error.located(os.fspath(path))) from None
    return check_source(source, derivation, **options)


def _short(value: object, limit: int = 60) -> str:
    """``repr(value)``, cut past ``limit`` characters: a message stays one line."""
    shown = repr(value)
    return shown if len(shown) <= limit else shown[:limit] + "..."
