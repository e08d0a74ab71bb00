"""The staged exact derivation of a network: one derivation per layer, linked by named tensors.

Layer p is derived on its own symbols (namespace ``l<p>``: ``l0_x_...``, ``l0_w_...``,
``l0_g_...``), the loss last. Two links join the stages, as the notes write them:

- forward, ``A^p``: the input of layer p+1 (``l<p+1>_x_...``) is the output of layer p;
- backward, ``dL/dA^p``: the upstream gradient of layer p (``l<p>_g_...``) is dL/dX of layer
  p+1; the loss's upstream gradient ``g_0`` is dL/dL = 1.

So each layer's delta is written in terms of the next layer's, and the size stays linear in
the network: no expression of a stage holds another stage's symbols. :func:`expand` substitutes
the links all the way down to the network's input, parameters and target, for tiny networks
only, where it is held against ``sympy.diff`` of the fully expanded loss.

>>> from symcnn.network.spec import network_from_dict
>>> net = network_from_dict({"input": [1, 2], "layer": [{"type": "linear", "out_features": 1}],
...                          "loss": {"type": "mse"}})
>>> staged = derive_network(net)
>>> staged.stages[0].grads["W"][0, 0]
l0_g_0_0*l0_x_0_0
>>> expand(staged).grads["0.weight"][0, 0]
l0_x_0_0*(2*l0_b_0 + 2*l0_w_0_0*l0_x_0_0 + 2*l0_w_0_1*l0_x_0_1 - 2*l1_t_0_0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sympy import Basic, Integer, Symbol

from ..derive import DEFAULT_TERM_LIMIT, Derivation, derive
from .params import NAMES
from .spec import Network


def namespace(position: int) -> str:
    """The namespace of layer ``position``'s symbols (the loss is the last position)."""
    return f"l{position}"


@dataclass(frozen=True)
class NetworkDerivation:
    """Every stage's exact derivation, the layers in order and the loss last."""

    net: Network
    stages: tuple[Derivation, ...]

    @property
    def loss_stage(self) -> Derivation:
        return self.stages[-1]

    def forward_links(self) -> dict[Symbol, Basic]:
        """``l<p+1>_x_...`` -> the output entry of layer p it stands for (A^p)."""
        links = {}
        for before, after in zip(self.stages, self.stages[1:], strict=False):
            for symbol, value in zip(after.tensors.X.flat, before.output.flat, strict=True):
                links[symbol] = value
        return links

    def backward_links(self) -> dict[Symbol, Basic]:
        """``l<p>_g_...`` -> dL/dX of layer p+1 at that entry (dL/dA^p); the loss's g is 1."""
        links: dict[Symbol, Basic] = {self.loss_stage.tensors.G[0]: Integer(1)}
        for before, after in zip(self.stages, self.stages[1:], strict=False):
            for symbol, value in zip(before.tensors.G.flat, after.grads["X"].flat, strict=True):
                links[symbol] = value
        return links


def derive_network(net: Network, *, term_limit: int = DEFAULT_TERM_LIMIT) -> NetworkDerivation:
    """Derive every layer and the loss exactly, each in its own namespace.

    Parameters
    ----------
    net : Network
    term_limit : int
        The limit of multiply terms, for each stage (as ``symcnn.derive``).

    Returns
    -------
    NetworkDerivation
    """
    specs = (*net.layers, net.loss)
    stages = tuple(
        derive(spec, term_limit=term_limit, namespace=namespace(position))
        for position, spec in enumerate(specs)
    )
    return NetworkDerivation(net, stages)


@dataclass(frozen=True)
class Expanded:
    """The loss and every gradient over the network's own leaves (input, parameters, target).

    ``grads`` holds ``"input"`` and the parameters by PyTorch's names (``"0.weight"``, ...).
    """

    loss: Basic
    grads: dict[str, np.ndarray]
    leaves: dict[str, np.ndarray]


def _substituted(array: np.ndarray, links: dict[Symbol, Basic]) -> np.ndarray:
    out = np.empty(array.shape, dtype=object)
    for index, expr in np.ndenumerate(array):
        out[index] = expr.xreplace(links)
    return out


def expand(staged: NetworkDerivation) -> Expanded:
    """Substitute the links down to the network's leaves (for tiny networks: it grows fast)."""
    # [A^p] -> the output of every layer over the input and the parameters, layer by layer
    values: dict[Symbol, Basic] = {}
    for stage, next_stage in zip(staged.stages, staged.stages[1:], strict=False):
        output = _substituted(stage.output, values)
        for symbol, value in zip(next_stage.tensors.X.flat, output.flat, strict=True):
            values[symbol] = value
    loss_stage = staged.loss_stage
    loss = loss_stage.output[0].xreplace(values)
    # [dL/dA^p] -> each layer's upstream gradient, from the loss down
    upstream: dict[Symbol, Basic] = {loss_stage.tensors.G[0]: Integer(1)}
    grads: dict[str, np.ndarray] = {}
    leaves: dict[str, np.ndarray] = {"input": staged.stages[0].tensors.X}
    for position in reversed(range(len(staged.stages))):
        stage = staged.stages[position]
        links = values | upstream
        grad_x = _substituted(stage.grads["X"], links)
        if position > 0:
            before = staged.stages[position - 1]
            upstream = dict(zip(before.tensors.G.flat, grad_x.flat, strict=True))
        else:
            grads["input"] = grad_x
        for tensor, name in NAMES.items():
            if tensor in stage.grads:
                key = f"{position}.{name}"
                grads[key] = _substituted(stage.grads[tensor], links)
                leaves[key] = getattr(stage.tensors, tensor)
    leaves["target"] = loss_stage.tensors.T
    ordered = {"input": grads.pop("input")} | dict(sorted(grads.items(), key=_by_position))
    return Expanded(loss, ordered, leaves)


def _by_position(item: tuple[str, np.ndarray]) -> tuple[int, str]:
    position, name = item[0].split(".")
    return int(position), name
