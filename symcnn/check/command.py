"""The ``symcnn check`` command: one submission, or a folder of them and a grade table."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..derive import DEFAULT_TERM_LIMIT, derive
from ..files import check_output_path, write_output
from ..options import UsageError, add_layer_arguments, layer_spec
from . import report as reports
from .checker import Report, check_source
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
        type=int,
        default=MAX_BYTES,
        metavar="N",
        help=f"refuse files larger than N bytes ({MAX_BYTES:,})",
    )
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
    out.add_argument("--force", action="store_true", help="overwrite output files that exist")


def run(args: argparse.Namespace) -> int:
    spec = layer_spec(args)
    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{args.file} does not exist")
    if args.max_bytes < 1:
        raise UsageError(f"--max-bytes={args.max_bytes} is not valid: expected a positive size")
    outputs = [args.output, args.summary_csv, args.summary_md]
    if not path.is_dir() and (args.summary_csv or args.summary_md):
        raise UsageError("--summary-csv and --summary-md need a folder of submissions as FILE")
    for output in outputs:
        check_output_path(output, force=args.force)  # before any work
    derivation = derive(spec, term_limit=DEFAULT_TERM_LIMIT)
    options = {"letters": args.letters, "loss": args.loss, "zero_based": args.zero_based}
    if path.is_dir():
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
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.resolve() not in written
    )
    if not files:
        raise UsageError(f"the folder {folder} holds no submissions")
    rows, results = [], []
    for path in files:
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
