"""A plain-text listing of a derivation: every forward entry and every gradient entry."""

from __future__ import annotations

import numpy as np

from ..derive import Derivation
from ..jsonio import expression_text

_TITLES = {"X": "dL/dX", "W": "dL/dW", "B": "dL/dB"}


def render(derivation: Derivation) -> str:
    spec = derivation.spec
    lines = [f"{spec.type} {spec.to_dict()}", f"output shape {list(spec.output_shape)}", ""]
    lines += _section("Forward: O", "O", derivation.output)
    for name, grad in derivation.grads.items():
        lines += _section(_TITLES[name], name, grad)
    return "\n".join(lines)


def _section(title: str, letter: str, array: np.ndarray) -> list[str]:
    lines = [title]
    for index, expr in np.ndenumerate(array):
        lines.append(f"  {letter}[{','.join(map(str, index))}] = {expression_text(expr)}")
    return [*lines, ""]
