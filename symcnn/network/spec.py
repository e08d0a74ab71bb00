"""A network: its input shape, its layers in order and its loss, every shape inferred.

The file is TOML (``../shared`` contract): ``input = [N, C, H, W]``, then one ``[[layer]]``
table per layer with its ``type`` and its options (the spec's fields: ``out_channels``,
``kernel``, ``padding``, ... and ``out_features`` for linear), then ``[loss]`` with its
``type``. Each layer's input shape is the previous layer's output shape; every mistake is one
``ValueError`` that names the layer by position (0-based, as the parameter names ``"0.weight"``)
and type.

>>> net = network_from_dict({
...     "input": [2, 1, 4, 4],
...     "layer": [{"type": "conv2d", "kernel": [3, 3]}, {"type": "flatten"},
...               {"type": "linear", "out_features": 3}],
...     "loss": {"type": "softmax_cross_entropy"},
... })
>>> [spec.output_shape for spec in net.layers], net.loss.input_shape
([(2, 1, 2, 2), (2, 4), (2, 3)], (2, 3))
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import layers
from ..spec import Layer

#: The keys of a network file.
TOP_KEYS = ("input", "layer", "loss")


@dataclass(frozen=True)
class Network:
    """The input shape, the layers (each spec with its inferred input shape) and the loss."""

    input_shape: tuple[int, ...]
    layers: tuple[Layer, ...]
    loss: Layer

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The shape of the last layer's output, which the loss reads."""
        return self.loss.input_shape

    def to_dict(self) -> dict[str, Any]:
        """The file's content as a dict (every option resolved), for ``SPEC`` and the JSON."""
        return {
            "input": list(self.input_shape),
            "layer": [_options(spec) for spec in self.layers],
            "loss": _options(self.loss),
        }


def _options(spec: Layer) -> dict[str, Any]:
    data = spec.to_dict()
    del data["input_shape"], data["reduction"]
    return data


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: {message}")


def _layer(where: str, table: Any, shape: tuple[int, ...], *, loss: bool) -> Layer:
    """One ``[[layer]]`` (or ``[loss]``) table as a spec on the input ``shape``."""
    if not isinstance(table, dict):
        raise _fail(where, f"expected a table with a type, got {table!r}")
    options = dict(table)
    kind = options.pop("type", None)
    types = layers.layer_types()
    allowed = sorted(name for name, cls in types.items() if cls.is_loss == loss)
    if kind not in allowed:
        raise _fail(where, f"type={kind!r} is not valid: expected one of {', '.join(allowed)}")
    cls = types[kind]
    fields = {f.name for f in dataclasses.fields(cls)} - {"input_shape", "reduction"}
    for key in options:
        if key not in fields:
            valid = ", ".join(sorted(fields)) or "none (only type)"
            raise _fail(where, f"{kind} has no option {key!r}: valid options are {valid}")
    for key, value in options.items():
        if isinstance(value, list):
            options[key] = tuple(value)
    try:
        return cls(input_shape=shape, **options)
    except (TypeError, ValueError) as error:
        raise _fail(where, str(error)) from None


def network_from_dict(data: Any) -> Network:
    """Build and check a network from the file's content (a dict, as ``tomllib`` reads it).

    Parameters
    ----------
    data : dict
        ``{"input": [N, C, H, W], "layer": [{"type": ..., ...}, ...], "loss": {"type": ...}}``.

    Returns
    -------
    Network

    Raises
    ------
    ValueError
        An unknown key, layer type or option, a value of the wrong type, or a shape that does
        not fit (``layer 3 (linear): ...``); one line naming where and what is valid.
    """
    if not isinstance(data, dict):
        raise ValueError(f"network={data!r} is not valid: expected a table of input, layer, loss")
    for key in data:
        if key not in TOP_KEYS:
            raise ValueError(
                f"the network has no key {key!r}: valid keys are {', '.join(TOP_KEYS)}"
            )
    for key in TOP_KEYS:
        if key not in data:
            raise ValueError(f"the network needs {key!r} ({_NEEDS[key]})")
    shape = data["input"]
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= 4
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    ):
        raise ValueError(
            f"input={shape!r} is not valid: expected 1 to 4 integers >= 1, batch first"
        )
    if not isinstance(data["layer"], list):
        raise ValueError(f"layer={data['layer']!r} is not valid: expected [[layer]] tables")
    specs = []
    current = tuple(shape)
    for position, table in enumerate(data["layer"]):
        kind = table.get("type") if isinstance(table, dict) else None
        spec = _layer(f"layer {position} ({kind})", table, current, loss=False)
        specs.append(spec)
        current = spec.output_shape
    kind = data["loss"].get("type") if isinstance(data["loss"], dict) else None
    loss = _layer(f"loss ({kind})", data["loss"], current, loss=True)
    return Network(tuple(shape), tuple(specs), loss)


_NEEDS = {
    "input": "input = [N, C, H, W]",
    "layer": "one [[layer]] table per layer",
    "loss": "[loss] with the type of a loss",
}


def load_network(path: str | Path) -> Network:
    """Read a network file (TOML); a ValueError names the file and the mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot read the network file ({error.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    try:
        return network_from_dict(data)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
