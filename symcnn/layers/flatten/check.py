"""The checker's knowledge of flatten: its claims are checked entry by entry."""

from __future__ import annotations

from ...check.kinds import KindCheck
from .spec import Flatten

TABLE = {Flatten.type: KindCheck(upstream_terms=True)}
