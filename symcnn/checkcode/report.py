"""A :class:`~symcnn.checkcode.checker.CodeReport` as text, as JSON, and as a grade table.

The text speaks the student's code: NumPy's 0-based indices (``dx[0, 1, 2, 3]``), the function
names of the file, the line numbers where they are defined or where they failed. Like
``symcnn check``'s report, the wrong come first, then the unusable, then the correct.
"""

from __future__ import annotations

import json
from typing import Any

from ..check import report as check_report
from .checker import CodeReport, Difference, FunctionVerdict, Probe

# -- words --------------------------------------------------------------------------------------


def layer_words(spec) -> str:
    """``conv2d on a 2x3x5x6 input, out channels 2, kernel 3x2, stride 2x2, padding 1x1``."""
    words = spec.describe()
    window = spec.window
    if window is not None:
        head, _, rest = words.partition(" input")
        kernel = "x".join(map(str, window.kernel))
        words = f"{head} input, kernel {kernel}{rest}"
    return words


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _index(name: str, index: tuple[int, ...] | None) -> str:
    return name if index is None else f"{name}[{', '.join(map(str, index))}]"


def _number(value: Any) -> str:
    return str(value)


#: Terms of a route printed before the rest is counted.
ROUTE_TERMS = 8


def _route(terms: list) -> str:
    """``dout[0, 0, 0, 1] - 3/4*dout[0, 0, 1, 1]``: the upstream entries and their weights."""
    if not terms:
        return "no upstream entry (0)"
    pieces = []
    for index, weight in terms[:ROUTE_TERMS]:
        name = _index("dout", index)
        pieces.append(name if weight == 1 else f"-{name}" if weight == -1 else f"{weight}*{name}")
    more = f" + ... ({len(terms)} terms)" if len(terms) > ROUTE_TERMS else ""
    return (" + ".join(pieces) + more).replace("+ -", "- ")


def _failure(verdict: FunctionVerdict, report: CodeReport) -> str:
    error = verdict.error or {}
    where = f"line {error['line']}: " if error.get("line") else ""
    probe = error.get("probe")
    during = (
        f" (probe {probe + 1}: {layer_words(report.probes_of(verdict)[probe].spec)})"
        if (probe is not None)
        else ""
    )
    return f"{where}{error.get('message', 'could not be run')}{during}"


# -- text ---------------------------------------------------------------------------------------


def text(report: CodeReport) -> str:
    """The report for a student: per function its verdict, the entries that differ, the mistake."""
    lines = [f"{report.file.name}: {report.convention} convention (the file was executed)"]
    if report.problem:
        lines += [f"UNUSABLE: {report.problem}"]
        lines += _output_lines(report)
        return "\n".join(lines) + "\n"
    lines.append(_verdict(report))
    for status, title in (("wrong", "WRONG"), ("unusable", "UNUSABLE"), ("correct", "CORRECT")):
        chosen = [f for f in report.functions if f.status == status]
        if not chosen:
            continue
        lines += ["", f"{title} ({len(chosen)})"]
        for verdict in chosen:
            lines += _function_lines(verdict, report)
    if any(f.status == "unusable" for f in report.functions):
        lines += _output_lines(report)
    return "\n".join(lines) + "\n"


def _verdict(report: CodeReport) -> str:
    s = report.summary
    total = len(report.functions)
    if s["unusable"]:
        head = f"UNUSABLE: {s['unusable']} of {_plural(total, 'function')} could not be checked"
    elif s["wrong"]:
        head = f"WRONG: {s['wrong']} of {_plural(total, 'function')}"
    elif total == 1:
        head = "CORRECT: the one function"
    else:
        head = f"CORRECT: all {total} functions"
    return f"{head} ({s['wrong']} wrong, {s['unusable']} unusable, {s['correct']} correct)"


def _function_lines(verdict: FunctionVerdict, report: CodeReport) -> list[str]:
    line = f" (line {verdict.line})" if verdict.line else ""
    probes = report.probes_of(verdict)
    arithmetic = "exact Fractions" if verdict.exact else "float64, relative 1e-9"
    head = f"  {verdict.name}{line}: {verdict.layer_type}"
    if verdict.status == "unusable":
        return [head, f"    {_failure(verdict, report)}"]
    if verdict.status == "correct":
        return [f"{head}, {_plural(verdict.probes, 'probe layer')}, {arithmetic}"]
    out = [f"{head}, {arithmetic}"]
    if verdict.refused_exact:
        out.append(
            f"    (it refused object arrays of Fractions: {verdict.refused_exact['message']})"
        )
    outputs = _outputs(verdict, probes)
    for output in outputs:
        wrong = verdict.wrong_probes.get(output, [])
        if not wrong:
            out.append(f"    {output}: correct on {_plural(verdict.probes, 'probe')}")
            continue
        out.append(f"    {output}: wrong on {len(wrong)} of {_plural(verdict.probes, 'probe')}")
        shown = [d for d in verdict.differences if d.output == output]
        first = shown[0].probe
        out.append(f"      first on probe {first + 1}: {layer_words(probes[first].spec)}")
        out += [f"        {_difference(d)}" for d in shown]
        routes = shown[0].routes
        if routes is not None:
            name = _index(output, shown[0].index)
            out.append(f"      with unit upstream gradients, {name} takes")
            out.append(f"        expected {_route(routes[0])}")
            out.append(f"        got      {_route(routes[1])}")
        for mistake in verdict.mistakes.get(output, []):
            out.append(
                f"      likely mistake: {mistake.title} (it reproduces every {output} entry on"
                " every probe)"
            )
            out.append(f"        {mistake.advice}")
    return out


def _outputs(verdict: FunctionVerdict, probes: list[Probe]) -> list[str]:
    if verdict.role == "forward":
        return ["out"]
    return [o for o in probes[0].kind.outputs if probes[0].expected.get(o) is not None]


def _difference(difference: Difference) -> str:
    name = _index(difference.output, difference.index)
    return f"{name}: expected {_number(difference.expected)}, got {_number(difference.got)}"


def _output_lines(report: CodeReport) -> list[str]:
    if not report.output.strip():
        return []
    printed = report.output.strip().splitlines()
    more = " (cut)" if len(report.output) > 2000 else ""
    return ["", f"OUTPUT OF THE FILE{more}"] + [f"  {line}" for line in printed[:20]]


# -- JSON ---------------------------------------------------------------------------------------


def to_dict(report: CodeReport) -> dict[str, Any]:
    """The report as JSON-ready data: numbers as exact strings (``"3/4"``) or float reprs."""
    return {
        "file": report.file.name,
        "convention": report.convention,
        "exit_status": report.exit_status,
        "problem": report.problem,
        "functions": [_function_dict(f, report) for f in report.functions],
        "summary": report.summary,
        "output": report.output,
    }


def _function_dict(verdict: FunctionVerdict, report: CodeReport) -> dict[str, Any]:
    probes = report.probes_of(verdict)
    return {
        "name": verdict.name,
        "role": verdict.role,
        "layer": verdict.layer_type,
        "line": verdict.line,
        "status": verdict.status,
        "arithmetic": "exact" if verdict.exact else "float64",
        "probes": [layer_words(p.spec) for p in probes],
        "wrong_probes": {o: [p + 1 for p in ps] for o, ps in verdict.wrong_probes.items()},
        "differences": [
            {
                "output": d.output,
                "probe": d.probe + 1,
                "index": list(d.index) if d.index is not None else None,
                "expected": str(d.expected),
                "got": str(d.got),
            }
            for d in verdict.differences
        ],
        "mistakes": {o: [m.key for m in ms] for o, ms in verdict.mistakes.items()},
        "error": verdict.error,
    }


def dumps(report: CodeReport) -> str:
    return json.dumps(to_dict(report), indent=1, ensure_ascii=False) + "\n"


# -- the grade table ----------------------------------------------------------------------------

SUMMARY_COLUMNS = ("file", "verdict", "correct", "wrong", "unusable", "score", "first_problem")


def summary_row(name: str, report: CodeReport) -> dict[str, Any]:
    """One row: the counts of functions, the score (correct / functions found) and why."""
    verdict = {0: "correct", 1: "wrong", 2: "unusable"}[report.exit_status]
    counts = report.summary
    found = len(report.functions)
    score = counts["correct"] / found if found else 0.0
    return {
        "file": name,
        "verdict": verdict,
        **counts,
        "score": f"{score:.2f}",
        "first_problem": _first_problem(report),
    }


def _first_problem(report: CodeReport) -> str:
    if report.problem:
        return report.problem
    for verdict in report.functions:
        if verdict.status == "unusable":
            return f"{verdict.name}: {_failure(verdict, report)}"
        if verdict.status == "wrong":
            first = verdict.differences[0]
            mistakes = verdict.mistakes.get(first.output)
            why = f" ({mistakes[0].title})" if mistakes else ""
            return f"{verdict.name}: {_difference(first)}{why}"
    return ""


#: A CSV cell a spreadsheet shows as text: the grade table of ``check``'s own rule (printable,
#: a leading ``= + - @`` tab or CR quoted).
safe_cell = check_report.csv_cell


def summary_csv(rows: list[dict[str, Any]]) -> str:
    """The grade table as CSV, by ``check``'s writer with this command's columns."""
    return check_report.summary_csv(rows, SUMMARY_COLUMNS)


def summary_markdown(rows: list[dict[str, Any]]) -> str:
    return check_report.summary_markdown(rows, SUMMARY_COLUMNS)


def summary_text(rows: list[dict[str, Any]]) -> str:
    """The grade table for a terminal."""
    return check_report.summary_text(rows, SUMMARY_COLUMNS)
