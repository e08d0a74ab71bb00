"""The ``symcnn`` command line: ``derive``, ``generate`` and ``check``.

Layer options are one table (:data:`OPTIONS`) shared by every command, so a flag means the same
thing everywhere and a new layer option is one row. Commands live in :data:`COMMANDS`; each
names the function that adds its own flags and the function that runs it.

A user's mistake (a bad option, a file that would be overwritten) ends with a one-line message
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from .spec import LAYERS, REDUCTIONS, TIE_RULES, parse_dims


class UsageError(ValueError):
    """A mistake in how symcnn was called: reported in one line, exit status 2."""


# -- layer options ------------------------------------------------------------------------------


def _dims(name: str, lengths: tuple[int, ...]) -> Callable[[str], Any]:
    def parse(text: str) -> tuple[int, ...]:
        try:
            return parse_dims(name, text, lengths)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    parse.__name__ = name  # argparse names the type in its messages
    return parse


def _count(name: str, *, least: int = 0) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not (text.strip().isascii() and text.strip().isdigit()) or int(text) < least:
            wanted = "a whole number" + (f" >= {least}" if least else "")
            raise argparse.ArgumentTypeError(f"{name}={text!r} is not valid: expected {wanted}")
        return int(text)

    parse.__name__ = name
    return parse


def _square(dims: tuple[int, ...]) -> tuple[int, int]:
    return (dims[0], dims[0]) if len(dims) == 1 else (dims[0], dims[1])


@dataclass(frozen=True)
class Option:
    """One layer option: its flag, the spec field it sets and the layers it applies to."""

    flag: str
    field: str
    layers: tuple[str, ...]
    help: str
    type: Callable[[str], Any] | None = None
    convert: Callable[[Any], Any] = lambda value: value
    choices: tuple[str, ...] | None = None
    metavar: str | None = None


ALL = tuple(LAYERS)
POOLS = ("maxpool2d", "minpool2d", "avgpool2d")
EXTREMES = ("maxpool2d", "minpool2d")

#: Every layer option of the command line (the contract's table), in the order --help lists them.
OPTIONS: tuple[Option, ...] = (
    Option(
        "--input",
        "input_shape",
        ALL,
        "input shape NxCxHxW, or HxW for 1x1xHxW (required)",
        _dims("input", (2, 4)),
        metavar="SHAPE",
    ),
    Option(
        "--kernel",
        "kernel",
        ALL,
        "kernel or window KH[xKW] (required)",
        _dims("kernel", (1, 2)),
        _square,
        metavar="KH[xKW]",
    ),
    Option(
        "--stride",
        "stride",
        ALL,
        "stride S[xS] (conv: 1; pools: the kernel)",
        _dims("stride", (1, 2)),
        _square,
        metavar="S[xS]",
    ),
    Option(
        "--padding",
        "padding",
        ALL,
        "zero padding P[xP] (0)",
        _dims("padding", (1, 2)),
        _square,
        metavar="P[xP]",
    ),
    Option(
        "--out-channels",
        "out_channels",
        ("conv2d",),
        "output channels K (1)",
        _count("out-channels"),
        metavar="K",
    ),
    Option(
        "--dilation",
        "dilation",
        ("conv2d",),
        "kernel dilation D[xD] (1)",
        _dims("dilation", (1, 2)),
        _square,
        metavar="D[xD]",
    ),
    Option(
        "--groups", "groups", ("conv2d",), "channel groups G (1)", _count("groups"), metavar="G"
    ),
    Option(
        "--ties",
        "ties",
        EXTREMES,
        "who gets the gradient at a tie: first (PyTorch), all"
        " (every tied entry, an equality mask) or split (shared equally) (first)",
        choices=TIE_RULES,
    ),
    Option(
        "--reduction",
        "reduction",
        ALL,
        "sum, or mean (divide the gradients by the batch size N) (sum)",
        choices=REDUCTIONS,
    ),
)
#: Boolean options: (positive flag, negative flag, field, layers, help).
SWITCHES = (
    (None, "--no-bias", "bias", ("conv2d",), "leave out the bias B"),
    (
        "--count-include-pad",
        "--no-count-include-pad",
        "count_include_pad",
        ("avgpool2d",),
        "divide by the whole window, padding included (as PyTorch; the default), or with"
        " --no-count-include-pad by its real cells only",
    ),
)


def add_layer_arguments(parser: argparse.ArgumentParser, *, optional_layer: bool = False) -> None:
    """Add the positional LAYER (optional if ``optional_layer``) and every layer option."""
    parser.add_argument(
        "layer",
        metavar="LAYER",
        nargs="?" if optional_layer else None,
        choices=sorted(LAYERS),
        help="the layer: " + ", ".join(sorted(LAYERS)),
    )
    group = parser.add_argument_group("layer options")
    for option in OPTIONS:
        group.add_argument(
            option.flag,
            dest=option.field,
            type=option.type,
            default=None,
            choices=option.choices,
            metavar=option.metavar,
            help=option.help + _applies(option.layers),
        )
    for positive, negative, field, layers, help_text in SWITCHES:
        if positive:
            group.add_argument(
                positive,
                dest=field,
                action="store_const",
                const=True,
                default=None,
                help=help_text + _applies(layers),
            )
        group.add_argument(
            negative,
            dest=field,
            action="store_const",
            const=False,
            default=None,
            help=argparse.SUPPRESS if positive else help_text + _applies(layers),
        )


def _applies(layers: tuple[str, ...]) -> str:
    return "" if layers == ALL else f" [{', '.join(layers)}]"


def layer_spec(args: argparse.Namespace):
    """Build the layer spec from parsed arguments; refuse options of another layer."""
    kind = args.layer
    kwargs: dict[str, Any] = {}
    for option in OPTIONS:
        value = getattr(args, option.field)
        if value is None:
            continue
        if kind not in option.layers:
            raise UsageError(
                f"{option.flag} does not apply to {kind}: it is an option of "
                + ", ".join(option.layers)
            )
        kwargs[option.field] = option.convert(value)
    for positive, negative, field, layers, _ in SWITCHES:
        value = getattr(args, field)
        if value is not None and kind not in layers:
            flag = positive if value and positive else negative
            raise UsageError(
                f"{flag} does not apply to {kind}: it is an option of " + ", ".join(layers)
            )
        if value is not None:
            kwargs[field] = value
    for required in ("input_shape", "kernel"):
        if required not in kwargs:
            flag = next(o.flag for o in OPTIONS if o.field == required)
            raise UsageError(f"{kind} needs {flag}")
    return LAYERS[kind](**kwargs)


# -- writing output -----------------------------------------------------------------------------


def check_output_path(path: str | None, *, force: bool) -> None:
    """Refuse an output path that cannot be written: run before any work, and again on writing."""
    if path is None or path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder; name a file in it")
    if target.exists() and not force:
        raise UsageError(f"{path} exists; pass --force to overwrite it")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {path}: the folder {target.parent} does not exist")


def write_output(text: str | bytes, path: str | None, *, force: bool) -> None:
    """Write to stdout, or atomically to ``path``, refusing to replace a file unless forced."""
    if path is None or path == "-":
        if isinstance(text, bytes):
            sys.stdout.buffer.write(text)
        else:
            sys.stdout.write(text)
        return
    check_output_path(path, force=force)
    target = Path(path)
    data = text.encode() if isinstance(text, str) else text
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    except OSError as error:  # e.g. a folder without write permission
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        # mkstemp creates the file private (0600); give it the mode any new file would get.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise UsageError(f"cannot write {path}: {error.strerror}") from None
        raise


# -- commands -----------------------------------------------------------------------------------


def _add_derive(parser: argparse.ArgumentParser) -> None:
    from .formats import FORMATS

    add_layer_arguments(parser)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="text",
        help="text (terminal), latex (a standalone document), markdown (GitHub, MkDocs),"
        " pdf (compiled by pdflatex; needs -o FILE.pdf), json (the contract's object) (text)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    out.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    out.add_argument(
        "--max-terms",
        type=_count("max-terms"),
        default=None,
        metavar="N",
        help="refuse derivations with more multiply terms than N (1,000,000)",
    )
    _add_notation(parser)


def _add_notation(parser: argparse.ArgumentParser) -> None:
    """Notation flags of the printed notes (text, latex, markdown, pdf)."""
    from .notation import LETTER_SETS

    group = parser.add_argument_group("notation (text, latex, markdown, pdf)")
    group.add_argument(
        "--letters",
        choices=list(LETTER_SETS),
        default=None,
        help="letters for input, kernel, output: XWO, XFO, xwo (loss E), AKZ, AWZ (XWO)",
    )
    group.add_argument("--loss", metavar="LETTER", help="the loss letter (L; E with xwo)")
    group.add_argument("--zero-based", action="store_true", help="count indices from 0, not 1")
    group.add_argument(
        "--max-entries",
        type=_count("max-entries", least=1),
        default=None,
        metavar="N",
        help="listings longer than N show representative entries only (32)",
    )
    group.add_argument(
        "--all-entries",
        action="store_true",
        help="show every entry of every listing and matrix, however large the layer",
    )


def _run_derive(args: argparse.Namespace) -> int:
    from .derive import DEFAULT_TERM_LIMIT, derive
    from .formats import FORMATS, check_arguments

    spec = layer_spec(args)
    limit = args.max_terms if args.max_terms is not None else DEFAULT_TERM_LIMIT
    check_arguments(args)  # before the work, not after it
    check_output_path(args.output, force=args.force)
    derivation = derive(spec, term_limit=limit)
    write_output(FORMATS[args.format](derivation, args), args.output, force=args.force)
    return 0


def _add_generate(parser: argparse.ArgumentParser) -> None:
    from .codegen.command import add_arguments

    add_arguments(parser)


def _run_generate(args: argparse.Namespace) -> int:
    from .codegen.command import run

    return run(args)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    epilog: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


COMMANDS: list[Command] = [
    Command(
        "derive",
        "derive the exact forward pass and gradients of one layer",
        """examples:
  symcnn derive conv2d --input 3x3 --kernel 2x2
  symcnn derive conv2d --input 4x4 --kernel 2x2 --stride 2 --padding 1 --format latex -o conv.tex
  symcnn derive conv2d --input 2x3x8x8 --out-channels 4 --kernel 3 --groups 1 --format json
  symcnn derive maxpool2d --input 4x4 --kernel 2x2 --ties split""",
        _add_derive,
        _run_derive,
    ),
    Command(
        "generate",
        "generate a specialized NumPy module of one layer from its exact derivation",
        """examples:
  symcnn generate conv2d --input 3x3 --kernel 2x2 --strategy unrolled
  symcnn generate conv2d --input 64x1x28x28 --out-channels 6 --kernel 5 -o /tmp/kernels
  symcnn generate --catalog      (render every module of the catalog into generated/)
  symcnn generate --check        (exit 1 with a diff if generated/ is stale)

--strategy auto (the default) times every strategy that fits on the target shape and keeps the
fastest, and records the timings in the module's header: the one part of the output that varies
from run to run. Name a strategy for byte-identical output.""",
        _add_generate,
        _run_generate,
    ),
    Command(
        "check",
        "check a hand derivation, entry by entry, against the exact one",
        """examples:
  symcnn check submission.tex conv2d --input 3x3 --kernel 2x2 --stride 2
  symcnn check notes.txt conv2d --input 3x3 --kernel 2x2 --letters xwo --loss E
  symcnn check answer.md conv2d --input 4x4 --kernel 3x3 --padding 1 --format json
  symcnn check submissions/ conv2d --input 3x3 --kernel 2x2 --summary-csv grades.csv

exit status: 0 every claim correct, 1 a claim is wrong, 2 the input cannot be used (a claim
that does not read, a file that is not a derivation); the message names FILE:LINE:COLUMN.
For a folder: 0 when every submission is correct, 1 otherwise.""",
        lambda parser: _check_command().add_arguments(parser),
        lambda args: _check_command().run(args),
    ),
]


def _check_command():
    """symcnn.check.command, imported when used (it imports this module back)."""
    from .check import command

    return command


class _Parser(argparse.ArgumentParser):
    """argparse with the house style for mistakes: one line, exit status 2, a pointer to help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="symcnn",
        description="Exact backpropagation for convolution and pooling layers: derive the"
        " gradients symbolically, print them as lecture notes, generate NumPy kernels, and"
        " check hand derivations.",
        epilog="Run 'symcnn COMMAND --help' for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"symcnn {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.name,
            help=command.help,
            description=command.help[0].upper() + command.help[1:] + ".",
            epilog=command.epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except ValueError as error:  # UsageError and every spec refusal
        print(f"symcnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `symcnn derive ... | head`
        sys.stderr.close()
        return 0
