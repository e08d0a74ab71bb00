"""The layer kinds: one folder each, and the tables every subsystem loads from them.

A kind's folder holds one small module per concern: ``spec`` (the frozen, validated spec and
its command-line options), ``rule`` (forward entries and local partials), ``runtime`` (NumPy
forward and backward), ``codegen`` (how the generator reads and writes it), ``notes`` (the
printed steps), ``check`` (the checker's patterns and diagnoses). Each concern module defines
``TABLE``, a dict from the layer type (``spec.type``) to that concern's entry for the type.

A subsystem never asks which layer it has: it looks the type up in its concern's table
(:func:`table`, :func:`entry`). A concern that a kind lacks is a module the folder does not
have, reported as "not available for LAYER". The registry imports the kinds lazily, one
concern at a time, so the runtime loads no SymPy and the symbolic core no printer.

>>> sorted(layer_types())[:6]
['avgpool2d', 'conv2d', 'flatten', 'linear', 'maxpool2d', 'minpool2d']
>>> entry("spec", "conv2d").__name__
'Conv2d'
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Any

#: The layer folders, in the order the command line lists their options. A new kind is one
#: folder and one word here.
KINDS = (
    "conv2d",
    "pool",
    "relu",
    "sigmoid",
    "tanh",
    "flatten",
    "linear",
    "softmax_cross_entropy",
    "mse",
)


@functools.cache
def table(concern: str) -> dict[str, Any]:
    """Every layer type's entry for ``concern``, merged from the kinds that have the module."""
    merged: dict[str, Any] = {}
    for kind in KINDS:
        module = _concern_module(kind, concern)
        if module is None:
            continue
        for layer_type, value in module.TABLE.items():
            if layer_type in merged:
                raise RuntimeError(f"two kinds define {concern} for {layer_type!r}")
            merged[layer_type] = value
    return merged


@functools.cache
def collect(concern: str, name: str) -> tuple[Any, ...]:
    """The ``name`` tuples of every kind's ``concern`` module, joined in the order of KINDS.

    A kind's own examples live beside its rules this way (the code generator's catalog, the
    gallery's pages): a kind without the module or the name adds nothing.
    """
    joined: list[Any] = []
    for kind in KINDS:
        module = _concern_module(kind, concern)
        if module is not None:
            joined.extend(getattr(module, name, ()))
    return tuple(joined)


def _concern_module(kind: str, concern: str):
    """``symcnn.layers.<kind>.<concern>``, or None when the kind has no such module."""
    name = f"{__name__}.{kind}.{concern}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:  # the module exists but an import inside it failed
            raise
        return None


def entry(concern: str, layer_type: str, what: str | None = None) -> Any:
    """The entry of ``layer_type`` in ``concern``'s table, or a ValueError saying who has one."""
    found = table(concern)
    if layer_type not in found:
        have = ", ".join(sorted(found)) or "no layer"
        raise ValueError(f"{what or concern} is not available for {layer_type}: it is for {have}")
    return found[layer_type]


def layer_types() -> dict[str, type]:
    """Every layer spec class by its contract name."""
    return table("spec")


def layer_from_dict(data: dict[str, Any]):
    """Build a spec from the contract's ``layer`` object (as written in the JSON output).

    >>> layer_from_dict({"type": "maxpool2d", "input_shape": [1, 1, 4, 4], "kernel": [2, 2]})
    MaxPool2d(input_shape=(1, 1, 4, 4), reduction='sum', kernel=(2, 2), stride=(2, 2), \
padding=(0, 0), ceil_mode=False, dilation=(1, 1), ties='first')
    """
    if not isinstance(data, dict):
        raise ValueError(
            f"data={data!r} is not valid: expected the contract's layer object, a dict such as"
            " {'type': 'conv2d', 'input_shape': [1, 1, 3, 3], 'kernel': [2, 2]}"
        )
    data = dict(data)
    kind = data.pop("type", None)
    types = layer_types()
    if kind not in types:
        raise ValueError(f"type={kind!r} is not valid: expected one of {', '.join(sorted(types))}")
    cls = types[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(
            f"{kind} has no option {unknown[0]!r}: valid options are {', '.join(sorted(names))}"
        )
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = tuple(value)
    return cls(**data)
