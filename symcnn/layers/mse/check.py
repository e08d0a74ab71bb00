"""The checker's knowledge of mse: its claims are checked entry by entry."""

from __future__ import annotations

from ...check.kinds import KindCheck
from .spec import MSE

TABLE = {MSE.type: KindCheck()}
