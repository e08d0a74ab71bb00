"""``symcnn derive --net FILE`` and ``symcnn generate --net FILE``: the network file read, then
derived in stages (printed, or as JSON) or generated into a training module."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

from .. import progress
from ..files import check_output_path, write_output
from ..options import UsageError, term_limit
from . import sweep
from .derive import derive_network
from .spec import load_network

#: The formats ``derive --net`` writes.
FORMATS = {
    "text": sweep.text,
    "json": sweep.dumps,
    "latex": sweep.latex_document,
    "markdown": sweep.markdown,
}


def load(path: str):
    """The network file, or a UsageError (one line, exit 2) naming the file and the mistake."""
    try:
        return load_network(path)
    except ValueError as error:
        raise UsageError(f"--net {error}") from None


def run_derive(args: argparse.Namespace) -> int:
    """Run ``symcnn derive --net FILE``."""
    from ..formats import format_of_output

    if args.format is None:  # as for one layer: from -o's extension, else text
        args.format = format_of_output(args.output)
    if args.format not in FORMATS:
        raise UsageError(
            f"--format {args.format} is not available with --net: it takes {', '.join(FORMATS)}"
        )
    if getattr(args, "figure", False):
        raise UsageError("--figure does not apply with --net: figures are drawn for one layer")
    net = load(args.net)
    check_output_path(args.output, force=args.force)
    try:
        staged = derive_network(net, term_limit=term_limit(args))
    except ValueError as error:
        raise UsageError(str(error)) from None
    write_output(FORMATS[args.format](staged), args.output, force=args.force)
    if args.output not in (None, "-"):
        shape = "x".join(map(str, net.input_shape))
        progress.say(
            f"symcnn derive: wrote {args.output} ({args.format}, {len(net.layers)} layers and"
            f" {net.loss.type} on a {shape} input)"
        )
    return 0


def run_generate(args: argparse.Namespace) -> int:
    """Run ``symcnn generate --net FILE [--dtype ...] [-o DIR]``; print the written paths."""
    from ..codegen.files import write_generated
    from ..codegen.naming import check_directory
    from .codegen import generate_network

    if args.strategy != "auto":
        raise UsageError("--strategy does not apply with --net: each layer's kernels are fixed")
    net = load(args.net)
    stem = re.sub(r"\W", "_", Path(args.net).stem)
    stem = stem if stem[:1].isalpha() else f"net_{stem}"
    directory = check_directory(args.output or "generated", "-o")
    # Every word the user typed is quoted and checked printable: the header is Python source.
    words = ["symcnn", "generate", "--net", check_directory(args.net, "--net")]
    command = [shlex.quote(word) for word in (*words, "--dtype", args.dtype, "-o", directory)]
    try:
        files = generate_network(
            net, stem=stem, command=command, dtype=args.dtype, directory=directory
        )
        paths = [
            write_generated(Path(directory) / name, text, force=args.force)
            for name, text in files.items()
        ]
    except OSError as error:
        raise UsageError(f"cannot write into {directory}: {error.strerror}") from None
    for path in paths:
        print(path)
    return 0
