"""How a layer kind without kernels of its own joins a generated network: NumPy statements
over whole batches, each proved against the layer's exact derivation before it is written.

A kind's ``layers/<kind>/network.py`` gives a :class:`NetworkStep`: the forward statements
(over ``x`` and its parameters ``w``, ``b``; they set ``out``), the backward statements (over
``x``, ``grad_out`` and ``w``; they set ``grad_x`` and the parameter gradients ``grad_w``,
``grad_b``), and ``prove(derivation)``, which returns True only when the derived gradients are
the statements' math, entry by entry. A loss's statements read ``target`` and set ``loss``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..derive import Derivation


@dataclass(frozen=True)
class NetworkStep:
    """One kind's statements in a generated network, and the proof that they are its math."""

    forward: tuple[str, ...]
    backward: tuple[str, ...]
    prove: Callable[[Derivation], bool]
    #: What the proof establishes, quoted in the generated module's docstring.
    proves: str
