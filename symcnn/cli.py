"""The ``symcnn`` command line: ``derive``, ``generate`` and ``check``.

The front end only: nothing imports it. Layer options come from the specs
(:mod:`symcnn.options`), so a flag means the same thing in every command. Commands live in
:data:`COMMANDS`; each names the function that adds its own flags and the function that runs it.

A user's mistake (a bad option, a file that would be overwritten) ends with a one-line message
and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from . import __version__, progress
from .files import check_output_path, write_output
from .options import (
    UsageError,
    add_layer_arguments,
    add_max_terms,
    count,
    layer_flags_given,
    layer_spec,
    term_limit,
)

# -- commands -----------------------------------------------------------------------------------


def _add_derive(parser: argparse.ArgumentParser) -> None:
    from .formats import FORMATS

    add_layer_arguments(parser, optional_layer=True)
    parser.add_argument(
        "--net",
        metavar="FILE",
        help="derive a whole network (a TOML file: input, [[layer]] tables, [loss]) instead"
        " of one LAYER",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default=None,
        help="text (terminal), latex (a standalone document), markdown (GitHub, MkDocs),"
        " pdf (compiled by pdflatex; needs -o FILE.pdf), json (the contract's object)"
        " (default: from the extension of -o FILE, else text)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    out.add_argument(
        "--force",
        action="store_true",
        help="replace FILE if it is an existing regular file (keeping its mode); folders, FIFOs,"
        " devices and sockets are refused even so",
    )
    out.add_argument(
        "--figure",
        action="store_true",
        help="latex: also draw the layer's figure as FILE-figure.png beside -o FILE.tex, and"
        " include it in the document (needs matplotlib)",
    )
    add_max_terms(out)
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
        type=count("max-entries", least=1),
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
    from .derive import derive
    from .formats import FORMATS, check_arguments

    if _network_requested(args):
        from .network.command import run_derive

        return run_derive(args)
    spec = layer_spec(args)
    check_arguments(args)  # before the work, not after it
    check_output_path(args.output, force=args.force)
    derivation = derive(spec, term_limit=term_limit(args))
    write_output(FORMATS[args.format](derivation, args), args.output, force=args.force)
    if args.output not in (None, "-"):
        progress.say(f"symcnn derive: wrote {args.output} ({args.format}, {spec.describe()})")
        if args.figure:
            from .formats import figure_path

            progress.say(f"symcnn derive: wrote {figure_path(args.output)} (its figure)")
    return 0


def _network_requested(args: argparse.Namespace) -> bool:
    """True for ``--net FILE``; refuses a LAYER or layer options beside it, and neither."""
    if args.net is None:
        if args.layer is None:
            raise UsageError("give a LAYER (conv2d, ...) or --net FILE")
        return False
    if args.layer is not None:
        raise UsageError(f"give a LAYER or --net FILE, not both (got {args.layer} and --net)")
    given = layer_flags_given(args)
    if given:
        raise UsageError(f"{given[0]} does not apply with --net: the file gives every option")
    return True


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
fastest (for conv2d, of each direction on its own: forward, dL/dW, dL/dX), and records the
timings in the module's header: the one part of the output that varies from run to run. Name a
strategy, or one per direction (--strategy forward=flat,grad_w=gemm,grad_x=flat), for
byte-identical output.""",
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
    Command(
        "check-code",
        "run a NumPy implementation of a layer (CS231n's functions) and check it against the"
        " exact derivation",
        """examples:
  symcnn check-code examples/cs231n_layers.py
  symcnn check-code examples/cs231n_layers_buggy.py --format json
  symcnn check-code solution.py conv2d --input 2x3x6x6 --out-channels 4 --kernel 3 --padding 1
  symcnn check-code grad.py maxpool2d --input 4x4 --kernel 2 --convention plain --function backward
  symcnn check-code submissions/ --jobs 2 --summary-csv grades.csv

Unlike 'check', this command EXECUTES FILE: in a child process, in a temporary folder, with a
time limit per call, a memory limit, sockets and new processes blocked, and its output captured.
Run it on code you would run yourself; the limits bound mistakes, not a determined attacker.

Without LAYER, every function found runs on built-in probe layers (strides 1-3, paddings 0-2,
non-square inputs and kernels, batches, overlapping and tied max-pool windows; ties go to the
first maximum, as np.argmax). exit status: 0 every function found is correct, 1 one is wrong,
2 FILE cannot be used (no known function, a signature that does not fit, an exception, a
timeout or an exit in its code). For a folder: 0 when every file is correct, 1 otherwise.""",
        lambda parser: _check_code_command().add_arguments(parser),
        lambda args: _check_code_command().run(args),
    ),
]


def _check_code_command():
    """symcnn.checkcode.command, imported when used."""
    from .checkcode import command

    return command


def _check_command():
    """symcnn.check.command, imported when used (it loads the checker)."""
    from .check import command

    return command


class _Parser(argparse.ArgumentParser):
    """argparse with the house style for mistakes: one line, exit status 2, a pointer to help."""

    def error(self, message: str) -> NoReturn:
        if message.endswith(": expected one argument"):
            flag = message.removeprefix("argument ").split(":")[0].split("/")[-1]
            message += (
                f" (a value that starts with '-' reads as a flag: write {flag}=VALUE to give one)"
            )
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
        sub.add_argument(
            "-q",
            "--quiet",
            action="store_true",
            help="no progress bar and no report of what was written (errors still print)",
        )
        sub.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with progress.shown(not args.quiet):
            return args.run(args)
    except ValueError as error:  # UsageError and every spec refusal
        print(f"symcnn {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `symcnn derive ... | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:  # Ctrl-C: one line and the shell's status for SIGINT, 128 + 2
        print(f"symcnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(
            f"symcnn {args.command}: error: out of memory: the layer or the file is too large"
            " for this machine (lower --max-terms or --max-bytes)",
            file=sys.stderr,
        )
        return 2
