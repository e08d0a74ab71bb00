"""The operator identities of the pools: unpooling to the extreme by the tie rule, spreading."""

from __future__ import annotations

from sympy import Max, Min

from ...identities import LayerIdentities, avg_spread_form, extreme_unpool_form
from .spec import AvgPool2d, MaxPool2d, MinPool2d


def _routing(key: str, name: str, extreme: str) -> tuple:
    """The unpooling identity of an extreme pool: the same statement for max and min."""
    return (
        key,
        "X",
        f"dL/dX = {name}-unpool(dL/dO): each window's dL/dO goes to its {extreme} cell(s) by the"
        " tie rule (first: the first in row-major order gets all of it; all: every tied cell"
        " gets all of it; split: the tied cells share it equally); padded cells never win;"
        " overlapping windows add",
        extreme_unpool_form,
    )


#: Layer type -> its identities (read by :func:`symcnn.identities.verify` through the registry).
TABLE = {
    MaxPool2d.type: LayerIdentities(
        rules=(_routing("max_unpool_routing", "max", "maximal"),), extreme=Max
    ),
    MinPool2d.type: LayerIdentities(
        rules=(_routing("min_unpool_routing", "min", "minimal"),), extreme=Min
    ),
    AvgPool2d.type: LayerIdentities(
        rules=(
            (
                "even_spreading",
                "X",
                "dL/dX = each window's dL/dO divided by its divisor (kh*kw with"
                " count_include_pad, else its real cells) and added to every real cell of the"
                " window; overlapping windows add",
                avg_spread_form,
            ),
        )
    ),
}
