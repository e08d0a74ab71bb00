"""The ``symcnn check-code`` command: one file, or a folder of them and a grade table."""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..files import check_output_path, write_output
from ..options import UsageError, add_layer_arguments, count, layer_spec
from . import report as reports
from . import sandbox
from .checker import CONVENTIONS, make_plan, run_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        metavar="FILE",
        help="the Python file to check (it is executed), or a folder of them",
    )
    add_layer_arguments(parser, optional_layer=True)
    code = parser.add_argument_group("the code")
    code.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default="cs231n",
        help="cs231n: conv_forward_naive, conv_backward_naive, max_pool_forward_naive,"
        " max_pool_backward_naive, as the assignment defines them; plain: --function NAME"
        " (cs231n)",
    )
    code.add_argument(
        "--function",
        metavar="NAME",
        help="plain: the backward function, backward(x, w, b, dout) -> (dx, dw, db) for conv2d,"
        " backward(x, dout) -> dx for maxpool2d",
    )
    code.add_argument(
        "--forward",
        metavar="NAME",
        help="plain: also check the forward function, forward(x, w, b) -> out or forward(x)",
    )
    code.add_argument(
        "--time-limit",
        type=float,
        default=sandbox.TIME_LIMIT,
        metavar="SECONDS",
        help=f"time limit per call of a function of FILE ({sandbox.TIME_LIMIT:g})",
    )
    code.add_argument(
        "--memory-limit",
        type=count("memory-limit", least=64),
        default=sandbox.MEMORY_BYTES >> 20,
        metavar="MB",
        help=f"memory limit of the process running FILE ({sandbox.MEMORY_BYTES >> 20})",
    )
    code.add_argument(
        "--jobs",
        type=count("jobs", least=1),
        default=1,
        metavar="N",
        help="folder mode: check N files at a time (1)",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (wrong functions first, expected and got) or json (text)",
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
    spec = layer_spec(args) if args.layer else None
    path = Path(args.file)
    if not path.exists():
        raise UsageError(f"{args.file} does not exist")
    if not path.is_dir() and path.suffix != ".py":
        raise UsageError(f"FILE={args.file} is not valid: expected a Python file (.py) or a folder")
    if not 0 < args.time_limit <= 600:
        raise UsageError(
            f"--time-limit={args.time_limit:g} is not valid: expected seconds in (0, 600]"
        )
    if not path.is_dir() and (args.summary_csv or args.summary_md):
        raise UsageError("--summary-csv and --summary-md need a folder of submissions as FILE")
    for output in (args.output, args.summary_csv, args.summary_md):
        check_output_path(output, force=args.force)  # before any work
    plan = make_plan(args.convention, spec, args.function, args.forward)
    limits = {"time_limit": args.time_limit, "memory_bytes": args.memory_limit << 20}
    if path.is_dir():
        return _run_folder(path, plan, limits, args)
    report = run_plan(path, plan, **limits)
    rendered = reports.dumps(report) if args.format == "json" else reports.text(report)
    write_output(rendered, args.output, force=args.force)
    return report.exit_status


def _run_folder(folder: Path, plan, limits: dict, args: argparse.Namespace) -> int:
    written = {Path(p).resolve() for p in (args.output, args.summary_csv, args.summary_md) if p}
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix == ".py" and not p.name.startswith(".")
        if p.resolve() not in written
    )
    if not files:
        raise UsageError(f"the folder {folder} holds no Python files")
    # Each file runs in its own child process: the threads mostly wait for them.
    with ThreadPoolExecutor(max_workers=min(args.jobs, len(files))) as pool:
        found = list(pool.map(lambda p: run_plan(p, plan, **limits), files))
    rows = [reports.summary_row(p.name, r) for p, r in zip(files, found, strict=True)]
    if args.summary_csv:
        write_output(reports.summary_csv(rows), args.summary_csv, force=args.force)
    if args.summary_md:
        write_output(reports.summary_markdown(rows), args.summary_md, force=args.force)
    if args.format == "json":
        data = {"submissions": [reports.to_dict(r) for r in found], "summary": rows}
        rendered = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    else:
        rendered = reports.summary_text(rows)
    write_output(rendered, args.output, force=args.force)
    return 0 if all(row["verdict"] == "correct" for row in rows) else 1
