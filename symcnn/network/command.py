"""``symcnn derive --net FILE``: the network file read, derived in stages, printed or as JSON."""

from __future__ import annotations

import argparse

from ..derive import DEFAULT_TERM_LIMIT
from ..files import check_output_path, write_output
from ..options import UsageError
from . import sweep
from .derive import derive_network
from .spec import load_network

#: The formats ``derive --net`` writes.
FORMATS = {"text": sweep.text, "json": sweep.dumps}


def load(path: str):
    """The network file, or a UsageError (one line, exit 2) naming the file and the mistake."""
    try:
        return load_network(path)
    except ValueError as error:
        raise UsageError(f"--net {error}") from None


def run_derive(args: argparse.Namespace) -> int:
    """Run ``symcnn derive --net FILE``."""
    if args.format not in FORMATS:
        raise UsageError(
            f"--format {args.format} is not available with --net: it takes {', '.join(FORMATS)}"
        )
    net = load(args.net)
    check_output_path(args.output, force=args.force)
    limit = args.max_terms if args.max_terms is not None else DEFAULT_TERM_LIMIT
    try:
        staged = derive_network(net, term_limit=limit)
    except ValueError as error:
        raise UsageError(str(error)) from None
    write_output(FORMATS[args.format](staged), args.output, force=args.force)
    return 0
