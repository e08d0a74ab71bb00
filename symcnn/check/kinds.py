"""What the checker knows of each layer kind, beyond checking claims entry by entry.

The core checker compares every claim with the exact derivation whatever the layer: that needs
nothing from the kind. What is particular to a kind is its known mistakes (:class:`Pattern`,
each rebuilding the wrong derivation it produces), the words its mistakes are told with, and
the notation it adds. A kind says so in its ``check`` module (``symcnn/layers/<kind>/check.py``)
as ``TABLE = {layer type: KindCheck(...)}``; the checker reads it with :func:`kind_check`.

A new kind (an elementwise ReLU, say) is checked entry by entry with ``KindCheck()`` and no
more; it adds its diagnoses by listing patterns there, without touching ``symcnn/check``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import layers
from ..derive import Derivation
from ..spec import Layer

Builder = Callable[[Derivation], dict[str, np.ndarray]]


class NotApplicable(Exception):
    """The pattern cannot differ from the exact derivation for this layer (e.g. no padding)."""


@dataclass(frozen=True)
class Pattern:
    """One known mistake: its name, what it makes of each gradient, and how to rebuild it.

    ``forms`` maps a tensor (``"X"``, ``"W"``; ``"*"`` for any) to (the wrong form, the right
    form), written with the fields ``{X} {W} {dO} {S} {P}`` that the report fills in with the
    submission's letters and the layer's stride and padding, and the kind's own
    (:attr:`KindCheck.fields`).
    """

    key: str
    title: str
    forms: dict[str, tuple[str, str]]
    build: Builder
    sentence: str = ""  # replaces the per-tensor forms when set (fields: {count} {lines} ...)


@dataclass(frozen=True)
class KindCheck:
    """One layer type's part in the checker.

    Attributes
    ----------
    patterns : tuple of Pattern
        Its known mistakes, in the order they are listed when several match.
    fields : callable, optional
        ``fields(spec)`` -> the words its patterns' titles and forms use (``{extreme}``...).
    upstream_terms : bool
        Every term of a gradient entry holds exactly one dL/dO factor (a layer linear in its
        input and weights alike): a wrong entry's other terms are pointed out.
    routing : callable, optional
        ``routing(spec)`` -> (tie rule, whether a divisor counts the padding): the kind has
        pooling windows, through which max-unpool, min-unpool and spread route a matrix.
    """

    patterns: tuple[Pattern, ...] = ()
    fields: Callable[[Layer], dict[str, str]] | None = None
    upstream_terms: bool = False
    routing: Callable[[Layer], tuple[str, bool]] | None = None


def kind_check(spec: Layer) -> KindCheck:
    """The checker's entry for ``spec``'s type (ValueError when the kind has none)."""
    return layers.entry("check", spec.type, "checking")
