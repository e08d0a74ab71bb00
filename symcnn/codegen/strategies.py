"""Strategies: how a proven structure becomes the body of a generated kernel.

A strategy is one row of :data:`STRATEGIES`: a name, what it is, and a test of whether it suits a
layer; each layer kind's code generation entry (:class:`~symcnn.codegen.kinds.KindCodegen`)
holds its builders by strategy name, each turning the
:class:`~symcnn.codegen.structure.Structure` into the lines of ``forward`` and ``backward``
(:class:`KernelCode`). The printer writes every expression and region; the builders only order
the statements. The strategies shared across kinds:

- ``unrolled``: straight-line code, one statement per output and gradient entry, printed from the
  derived expressions of one sample (every sample runs at once as a row). Reads like the hand
  derivation; fastest for tiny layers; refused past :data:`UNROLLED_TERM_LIMIT` terms.
- ``taps``: one statement per kernel (or window) tap, on the tap's two strided rectangles.
- ``separable``: (average pooling) the window's rows summed, then its columns: ``kh + kw``
  strided additions instead of ``kh * kw``, when the proven taps are a product of row and
  column runs.
- ``gemm``: (convolution) gather every tap into columns (im2col), then one matrix product hands
  the bulk of the work to BLAS; the input gradient is scattered back tap by tap.
- ``gather``: (convolution) the columns laid out per sample, so that each product writes its
  output in place; the input gradient gathered too (dL/dO spread under each tap, then one
  product with the transposed kernel: the full correlation with the rotated kernel).

The builders are in each kind's folder (:mod:`symcnn.layers.conv2d.codegen`,
:mod:`symcnn.layers.pool.codegen`); a kind may add strategies of its own
(:attr:`~symcnn.codegen.kinds.KindCodegen.own_strategies`, see :func:`all_strategies`).

The arrays a body works on are named by the template: ``x``, ``w``, ``b`` (a zero bias when none
is given) and ``out`` in ``forward``; ``x``, ``w``, ``grad_out``, ``grad_x``, ``grad_w`` and
``grad_b`` in ``backward`` (a pool has no ``w``, ``b``, ``grad_w``, ``grad_b``). A body must
write every entry of its outputs (the tests pre-fill them with a sentinel).
"""

from __future__ import annotations

from .. import layers
from .bodies import KernelCode
from .kinds import Builder, Strategy
from .structure import Structure, codegen_of
from .terms import axis_runs

#: Unrolled code is refused past this many printed terms (forward and backward together): a
#: module of that size is already some 100 KB of straight-line code.
UNROLLED_TERM_LIMIT = 3000


def unrolled_terms(structure: Structure) -> int:
    """Terms an unrolled module prints: every term of one sample's forward and gradients."""
    count = codegen_of(structure.spec).unrolled_terms
    if count is None:
        raise ValueError(f"{structure.spec.type} does not count its unrolled terms")
    return count(structure)


def _unrolled_refusal(structure: Structure) -> str | None:
    terms = unrolled_terms(structure)
    if terms > UNROLLED_TERM_LIMIT:
        return f"{terms:,} terms, more than the unrolled limit of {UNROLLED_TERM_LIMIT:,}"
    return None


def _separable_refusal(structure: Structure) -> str | None:
    if axis_runs(structure.taps) is None:
        return "its taps are not a product of row and column runs"
    return None


def _always(structure: Structure) -> None:
    return None


#: Every shared strategy, in the order ``--strategy auto`` measures them and ties are broken.
STRATEGIES: dict[str, Strategy] = {
    strategy.name: strategy
    for strategy in (
        Strategy(
            "unrolled",
            "straight-line code, one statement per entry, as the derivation reads",
            _unrolled_refusal,
        ),
        Strategy("taps", "one statement per kernel tap over its strided rectangles", _always),
        Strategy(
            "separable",
            "sum the window rows, then the window columns",
            _separable_refusal,
            for_only="whose windows weigh every cell the same",
        ),
        Strategy("gemm", "gather the taps into columns, then one matrix product (BLAS)", _always),
        Strategy(
            "gather",
            "per-sample matrix products in place; dL/dX gathered under each tap, one product",
            _always,
            for_only="which has weights to multiply",
        ),
    )
}


def all_strategies() -> dict[str, Strategy]:
    """The shared strategies, then those of the kinds' own (in the registry's order)."""
    found = dict(STRATEGIES)
    for kind in layers.table("codegen").values():
        for strategy in kind.own_strategies:
            found.setdefault(strategy.name, strategy)
    return found


def applicable(structure: Structure) -> list[Strategy]:
    """The strategies that fit the layer, in table order."""
    return [strategy for strategy in all_strategies().values() if strategy.fits(structure)]


__all__ = [
    "STRATEGIES",
    "Builder",
    "KernelCode",
    "Strategy",
    "all_strategies",
    "applicable",
    "unrolled_terms",
]
