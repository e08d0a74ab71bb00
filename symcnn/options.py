"""Layer options on the command line: the rows each spec declares, and how argparse reads them.

A layer spec lists its own options (``options``, a tuple of :class:`Option` and :class:`Switch`
rows, the shared ones defined here), so a flag means the same thing in every command and a new
layer brings its flags with it. :func:`add_layer_arguments` adds the union of every layer's rows
to a parser; :func:`layer_spec` builds the spec and refuses a flag of another layer.

A user's mistake is a :class:`UsageError` (a ``ValueError``): one line, exit status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import layers
from .spec import MAX_DIGITS, REDUCTIONS, parse_dims, shortened


class UsageError(ValueError):
    """A mistake in how symcnn was called: reported in one line, exit status 2."""


def dims(name: str, lengths: tuple[int, ...]) -> Callable[[str], Any]:
    """An argparse type reading ``'3x3'``-style text with one of ``lengths`` numbers."""

    def parse(text: str) -> tuple[int, ...]:
        try:
            return parse_dims(name, text, lengths)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def count(name: str, *, least: int = 0) -> Callable[[str], int]:
    """An argparse type reading a whole number >= ``least``."""

    def parse(text: str) -> int:
        digits = text.strip()
        wanted = "a whole number" + (f" >= {least}" if least else "")
        if not (digits.isascii() and digits.isdigit()) or len(digits.lstrip("0")) > MAX_DIGITS:
            raise argparse.ArgumentTypeError(
                f"{name}={shortened(text)} is not valid: expected {wanted}"
                f" of at most {MAX_DIGITS} digits"
            )
        if int(digits) < least:
            raise argparse.ArgumentTypeError(f"{name}={text!r} is not valid: expected {wanted}")
        return int(digits)

    parse.__name__ = name
    return parse


def seconds(name: str) -> Callable[[str], float]:
    """An argparse type reading a positive, finite number of seconds (``30``, ``2.5``)."""

    def parse(text: str) -> float:
        digits = text.strip()
        try:
            value = float(digits) if digits.isascii() and len(digits) <= 20 else math.nan
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(
                f"{name}={shortened(text)} is not valid: expected a number of seconds > 0"
            )
        return value

    parse.__name__ = name
    return parse


def square(values: tuple[int, ...]) -> tuple[int, int]:
    """``(3,)`` -> ``(3, 3)``: one number means the same along both axes."""
    return (values[0], values[0]) if len(values) == 1 else (values[0], values[1])


@dataclass(frozen=True)
class Option:
    """One layer option: its flag, the spec field it sets, its help and how its text is read."""

    flag: str
    field: str
    help: str
    type: Callable[[str], Any] | None = None
    convert: Callable[[Any], Any] = lambda value: value
    choices: tuple[str, ...] | None = None
    metavar: str | None = None


@dataclass(frozen=True)
class Switch:
    """A boolean option: ``positive`` sets the field True (None: no such flag), ``negative``
    sets it False."""

    positive: str | None
    negative: str
    field: str
    help: str

    def flag(self, value: bool) -> str:
        return self.positive if value and self.positive else self.negative


# -- the rows that several layers share -----------------------------------------------------------

INPUT = Option(
    "--input",
    "input_shape",
    "input shape NxCxHxW (required); a layer with a window reads CxHxW as 1xCxHxW and HxW"
    " as 1x1xHxW, an elementwise one as N samples of F features",
    dims("input", (2, 3, 4)),
    metavar="SHAPE",
)
KERNEL = Option(
    "--kernel",
    "kernel",
    "kernel or window KH[xKW] (required)",
    dims("kernel", (1, 2)),
    square,
    metavar="KH[xKW]",
)
STRIDE = Option(
    "--stride",
    "stride",
    "stride S[xS] (conv: 1; pools: the kernel)",
    dims("stride", (1, 2)),
    square,
    metavar="S[xS]",
)
PADDING = Option(
    "--padding",
    "padding",
    "zero padding P[xP] (0)",
    dims("padding", (1, 2)),
    square,
    metavar="P[xP]",
)
DILATION = Option(
    "--dilation",
    "dilation",
    "kernel or window dilation D[xD]: the spacing of its taps (1)",
    dims("dilation", (1, 2)),
    square,
    metavar="D[xD]",
)
REDUCTION = Option(
    "--reduction",
    "reduction",
    "sum, or mean (divide the gradients by the batch size N) (sum)",
    choices=REDUCTIONS,
)


# -- reading them -------------------------------------------------------------------------------


def _rows() -> list[tuple[Option | Switch, tuple[str, ...]]]:
    """Every distinct row with the layer types that take it, in the order --help lists them."""
    found: dict[str, tuple[Option | Switch, list[str]]] = {}
    for layer_type, cls in layers.layer_types().items():
        for row in cls.options:
            key = row.field
            if key in found and found[key][0] != row:
                raise RuntimeError(f"two layers define the option {key!r} differently")
            found.setdefault(key, (row, []))[1].append(layer_type)
    # Options before switches; within each, the order of first appearance.
    ordered = sorted(found.values(), key=lambda item: isinstance(item[0], Switch))
    return [(row, tuple(types)) for row, types in ordered]


class _Once(argparse.Action):
    """Store a layer option's value, refusing it a second time: argparse would silently keep
    the last (``--kernel 2 --kernel 3``), and a command must not guess which the user meant."""

    def __init__(self, *args: Any, const: Any = None, **kwargs: Any) -> None:
        self.switch = kwargs.pop("nargs", None) == 0
        super().__init__(*args, nargs=0 if self.switch else None, const=const, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        given = getattr(namespace, f"_given_{self.dest}", None)
        if given == option_string:
            parser.error(f"{option_string} is given twice: give it once")
        if given is not None:
            parser.error(f"{given} and {option_string} both set {self.dest}: give one of them")
        setattr(namespace, f"_given_{self.dest}", option_string)
        setattr(namespace, self.dest, self.const if self.switch else values)


def add_layer_arguments(parser: argparse.ArgumentParser, *, optional_layer: bool = False) -> None:
    """Add the positional LAYER (optional if ``optional_layer``) and every layer option."""
    names = sorted(layers.layer_types())
    parser.add_argument(
        "layer",
        metavar="LAYER",
        nargs="?" if optional_layer else None,
        choices=names,
        help="the layer: " + ", ".join(names),
    )
    group = parser.add_argument_group("layer options")
    for row, types in _rows():
        applies = "" if len(types) == len(names) else f" [{', '.join(types)}]"
        if isinstance(row, Option):
            group.add_argument(
                row.flag,
                dest=row.field,
                action=_Once,
                type=row.type,
                default=None,
                choices=row.choices,
                metavar=row.metavar,
                help=row.help + applies,
            )
            continue
        if row.positive:
            group.add_argument(
                row.positive,
                dest=row.field,
                action=_Once,
                nargs=0,
                const=True,
                default=None,
                help=row.help + applies,
            )
        group.add_argument(
            row.negative,
            dest=row.field,
            action=_Once,
            nargs=0,
            const=False,
            default=None,
            help=argparse.SUPPRESS if row.positive else row.help + applies,
        )


def layer_flags_given(args: argparse.Namespace) -> list[str]:
    """The layer options given on the command line, as flags (for commands that take none)."""
    given = []
    for row, _ in _rows():
        value = getattr(args, row.field, None)
        if value is not None:
            given.append(row.flag if isinstance(row, Option) else row.flag(value))
    return given


def layer_spec(args: argparse.Namespace):
    """Build the layer spec from parsed arguments; refuse options of another layer."""
    kind = args.layer
    cls = layers.entry("spec", kind, "a layer spec")
    own = {row.field for row in cls.options}
    kwargs: dict[str, Any] = {}
    for row, types in _rows():
        value = getattr(args, row.field, None)
        if value is None:
            continue
        if row.field not in own:
            flag = row.flag if isinstance(row, Option) else row.flag(value)
            raise UsageError(
                f"{flag} does not apply to {kind}: it is an option of " + ", ".join(types)
            )
        kwargs[row.field] = row.convert(value) if isinstance(row, Option) else value
    for row in cls.options:
        if row.field in cls.required and row.field not in kwargs:
            raise UsageError(f"{kind} needs {row.flag}")
    return cls(**kwargs)


def command_words(spec) -> list[str]:
    """The layer's part of a command line that rebuilds ``spec``: its type, input and kernel,
    then every option that differs from its default."""
    words = [spec.type]
    options = spec.non_default_options()
    for row in spec.options:
        if isinstance(row, Switch):
            continue
        value = getattr(spec, row.field)
        if row.field in spec.required or row.field in options:
            words += [row.flag, _text(value)]
    for row in spec.options:
        if isinstance(row, Switch) and row.field in options:
            words.append(row.flag(options[row.field]))
    return words


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "x".join(str(v) for v in value)
    return str(value)


# -- limits shared by the commands ----------------------------------------------------------------

#: The default of ``--max-terms``, defined here so that reading options imports nothing
#: symbolic; :data:`symcnn.derive.DEFAULT_TERM_LIMIT` is this value.
DEFAULT_MAX_TERMS = 1_000_000


def add_max_terms(group) -> None:
    """``--max-terms N``: the same flag, help and default in every command that derives."""
    group.add_argument(
        "--max-terms",
        type=count("max-terms"),
        default=None,
        metavar="N",
        help="refuse a derivation costing more than N terms (multiply terms weighted by what"
        f" each costs, plus symbols), before any work ({DEFAULT_MAX_TERMS:,})",
    )


def term_limit(args: argparse.Namespace) -> int:
    """The ``--max-terms`` the user gave, or the default."""
    given = getattr(args, "max_terms", None)
    return DEFAULT_MAX_TERMS if given is None else given


def check_loss_letter(loss: Any, taken: str = "", letters: str | None = None) -> str:
    """``--loss`` (Python ``loss=``): one ASCII letter, and not a letter a tensor already has.

    The one rule for every command, so that ``derive`` and ``check`` refuse the same values with
    the same message. ``taken`` holds the tensors' letters (``letters`` names their set, for the
    message). Returns ``loss``; raises ValueError.

    >>> check_loss_letter("E", "XWOB")
    'E'
    """
    if not (isinstance(loss, str) and len(loss) == 1 and loss.isascii() and loss.isalpha()):
        shown = shortened(loss) if isinstance(loss, str) else repr(loss)
        raise ValueError(f"loss={shown} is not valid: expected a single letter (A-Z or a-z)")
    if loss in taken:
        # dX/dO would read as the loss's gradient and the input's at once
        where = f" with letters={letters!r}" if letters else ""
        raise ValueError(
            f"loss={loss!r} is not valid{where}: it names a tensor already; expected a letter"
            f" other than {', '.join(taken)}"
        )
    return loss
