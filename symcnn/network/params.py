"""The parameters of a network: their PyTorch names and PyTorch's default initialisation.

A layer at position i with a weight has ``"i.weight"`` and, with a bias, ``"i.bias"``, as a
``torch.nn.Sequential`` of the same layers names them. ``init_params`` draws them as PyTorch's
``nn.Conv2d`` and ``nn.Linear`` do by default (``kaiming_uniform_(a=sqrt(5))``, whose bound is
``1/sqrt(fan_in)``, and the bias uniform in the same bound), from a seeded NumPy generator:
the same seed gives the same numbers, not PyTorch's numbers.

>>> from symcnn.network.spec import network_from_dict
>>> net = network_from_dict({"input": [1, 4], "layer": [{"type": "linear", "out_features": 2}],
...                          "loss": {"type": "mse"}})
>>> {name: array.shape for name, array in init_params(net, seed=0).items()}
{'0.weight': (2, 4), '0.bias': (2,)}
"""

from __future__ import annotations

import math

import numpy as np

from ..spec import prod
from .spec import Network

#: The contract's tensor of a layer -> its PyTorch name.
NAMES = {"W": "weight", "B": "bias"}


def parameter_shapes(net: Network) -> dict[str, tuple[int, ...]]:
    """Every parameter's name and shape, in the order of the layers (weight, then bias)."""
    shapes = {}
    for position, spec in enumerate(net.layers):
        for tensor, shape in spec.parameters().items():
            if tensor in NAMES:
                shapes[f"{position}.{NAMES[tensor]}"] = shape
    return shapes


def fan_in(weight_shape: tuple[int, ...]) -> int:
    """Inputs per output unit: ``in_features``, or ``in_channels/groups * kh * kw``."""
    return prod(weight_shape[1:])


def init_params(net: Network, seed: int = 0, dtype: str = "float64") -> dict[str, np.ndarray]:
    """PyTorch's default initialisation of every weight and bias, from ``seed``.

    Parameters
    ----------
    net : Network
    seed : int
        Seeds ``numpy.random.default_rng``; the draws go in the order of the names.
    dtype : str
        float64 or float32.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"0.weight": ..., "0.bias": ..., ...}``, each uniform in ``±1/sqrt(fan_in)``.
    """
    rng = np.random.default_rng(seed)
    shapes = parameter_shapes(net)
    params = {}
    for name, shape in shapes.items():
        weight = shapes[name.rsplit(".", 1)[0] + ".weight"]
        bound = 1 / math.sqrt(fan_in(weight))
        params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return params
