"""``symcnn generate``: one layer's module, the whole catalog, or a check that it is fresh."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .. import progress
from ..options import UsageError, add_layer_arguments, add_max_terms, layer_spec, term_limit
from .catalog import DIRECTORY, stale_files, write_catalog
from .files import write_generated
from .generate import DTYPES, STRATEGY_CHOICES, generate
from .naming import check_directory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of ``symcnn generate``."""
    add_layer_arguments(parser, optional_layer=True)
    parser.add_argument(
        "--net",
        metavar="FILE",
        help="generate a whole network's training module (a TOML file) instead of one LAYER",
    )
    out = parser.add_argument_group("generation")
    out.add_argument("--dtype", choices=DTYPES, default="float64", help="float dtype (float64)")
    out.add_argument(
        "--strategy",
        type=_strategy,
        default="auto",
        metavar="NAME",
        help="unrolled (straight-line), taps (per kernel tap), separable (avgpool2d: rows,"
        " then columns), gemm (conv2d: gather + BLAS), gather (conv2d: per-sample products,"
        " dL/dX gathered), flat (conv2d, stride 1: flat rows, one strided copy), one per"
        " direction (conv2d: forward=NAME,grad_w=NAME,grad_x=NAME), or auto: the fastest"
        " measured on the target shape, each direction on its own (auto)",
    )
    out.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default=None,
        help=f"folder to write to, or of the catalog with --catalog/--check ({DIRECTORY}/)",
    )
    out.add_argument(
        "--force",
        action="store_true",
        help="replace a regular file at a module's path that symcnn did not generate (its mode"
        " is kept); a module symcnn generated is replaced without it, a folder, FIFO or device"
        " never",
    )
    add_max_terms(out)
    catalog = parser.add_argument_group("the catalog (no LAYER)")
    catalog.add_argument(
        "--catalog", action="store_true", help=f"render every catalog module into {DIRECTORY}/"
    )
    catalog.add_argument(
        "--check",
        action="store_true",
        help=f"re-render the catalog in memory; exit 1 with a diff if {DIRECTORY}/ differs",
    )


def _strategy(text: str) -> str:
    """A ``--strategy`` value: a name, or one per direction (checked against the layer later)."""
    if text in STRATEGY_CHOICES or "=" in text:
        return text
    raise argparse.ArgumentTypeError(
        f"invalid choice: {text!r} (choose from {', '.join(STRATEGY_CHOICES)}, or"
        " forward=NAME,grad_w=NAME,grad_x=NAME)"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``symcnn generate``; return the exit status."""
    if args.net is not None:
        return _run_network(args)
    if args.check or args.catalog:
        if args.layer is not None:
            raise UsageError("--check and --catalog take no LAYER: they cover the whole catalog")
        if args.check and args.catalog:
            raise UsageError("give --check or --catalog, not both")
        if args.max_terms is not None:
            raise UsageError("--max-terms does not apply to the catalog: its layers are fixed")
        folder = Path(_directory(args.output))
        if args.check:
            return _check(folder)
        return _write_catalog(folder, force=args.force)
    if args.layer is None:
        raise UsageError("give a LAYER (conv2d, ...), or --catalog or --check")
    spec = layer_spec(args)
    directory = check_directory(_directory(args.output), "-o")  # before the work, not after it
    _check_folder(Path(directory))
    module = generate(
        spec,
        dtype=args.dtype,
        strategy=args.strategy,
        directory=directory,
        term_limit=term_limit(args),
    )
    try:
        path = write_generated(Path(directory) / module.filename, module.text, force=args.force)
    except OSError as error:  # e.g. a folder without write permission
        raise UsageError(f"cannot write into {directory}: {error.strerror}") from None
    print(path)
    return 0


def _directory(output: str | None) -> str:
    """The folder ``-o`` names (the catalog's by default); an empty name is refused."""
    if output is None:
        return DIRECTORY
    if not output:
        raise UsageError(f"-o '' names no folder: give a folder name (default {DIRECTORY})")
    return output


def _run_network(args: argparse.Namespace) -> int:
    """``--net FILE``: no LAYER, no layer options, no catalog beside it."""
    from ..network.command import run_generate
    from ..options import layer_flags_given

    if args.layer is not None or args.check or args.catalog:
        raise UsageError("--net takes no LAYER, --check or --catalog: the file is the network")
    if args.max_terms is not None:  # each layer is derived at batch 2 only, under the default
        raise UsageError("--max-terms does not apply with --net: the kernels derive batch 2 only")
    given = layer_flags_given(args)
    if given:
        raise UsageError(f"{given[0]} does not apply with --net: the file gives every option")
    _check_folder(Path(check_directory(_directory(args.output), "-o")))
    return run_generate(args)


def _check_folder(folder: Path) -> None:
    """Refuse an output folder that is a file, or lies under one (it is created otherwise)."""
    for place in (folder, *folder.parents):
        if place.exists():
            if not place.is_dir():
                raise UsageError(
                    f"cannot write into {folder}: {place} is a file; -o names a folder"
                )
            return


def _check(folder: Path) -> int:
    problems = stale_files(folder)
    for text in problems.values():
        sys.stdout.write(text)
    if problems:
        print(
            f"symcnn generate: {len(problems)} catalog file(s) stale; run"
            " 'symcnn generate --catalog' to refresh them",
            file=sys.stderr,
        )
        return 1
    progress.say(f"symcnn generate: {folder}/ is up to date (the catalog re-rendered, identical)")
    return 0


def _write_catalog(folder: Path, *, force: bool) -> int:
    try:
        written = write_catalog(folder, force=force)
    except OSError as error:  # e.g. the disk filled up while writing
        raise UsageError(f"cannot write into {folder}: {error.strerror}") from None
    for path in written:
        print(path)
    return 0
