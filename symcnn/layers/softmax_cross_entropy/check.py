"""The checker's knowledge of softmax_cross_entropy: its claims are checked entry by entry."""

from __future__ import annotations

from ...check.kinds import KindCheck
from .spec import SoftmaxCrossEntropy

TABLE = {SoftmaxCrossEntropy.type: KindCheck()}
