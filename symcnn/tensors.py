"""Symbolic tensors: arrays of SymPy symbols named by the contract (0-based indices).

``x_n_c_h_w`` (input), ``w_k_c_p_q`` (weight), ``b_k`` (bias) and ``g_n_k_i_j`` (the upstream
gradient dL/dO). The arrays are NumPy object arrays so that slicing reads like the math.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from sympy import Symbol

from .spec import Layer

#: Tensor name -> the prefix of its symbols in the contract.
PREFIXES = {"X": "x", "W": "w", "B": "b", "G": "g"}
_SYMBOL_NAME = re.compile(r"^([xwbg])((?:_\d+)+)$")


def symbol_array(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of plain symbols ``prefix_i_j_...`` of the given shape."""
    array = np.empty(shape, dtype=object)
    for index in itertools.product(*(range(n) for n in shape)):
        array[index] = Symbol(prefix + "".join(f"_{i}" for i in index))
    return array


def parse_symbol(symbol: Symbol) -> tuple[str, tuple[int, ...]] | None:
    """``x_0_1_2_3`` -> ``("X", (0, 1, 2, 3))``; None for a symbol of no tensor.

    >>> parse_symbol(Symbol("w_1_0_2_2"))
    ('W', (1, 0, 2, 2))
    """
    match = _SYMBOL_NAME.match(symbol.name)
    if not match:
        return None
    tensor = {v: k for k, v in PREFIXES.items()}[match.group(1)]
    return tensor, tuple(int(i) for i in match.group(2)[1:].split("_"))


@dataclass(frozen=True)
class Tensors:
    """The symbolic leaves of one layer: input X, weight W, bias B and upstream gradient G."""

    X: np.ndarray
    G: np.ndarray
    W: np.ndarray | None = None
    B: np.ndarray | None = None

    @classmethod
    def for_layer(cls, spec: Layer) -> Tensors:
        shapes = spec.parameters()
        arrays = {name: symbol_array(PREFIXES[name], shape) for name, shape in shapes.items()}
        return cls(G=symbol_array("g", spec.output_shape), **arrays)

    def parameters(self) -> dict[str, np.ndarray]:
        """The tensors the loss is differentiated with respect to, in the contract's order."""
        named = {"X": self.X, "W": self.W, "B": self.B}
        return {name: array for name, array in named.items() if array is not None}
