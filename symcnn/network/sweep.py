"""The backward sweep of a network as lecture-note steps, and the staged derivation as JSON.

The text names the tensors as the notes do: ``A0`` is the network's input and ``Ap`` the input
of layer p (the output of layer p-1); ``dL/dAp`` its gradient, the delta the sweep passes down;
``Wp``, ``Bp`` the parameters of layer p (PyTorch's ``"p.weight"``, ``"p.bias"``); ``T`` the
target. One step per layer, from the loss down: its delta in terms of the next one's, the
identities verified for it, then its parameter gradients.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from sympy import Basic, Symbol

from .. import identities
from ..jsonio import nested
from ..tensors import parse_symbol, symbol_namespace
from .derive import NetworkDerivation
from .params import NAMES, parameter_shapes

#: Entries shown per tensor in the text (the JSON has every one).
SHOWN = 4


def _readable(expr: Basic, last: int) -> Basic:
    """The stage symbols renamed as the notes name the tensors (A2[0,1], dL/dA3[0,1], W2[...])."""
    names = {}
    for symbol in expr.free_symbols:
        parsed, space = parse_symbol(symbol), symbol_namespace(symbol)
        if parsed is None or not space:
            continue
        tensor, index = parsed
        position = int(space[1:])
        where = "[" + ",".join(map(str, index)) + "]"
        label = {
            "X": f"A{position}",
            "G": "dL/dL" if position == last else f"dL/dA{position + 1}",
            "W": f"W{position}",
            "B": f"B{position}",
            "T": "T",
        }[tensor]
        names[symbol] = Symbol(label if label == "dL/dL" else label + where)
    return expr.xreplace(names)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _entries(lines: list[str], label: str, array: np.ndarray, last: int) -> None:
    for count, (index, expr) in enumerate(np.ndenumerate(array)):
        if count == SHOWN:
            lines.append(f"    ... ({array.size} entries in all; --format json gives every one)")
            break
        where = ",".join(map(str, index))
        lines.append(f"    {label}[{where}] = {_readable(expr, last)}")


def text(staged: NetworkDerivation) -> str:
    """The forward chain and the backward sweep, one step per layer from the loss down."""
    net = staged.net
    last = len(staged.stages) - 1
    lines = [
        f"Backpropagation through a network of {len(net.layers)} layers and a {net.loss.type} loss",
        "",
        "Forward: A0 is the input; layer p maps Ap to A(p+1).",
    ]
    for position, spec in enumerate(net.layers):
        lines.append(
            f"  layer {position} ({spec.type}): A{position} {_shape(spec.input_shape)}"
            f" -> A{position + 1} {_shape(spec.output_shape)}"
        )
    lines.append(f"  loss ({net.loss.type}): L of A{last} against the target T")
    lines += [
        "",
        "Backward: each layer's delta dL/dAp in terms of the next one's, dL/dA(p+1);"
        " the loss starts it with dL/dL = 1.",
    ]
    for step, position in enumerate(reversed(range(len(staged.stages))), start=1):
        stage = staged.stages[position]
        title = "loss" if position == last else f"layer {position}"
        lines += ["", f"Step {step}. {title} ({stage.spec.type})"]
        if position == last:
            lines.append(f"    L = {_readable(stage.output[0], last)}")
        held = [found for found in identities.verify(stage) if found.holds]
        for found in held:
            lines.append(f"  identity verified: {found.statement}")
        _entries(lines, f"dL/dA{position}", stage.grads["X"], last)
        for tensor, name in NAMES.items():
            if tensor in stage.grads:
                lines.append(f"  {position}.{name}:")
                _entries(lines, f"dL/d{tensor}{position}", stage.grads[tensor], last)
    return "\n".join(lines) + "\n"


def to_dict(staged: NetworkDerivation) -> dict[str, Any]:
    """Every stage's exact expressions over its own symbols, and how the stages link."""
    net = staged.net
    return {
        "network": net.to_dict(),
        "parameters": {name: list(shape) for name, shape in parameter_shapes(net).items()},
        "links": {
            "forward": "l<p+1>_x_... is the output entry of stage p at the same index",
            "backward": "l<p>_g_... is grads.X of stage p+1 at the same index;"
            " the loss stage's g_0 is 1",
        },
        "stages": [
            {
                "position": position,
                "namespace": f"l{position}",
                "layer": stage.spec.to_dict(),
                "output_shape": list(stage.spec.output_shape),
                "forward": nested(stage.output),
                "grads": {name: nested(grad) for name, grad in stage.grads.items()},
            }
            for position, stage in enumerate(staged.stages)
        ],
    }


def dumps(staged: NetworkDerivation) -> str:
    """The staged derivation as a compact JSON document."""
    return json.dumps(to_dict(staged), separators=(",", ":")) + "\n"
