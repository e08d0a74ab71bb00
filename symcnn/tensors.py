"""Symbolic tensors: arrays of SymPy symbols named by the contract (0-based indices).

``x_n_c_h_w`` (input), ``w_k_c_p_q`` (weight), ``b_k`` (bias) and ``g_n_k_i_j`` (the upstream
gradient dL/dO). The arrays are NumPy object arrays so that slicing reads like the math.

A network holds several layers, and two conv layers must not share ``w_0_0_0_0``: a layer's
tensors can be given a *namespace*, a letter then letters or digits (``l0``, ``conv2``), that
prefixes every name with one underscore: ``l0_x_0_0_1_1``, ``l0_w_0_0_0_0``, ``l0_b_0``,
``l0_g_0_0_0_0``. The empty namespace (the default) gives the contract's names exactly. Names
stay plain identifiers, so ``sympy.sympify`` reads them back as the same symbols, and the
namespace has no underscore, so a name parses one way only (:func:`parse_symbol`). Within one
namespace the names sort as the contract's do (a common prefix), so every canonical order SymPy
chooses, and every printed expression, is the same up to the prefix.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from sympy import Symbol

from .spec import Layer

#: Tensor name -> the prefix of its symbols in the contract.
PREFIXES = {"X": "x", "W": "w", "B": "b", "G": "g", "T": "t"}
_TENSORS = {prefix: tensor for tensor, prefix in PREFIXES.items()}
_NAMESPACE = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_SYMBOL_NAME = re.compile(r"^(?:([A-Za-z][A-Za-z0-9]*)_)?([xwbgt])((?:_\d+)+)$")


def _prefixed(prefix: str, namespace: str) -> str:
    """The name of a tensor's symbols before their indices: ``x``, or ``l0_x`` in ``l0``."""
    if not namespace:
        return prefix
    if not isinstance(namespace, str) or not _NAMESPACE.match(namespace):
        raise ValueError(
            f"namespace={namespace!r} is not valid: expected a letter then letters or digits"
            " (such as 'l0'), or '' for the contract's names"
        )
    return f"{namespace}_{prefix}"


def symbol_array(prefix: str, shape: tuple[int, ...]) -> np.ndarray:
    """An object array of plain symbols ``prefix_i_j_...`` of the given shape."""
    array = np.empty(shape, dtype=object)
    for index in itertools.product(*(range(n) for n in shape)):
        array[index] = Symbol(prefix + "".join(f"_{i}" for i in index))
    return array


def parse_symbol(symbol: Symbol) -> tuple[str, tuple[int, ...]] | None:
    """``x_0_1_2_3`` -> ``("X", (0, 1, 2, 3))``; None for a symbol of no tensor.

    A namespaced name parses to the same pair (``l0_w_1_0_2_2`` -> ``("W", (1, 0, 2, 2))``);
    :func:`symbol_namespace` tells the namespace.

    >>> parse_symbol(Symbol("w_1_0_2_2"))
    ('W', (1, 0, 2, 2))
    >>> parse_symbol(Symbol("l0_g_0_0_1_1"))
    ('G', (0, 0, 1, 1))
    """
    match = _SYMBOL_NAME.match(symbol.name)
    if not match:
        return None
    return _TENSORS[match.group(2)], tuple(int(i) for i in match.group(3)[1:].split("_"))


def symbol_namespace(symbol: Symbol) -> str | None:
    """The namespace of a tensor's symbol: ``""`` for the contract's names, None for no tensor's.

    >>> symbol_namespace(Symbol("l0_x_0_0_1_1")), symbol_namespace(Symbol("x_0_0_1_1"))
    ('l0', '')
    """
    match = _SYMBOL_NAME.match(symbol.name)
    if not match:
        return None
    return match.group(1) or ""


def is_upstream(symbol: Symbol) -> bool:
    """True for an entry of the upstream gradient G (``g_...``, in any namespace).

    >>> is_upstream(Symbol("g_0_0_0_0")), is_upstream(Symbol("l1_g_0_0")), is_upstream(Symbol("g"))
    (True, True, False)
    """
    parsed = parse_symbol(symbol)
    return parsed is not None and parsed[0] == "G"


@dataclass(frozen=True)
class Tensors:
    """The symbolic leaves of one layer: input X, weight W, bias B and upstream gradient G."""

    X: np.ndarray
    G: np.ndarray
    W: np.ndarray | None = None
    B: np.ndarray | None = None
    #: A loss's target (``t_...``): a leaf the loss is not differentiated with respect to.
    T: np.ndarray | None = None

    @property
    def namespace(self) -> str:
        """The prefix of every symbol's name ("" for the contract's names), read off X.

        Not a field: the fields are the arrays (callers iterate ``vars(tensors)``).
        """
        return symbol_namespace(self.X.flat[0]) or ""

    @classmethod
    def for_layer(cls, spec: Layer, namespace: str = "") -> Tensors:
        """The symbols of ``spec``'s tensors, named by the contract within ``namespace``.

        Parameters
        ----------
        spec : Layer
            The layer; its ``parameters()`` say which tensors it has and their shapes.
        namespace : str
            ``""`` for the contract's names (``x_n_c_h_w``, ...), or a letter then letters or
            digits (``"l0"``) that prefixes every name (``l0_x_n_c_h_w``), so that the layers
            of one network never share a symbol.

        Returns
        -------
        Tensors
            X and G, and W and B when the layer has them.

        Raises
        ------
        ValueError
            A namespace that is not a letter then letters or digits.

        Examples
        --------
        >>> from symcnn.layers.conv2d.spec import Conv2d
        >>> spec = Conv2d(input_shape=(2, 2), kernel=1)
        >>> Tensors.for_layer(spec, namespace="l0").W[0, 0, 0, 0]
        l0_w_0_0_0_0
        """
        shapes = spec.parameters()
        arrays = {
            name: symbol_array(_prefixed(PREFIXES[name], namespace), shape)
            for name, shape in shapes.items()
        }
        upstream = symbol_array(_prefixed(PREFIXES["G"], namespace), spec.output_shape)
        if spec.target_shape is not None:  # a loss: its target is a leaf, never differentiated
            arrays["T"] = symbol_array(_prefixed(PREFIXES["T"], namespace), spec.target_shape)
        return cls(G=upstream, **arrays)

    def parameters(self) -> dict[str, np.ndarray]:
        """The tensors the loss is differentiated with respect to, in the contract's order."""
        named = {"X": self.X, "W": self.W, "B": self.B}
        return {name: array for name, array in named.items() if array is not None}
