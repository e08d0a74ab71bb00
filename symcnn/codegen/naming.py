"""Names derived from a spec: the generated module's file name and the command that rebuilds it.

>>> from symcnn import Conv2d
>>> spec = Conv2d(input_shape=(64, 1, 28, 28), out_channels=6, kernel=(5, 5))
>>> module_filename(spec, "float32")
'conv2d_64x1x28x28_out6_k5x5_float32.py'
>>> print(command_line(spec, "float32", "taps", "generated"))  # doctest: +NORMALIZE_WHITESPACE
symcnn generate conv2d --input 64x1x28x28 --kernel 5x5 --out-channels 6 --dtype float32
    --strategy taps -o generated
"""

from __future__ import annotations

import shlex
from typing import Any

from ..options import command_words as command_words_of
from ..spec import Layer

#: Short file-name tags of the options, in the order they appear in a name.
_TAGS = {
    "out_channels": "out",
    "out_features": "out",
    "kernel": "k",
    "stride": "s",
    "padding": "p",
    "dilation": "d",
    "groups": "g",
    "bias": "bias",
    "ties": "ties",
    "count_include_pad": "countpad",
    "ceil_mode": "ceil",
    "reduction": "",
}


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


def module_filename(spec: Layer, dtype: str) -> str:
    """A file name that holds every option of the spec that is not its default."""
    parts = [spec.type, _text(spec.input_shape)]
    options = spec.non_default_options()
    for key, tag in _TAGS.items():
        if key == "kernel":
            if spec.window is not None:  # always named: a windowed layer's kernel is required
                parts.append(f"k{_text(spec.window.kernel)}")
        elif key in options:
            value = options[key]
            if isinstance(value, bool):
                parts.append(tag if value else f"no{tag}")
            else:
                parts.append(f"{tag}{_text(value)}")
    return "_".join([*parts, dtype]) + ".py"


def check_directory(directory: object, name: str = "directory") -> str:
    """``directory`` if it can be named in a generated module's header, else ValueError.

    The header is Python source: a folder name with a line break (or any character that is not
    printable) could end the comment it is quoted in and become code, so it is refused. ``name``
    is how the caller calls the value (``-o`` on the command line).
    """
    given = f"{name} {_short(directory)}" if name.startswith("-") else f"{name}={_short(directory)}"
    if not isinstance(directory, str) or not directory:
        raise ValueError(f"{given} is not valid: expected a non-empty folder name")
    bad = next((character for character in directory if not character.isprintable()), None)
    if bad is not None:
        raise ValueError(
            f"{given} is not valid: it holds the control character {bad!r}; a folder name must"
            " be printable text"
        )
    return directory


def _short(text: object, limit: int = 60) -> str:
    """``repr(text)``, cut in the middle past ``limit`` characters (a message stays one line)."""
    shown = repr(text)
    return shown if len(shown) <= limit else f"{shown[: limit // 2]}...{shown[-limit // 2 :]}"


def command_words(spec: Layer, dtype: str, strategy: str, directory: str) -> list[str]:
    """The ``symcnn generate`` command that writes this module, as shell-quoted words."""
    words = ["symcnn", "generate", *command_words_of(spec)]
    words += ["--dtype", dtype, "--strategy", strategy, "-o", check_directory(directory)]
    return [shlex.quote(word) for word in words]


def command_line(spec: Layer, dtype: str, strategy: str, directory: str) -> str:
    """The ``symcnn generate`` command that writes this module (each word shell-quoted)."""
    return " ".join(command_words(spec, dtype, strategy, directory))
