"""What ``symcnn check-code`` needs from a layer kind: its conventions, probes and mistakes.

A kind that can be checked as code has a module ``symcnn/layers/<kind>/checkcode.py`` whose
``TABLE`` maps its layer type to a :class:`KindCheckCode`. This package never names a layer:
it looks the spec's type up here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import layers
from ..spec import Layer

#: A probe's values: ``"x"`` (and ``"w"``, ``"b"``), the upstream ``"dout"``, as exact arrays.
Values = dict[str, np.ndarray]


@dataclass(frozen=True)
class Functions:
    """One convention's functions for a layer type and how the child calls them.

    Attributes
    ----------
    forward, backward : str
        The function names (``conv_forward_naive``); the plain convention's come from the
        command line, and ``""`` here means "given by ``--forward`` / ``--function``".
    caller : str
        The child's calling sequence (``child.CALLERS``).
    signature : str
        The signatures as the docs and the report write them.
    params : callable
        ``params(spec)`` -> the parameters the functions take (``conv_param``); a ValueError
        when the convention cannot express the layer (CS231n has one stride for both axes).
    backward_needs_forward : bool
        The backward function reads the forward's cache, so it is checked only with it.
    """

    forward: str
    backward: str
    caller: str
    signature: str
    params: Callable[[Layer], dict[str, Any]]
    backward_needs_forward: bool = False


@dataclass(frozen=True)
class CodeMistake:
    """A mistake people make in code, and what a function with it returns.

    ``predict(spec, values)`` -> the mistaken function's outputs (``{"dx": ...}``, exact
    arrays; an output it leaves right may be left out), or None when the mistake cannot show on
    this layer (no stride to ignore). It is named only when it reproduces every entry of the
    student's output on every probe, and the right answer does not.
    """

    key: str
    title: str
    advice: str
    predict: Callable[[Layer, Values], dict[str, np.ndarray] | None]


@dataclass(frozen=True)
class KindCheckCode:
    """One layer type's part in ``check-code``.

    Attributes
    ----------
    conventions : dict of str to Functions
        ``"cs231n"``, ``"plain"``: the functions each convention names.
    probes : callable
        ``probes()`` -> the built-in layers, chosen so that the known mistakes show.
    values : callable
        ``values(spec, rng)`` -> the inputs of a probe (``"x"``, and ``"w"``, ``"b"``) as exact
        arrays: pools get inputs with deliberate ties in some windows.
    outputs : dict of str to str
        The backward function's outputs, in order, to the derivation's gradients
        (``{"dx": "X", "dw": "W", "db": "B"}``).
    inputs : dict of str to str
        The derivation's tensors the inputs bind (``{"x": "X", "w": "W", "b": "B"}``).
    mistakes : tuple of CodeMistake
        In the order they are listed when several reproduce an output.
    """

    conventions: dict[str, Functions]
    probes: Callable[[], tuple[Layer, ...]]
    values: Callable[[Layer, np.random.Generator], Values]
    outputs: dict[str, str]
    inputs: dict[str, str]
    mistakes: tuple[CodeMistake, ...] = ()


def kind_check_code(spec: Layer) -> KindCheckCode:
    """The entry for ``spec``'s type (ValueError naming the layers that have one)."""
    return layers.entry("checkcode", spec.type, "check-code")


def kinds() -> dict[str, KindCheckCode]:
    """Every layer type's entry, by type."""
    return layers.table("checkcode")
