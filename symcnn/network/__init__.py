"""Whole networks: a TOML file (or a dict) of layers and a loss, shapes inferred layer to layer.

``spec``: the file, read and checked into a :class:`~symcnn.network.spec.Network`;
``params``: the parameters' PyTorch names and PyTorch's default initialisation;
``runtime``: forward, loss and gradients through the generic runtime, layer by layer;
``derive``: the staged exact derivation (one namespace per layer, linked by named tensors)
and its full expansion for tiny networks; ``sweep``: the backward sweep printed as steps.
"""
