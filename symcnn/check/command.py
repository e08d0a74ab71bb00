"""The ``symcnn check`` command: one submission, or a folder of them and a grade table."""

from __future__ import annotations

import argparse
import json
import stat
import sys
from pathlib import Path

from .. import progress
from ..derive import derive
from ..files import check_output_path, write_output
from ..options import (
    UsageError,
    add_layer_arguments,
    add_max_terms,
    count,
    layer_spec,
    seconds,
    term_limit,
)
from . import report as reports
from .checker import DEFAULT_TIME_LIMIT, Report, check_source
from .resolve import MAX_TERMS as MAX_CLAIM_TERMS
from .source import MAX_BYTES, NotationError, read_source


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="the derivation (LaTeX, Markdown or text), or a folder of them"
    )
    add_layer_arguments(parser)
    reading = parser.add_argument_group("reading the derivation")
    reading.add_argument(
        "--letters",
        metavar="LETTERS",
        help="input, kernel, output[, bias] letters as the file writes them (XFO, xwo, AKZB);"
        " pools: input, output (XO). Inferred from the file when omitted",
    )
    reading.add_argument(
        "--loss", metavar="LETTER", help="the loss letter (L, E). Inferred when omitted"
    )
    reading.add_argument(
        "--zero-based", action="store_true", help="indices count from 0 (default: from 1)"
    )
    reading.add_argument(
        "--require-all",
        action="store_true",
        help="exit 1 when the file leaves entries of dL/dX, dL/dW or dL/dB unanswered"
        " (by default a file whose claims are all right exits 0 however few it makes)",
    )
    reading.add_argument(
        "--max-bytes",
        type=count("max-bytes", least=1),
        default=MAX_BYTES,
        metavar="N",
        help=f"refuse files larger than N bytes ({MAX_BYTES:,})",
    )
    reading.add_argument(
        "--max-claim-terms",
        type=count("max-claim-terms", least=1),
        default=MAX_CLAIM_TERMS,
        metavar="N",
        help="refuse a claim that would expand to more than N terms: it bounds the work of"
        f" comparing one claim ({MAX_CLAIM_TERMS:,})",
    )
    reading.add_argument(
        "--time-limit",
        type=seconds("time-limit"),
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help="stop checking a file after SECONDS, at the claim it reached (exit 2; in a"
        f" folder, that file's row says so) ({DEFAULT_TIME_LIMIT:g})",
    )
    add_max_terms(reading)
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (wrong entries first, expected and given side by side) or json (text)",
    )
    out.add_argument("-o", "--output", metavar="FILE", help="write the report here, not stdout")
    out.add_argument(
        "--summary-csv", metavar="FILE", help="folder mode: write the grade table as CSV"
    )
    out.add_argument(
        "--summary-md", metavar="FILE", help="folder mode: write the grade table as Markdown"
    )
    out.add_argument(
        "--force",
        action="store_true",
        help="replace output files that exist (regular files only, keeping their mode)",
    )


def run(args: argparse.Namespace) -> int:
    spec = layer_spec(args)
    path = Path(args.file)
    try:
        is_folder = stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        raise UsageError(f"{args.file} does not exist") from None
    except OSError as error:  # not permitted, a name too long for the system
        raise UsageError(f"cannot read {args.file}: {error.strerror}") from None
    if args.max_bytes < 1:
        raise UsageError(f"--max-bytes={args.max_bytes} is not valid: expected a positive size")
    outputs = [args.output, args.summary_csv, args.summary_md]
    if not is_folder and (args.summary_csv or args.summary_md):
        raise UsageError("--summary-csv and --summary-md need a folder of submissions as FILE")
    named = [Path(output).resolve() for output in outputs if output and output != "-"]
    if len(set(named)) < len(named):  # one would overwrite the other after all the work
        raise UsageError("-o, --summary-csv and --summary-md name the same file: give each its own")
    for output in outputs:
        check_output_path(output, force=args.force)  # before any work
    derivation = derive(spec, term_limit=term_limit(args))
    options = {
        "letters": args.letters,
        "loss": args.loss,
        "zero_based": args.zero_based,
        "max_claim_terms": args.max_claim_terms,
        "time_limit": args.time_limit,
    }
    if is_folder:
        return _run_folder(path, derivation, options, args)
    report, error = _check_one(path, derivation, options, args.max_bytes)
    if report is None:
        raise UsageError(error)
    rendered = reports.dumps(report) if args.format == "json" else reports.text(report)
    write_output(rendered, args.output, force=args.force)
    if report.exit_status == 2:
        print(f"symcnn check: error: {reports.first_error(report)}", file=sys.stderr)
    if report.exit_status == 0 and args.require_all and report.summary["unchecked"]:
        print(
            f"symcnn check: {report.summary['unchecked']} entries not answered (--require-all)",
            file=sys.stderr,
        )
        return 1
    return report.exit_status


def _check_one(path: Path, derivation, options, max_bytes: int) -> tuple[Report | None, str]:
    """A report, or None and the FILE:LINE:COLUMN message of why the file cannot be used."""
    source = None
    try:
        source = read_source(path, max_bytes=max_bytes)
        return check_source(source, derivation, **options), ""
    except NotationError as error:
        return None, error.located(str(path), source)


def _run_folder(folder: Path, derivation, options, args: argparse.Namespace) -> int:
    written = {Path(p).resolve() for p in (args.output, args.summary_csv, args.summary_md) if p}
    try:
        entries = sorted(folder.iterdir())
    except OSError as error:  # a folder without read permission
        raise UsageError(f"cannot read the folder {folder}: {error.strerror}") from None
    # Unreadable files are kept: each gets its own row ("cannot read the file"), and the others
    # are still graded.
    files = [
        p
        for p in entries
        if not p.name.startswith(".") and not p.is_dir() and p.resolve() not in written
    ]
    if not files:
        raise UsageError(f"the folder {folder} holds no submissions")
    rows, results = [], []
    for path in progress.bar(files, total=len(files), desc="submissions", unit="file"):
        report, error = _check_one(path, derivation, options, args.max_bytes)
        rows.append(reports.summary_row(path.name, report, error))
        results.append(
            {"file": path.name, "error": error} if report is None else reports.to_dict(report)
        )
    if args.summary_csv:
        write_output(reports.summary_csv(rows), args.summary_csv, force=args.force)
    if args.summary_md:
        write_output(reports.summary_markdown(rows), args.summary_md, force=args.force)
    if args.format == "json":
        rendered = (
            json.dumps({"submissions": results, "summary": rows}, indent=1, ensure_ascii=False)
            + "\n"
        )
    else:
        rendered = reports.summary_text(rows)
    write_output(rendered, args.output, force=args.force)
    passing = ("correct",) if args.require_all else ("correct", "incomplete")
    return 0 if all(row["verdict"] in passing for row in rows) else 1
