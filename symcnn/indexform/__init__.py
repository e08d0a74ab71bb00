"""The general formula: a layer's forward pass and gradients at the level of indices.

The notes' worked entries are sums of concrete terms (``x_0_0_1_2*g_0_0_0_1 + ...``). A teacher
writes the general formula first: ``dL/dW[k,c,p,q] = sum_{n,i,j} dL/dO[n,k,i,j] *
X[n, c, S*i - P + D*p, S*j - P + D*q]``, with exactly the bounds under which a term is present.
This package derives such formulas and proves them:

- :mod:`.algebra`: integer index arithmetic over SymPy integer symbols (affine expressions,
  ``floor``, ``Mod``), the formula's data (reads, sums, conditions), the elimination that turns
  a kind's forward formula into each gradient's, and the tightening of the summation bounds;
- :mod:`.instantiate`: a formula at one index of its tensor, in the contract's symbols, reading
  every tensor strictly (a read outside the tensor means the bounds are not tight), and the proof
  that every entry equals the exact entry-wise derivation;
- :func:`general` (here): the registry's ``general`` concern of a layer, derived and proven.

A kind says only what its forward pass is, as an index formula with its numbers substituted
(``symcnn/layers/<kind>/general.py``); the gradients are derived from it, not written down.
"""

from __future__ import annotations

from .derivation import General, general

__all__ = ["General", "general"]
