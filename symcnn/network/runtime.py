"""A network through the generic runtime: layer after layer forward, the loss, then every
gradient backward (the reference the generated network module is held against).

>>> from symcnn.network.spec import network_from_dict
>>> from symcnn.network.params import init_params
>>> net = network_from_dict({"input": [2, 3], "layer": [{"type": "linear", "out_features": 2}],
...                          "loss": {"type": "softmax_cross_entropy"}})
>>> params = init_params(net, seed=1)
>>> loss, grads = loss_and_grads(net, np.ones((2, 3)), np.array([0, 1]), params)
>>> sorted(grads), grads["0.weight"].shape
(['0.bias', '0.weight', 'input'], (2, 3))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import runtime
from .params import NAMES
from .spec import Network


def _arrays(position: int, spec, params: dict[str, np.ndarray]) -> dict[str, Any]:
    shapes = spec.parameters()
    given = {}
    for tensor, argument in (("W", "w"), ("B", "b")):
        if tensor in shapes:
            given[argument] = params[f"{position}.{NAMES[tensor]}"]
    return given


def activations(net: Network, x: np.ndarray, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The input of every layer, then the network's output (the loss's input)."""
    values = [np.asarray(x)]
    for position, spec in enumerate(net.layers):
        values.append(runtime.forward(spec, values[-1], **_arrays(position, spec, params)))
    return values


def forward(net: Network, x: np.ndarray, params: dict[str, np.ndarray]) -> np.ndarray:
    """The network's output for ``x`` (before the loss)."""
    return activations(net, x, params)[-1]


def loss_and_grads(
    net: Network, x: np.ndarray, target: Any, params: dict[str, np.ndarray]
) -> tuple[Any, dict[str, np.ndarray]]:
    """The loss and its gradient for every parameter (PyTorch's names) and for the input.

    ``grads["input"]`` is dL/dX of the network's input; the others are keyed like ``params``.
    """
    values = activations(net, x, params)
    dtype = values[-1].dtype
    loss = runtime.forward(net.loss, values[-1], target=target)
    upstream = runtime.backward(net.loss, values[-1], np.ones(1, dtype=dtype), target=target)["X"]
    grads: dict[str, np.ndarray] = {}
    for position in reversed(range(len(net.layers))):
        spec = net.layers[position]
        weights = _arrays(position, spec, params)
        local = runtime.backward(spec, values[position], upstream, w=weights.get("w"))
        for tensor in ("W", "B"):
            if tensor in local:
                grads[f"{position}.{NAMES[tensor]}"] = local[tensor]
        upstream = local["X"]
    grads["input"] = upstream
    return loss[0], grads  # a scalar of the arrays' dtype: a Fraction stays exact


def sgd_step(
    params: dict[str, np.ndarray], grads: dict[str, np.ndarray], lr: float
) -> dict[str, np.ndarray]:
    """Plain SGD: a new dict with ``param - lr * grad`` for every parameter."""
    return {name: value - lr * grads[name] for name, value in params.items()}
