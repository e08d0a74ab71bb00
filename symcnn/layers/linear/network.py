"""linear in a generated network: matrix products, proved by linear's three identities."""

from __future__ import annotations

from ... import identities
from ...network.steps import NetworkStep
from .spec import Linear


def _prove(derivation) -> bool:
    found = identities.verify(derivation)
    return bool(found) and all(identity.holds for identity in found)


TABLE = {
    Linear.type: NetworkStep(
        forward=("out = x @ w.T", "if b is not None:", "    out = out + b"),
        backward=(
            "grad_x = grad_out @ w",
            "grad_w = grad_out.T @ x",
            "grad_b = grad_out.sum(axis=0)",
        ),
        prove=_prove,
        proves="dL/dX = dL/dO W, dL/dW = (dL/dO)^T X, dL/dB = sum of dL/dO",
    )
}
