"""The checker's knowledge of linear: its claims are checked entry by entry; every term of a
gradient entry holds one dL/dO factor, so a wrong entry's missing and extra terms are named."""

from __future__ import annotations

from ...check.kinds import KindCheck
from .spec import Linear

TABLE = {Linear.type: KindCheck(upstream_terms=True)}
