"""A :class:`~symcnn.check.checker.Report` as text (for people), JSON (the contract) and tables.

The text form speaks the submission's own notation (``dL/dO11*F12``, 1-based unless the file
is 0-based) and lists the wrong entries first, expected and given side by side. The JSON form
is the contract's object, extended (never renamed): ``expected``/``got`` and the terms are
SymPy strings in the contract's symbols. The batch summary is one row per submission, as CSV
and as a Markdown table.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from sympy import (
    Add,
    And,
    Basic,
    Max,
    Min,
    Mul,
    Or,
    Piecewise,
    Rational,
    S,
    Symbol,
    exp,
    expand,
    factor_terms,
    log,
)
from sympy.core.relational import Relational

from ..evaluate import value_of
from ..jsonio import expression_text
from ..tensors import parse_symbol
from .checker import Report
from .compare import Record
from .equality import is_upstream
from .kinds import kind_check

#: Widest expected/given pair printed side by side; wider pairs are printed one above the other.
SIDE_BY_SIDE = 110


# -- the reader's notation ------------------------------------------------------------------------


class ReaderNames:
    """Contract symbols and entries -> the submission's own names (``x_0_0_0_1`` -> ``X12``)."""

    def __init__(self, report: Report):
        self.report = report
        self.notation = report.letters.notation(report.zero_based)
        derivation = report.derivation
        self.shapes = {name: grad.shape for name, grad in derivation.grads.items()}
        self.shapes["G"] = derivation.output.shape
        if derivation.tensors.T is not None:  # a loss's target, indexed like its input
            self.shapes["T"] = derivation.tensors.T.shape
        self.scale = derivation.upstream_scale

    def entry(self, tensor: str, index: tuple[int, ...]) -> str:
        """The tensor entry as written plainly: ``X12``, ``F_{2,12}``."""
        letter = self.report.letters.output if tensor == "G" else self.notation.name(tensor)
        subscript = self.notation.subscript(index, self.shapes[tensor])
        return letter + (f"_{{{subscript}}}" if "," in subscript else subscript)

    def gradient(self, tensor: str, index: tuple[int, ...] | None) -> str:
        """``dL/dX12`` (``dL/dX`` for a whole tensor)."""
        loss = self.report.letters.loss
        if index is None:
            return f"d{loss}/d{self.notation.name(tensor)}"
        return f"d{loss}/d{self.entry(tensor, index)}"

    def symbol(self, symbol: Symbol) -> str:
        parsed = parse_symbol(symbol)
        if parsed is None:
            return symbol.name
        tensor, index = parsed
        if tensor == "G":
            return self.gradient("G", index)
        return self.entry(tensor, index)

    def expression(self, expr: Basic | None) -> str:
        """An exact expression in the reader's notation, terms in upstream order."""
        if expr is None:
            return "-"
        if expr.has(exp, log):  # a loss's softmax or log-sum-exp: as SymPy writes it
            names = {s: Symbol(self.symbol(s)) for s in expr.free_symbols}
            return str(factor_terms(expr).xreplace(names))
        expr = expand(expr)
        if expr == 0:
            return "0"
        pieces = [self.term(term) for term in sorted(Add.make_args(expr), key=_term_key)]
        return " + ".join(pieces).replace("+ -", "- ")

    def term(self, term: Basic) -> str:
        coefficient, rest = term.as_coeff_Mul()
        factors = [f for f in Mul.make_args(rest) if f != 1]
        names = []
        for factor in sorted(factors, key=_factor_key):
            base, power = factor.as_base_exp()
            if is_upstream(base):
                coefficient = coefficient / self.scale ** int(power)  # g = (dL/dO) / scale
            name = self.symbol(base) if isinstance(base, Symbol) else self.condition_text(base)
            if power == -1:
                name = f"1/({name})" if " " in name else f"1/{name}"
            elif power != 1:
                name = f"{name}^{power}"
            names.append(name)
        body = "*".join(names)
        return _with_coefficient(Rational(coefficient), body)

    def condition_text(self, expr: Basic) -> str:
        """Piecewise values, conditions and extrema: ``1[X11 ≥ X12 and X11 > X21]``."""
        if isinstance(expr, Piecewise):
            pieces = expr.args
            if len(pieces) == 2 and pieces[1].cond == True and pieces[1].expr == 0:  # noqa: E712
                value, condition = pieces[0]
                head = "" if value == 1 else f"({self.expression(value)})*"
                return f"{head}1[{self.condition_text(condition)}]"
            parts = [
                f"{self.expression(value)} otherwise"
                if condition == True  # noqa: E712
                else f"{self.expression(value)} if {self.condition_text(condition)}"
                for value, condition in pieces
            ]
            return "{" + "; ".join(parts) + "}"
        if isinstance(expr, Relational):
            op = _RELATION_TEXT.get(expr.rel_op, expr.rel_op)
            return f"{self.expression(expr.lhs)} {op} {self.expression(expr.rhs)}"
        if isinstance(expr, And | Or):
            joiner = " and " if isinstance(expr, And) else " or "
            return joiner.join(self.condition_text(arg) for arg in expr.args)
        if isinstance(expr, Max | Min):
            name = "max" if isinstance(expr, Max) else "min"
            return f"{name}({', '.join(self.expression(arg) for arg in expr.args)})"
        if expr is S.NaN:
            return "undefined"
        if isinstance(expr, Symbol):
            return self.symbol(expr)
        return self.expression(expr) if expr.is_Add or expr.is_Number else str(expr)


_RELATION_TEXT = {">=": "≥", "<=": "≤", "!=": "≠", "==": "="}


def _with_coefficient(coefficient: Rational, body: str) -> str:
    if not body:
        return str(coefficient)
    sign = "-" if coefficient < 0 else ""
    magnitude = abs(coefficient)
    if magnitude == 1:
        return sign + body
    if magnitude.q == 1:
        return f"{sign}{magnitude.p}*{body}"
    numerator = "" if magnitude.p == 1 else f"{magnitude.p}*"
    return f"{sign}{numerator}{body}/{magnitude.q}"


def _factor_key(factor: Basic) -> tuple:
    base = factor.as_base_exp()[0]
    name = base.name if isinstance(base, Symbol) else str(base)
    return (0 if is_upstream(base) else 1, name)


def _term_key(term: Basic) -> tuple:
    ordered = sorted(term.free_symbols, key=lambda s: (0 if is_upstream(s) else 1, s.name))
    return tuple(s.name for s in ordered)


# -- text ---------------------------------------------------------------------------------------


def first_error(report: Report) -> str | None:
    """``FILE:LINE:COLUMN: entry: message`` of the first claim that could not be read."""
    invalid = [record for record in report.records if record.status == "invalid"]
    if not invalid:
        return None
    first = invalid[0]
    more = f" (and {len(invalid) - 1} more)" if len(invalid) > 1 else ""
    return f"{report.where(first.offset)}: {_entry_name(report, first)}: {first.message}{more}"


def _entry_name(report: Report, record: Record) -> str:
    """The entry as the report names it (``dL/dX12``), or as written when it has no index."""
    if record.tensor and record.index is not None:
        return ReaderNames(report).gradient(record.tensor, record.index)
    return record.written


def layer_summary(report: Report) -> str:
    spec = report.derivation.spec
    parts = [spec.type, "input " + "x".join(map(str, spec.input_shape))]
    window = spec.window
    for name in ("kernel", "stride", "padding", "dilation") if window else ():
        value = getattr(window, name)
        default = 0 if name == "padding" else 1
        if name == "kernel" or any(v != default for v in value):
            text = "x".join(map(str, value)) if name == "kernel" else _pair_text(value)
            parts.append(f"{name} {text}")
    if getattr(spec, "out_channels", 1) != 1:
        parts.append(f"{spec.out_channels} output channels")
    if spec.reduction != "sum":
        parts.append(f"reduction {spec.reduction}")
    return ", ".join(parts)


def text(report: Report) -> str:
    """The report for a person: wrong entries first, expected and given side by side."""
    names = ReaderNames(report)
    summary = report.summary
    base = "from 0" if report.zero_based else "from 1"
    lines = [
        f"{report.source.name}: {layer_summary(report)}",
        f"read with {report.letters.describe()}; indices counted {base}",
        _verdict(summary, sum(grad.size for grad in report.derivation.grads.values())),
    ]
    wrong = [(i, r) for i, r in enumerate(report.records) if r.status == "wrong"]
    if wrong:
        lines += ["", f"WRONG ({len(wrong)})"]
        shown, more = _first_of_each_formula(wrong)
        lines += _wrong_table(report, names, shown)
        for offset, count in more.items():
            lines.append(
                f"  ... and {count} more wrong entr{'ies' if count > 1 else 'y'} of the general"
                f" formula at line {report.line(offset)} (the JSON lists every one)"
            )
    invalid = [r for r in report.records if r.status == "invalid"]
    if invalid:
        lines += ["", f"UNREADABLE ({len(invalid)})"]
        for record in invalid:
            entry = _entry_name(report, record)
            lines.append(f"  {report.where(record.offset)}: {entry}: {record.message}")
            if record.expected is not None:
                lines.append(f"      expected {names.expression(record.expected)}")
    if report.diagnoses:
        lines += ["", "DIAGNOSIS"]
        lines += [f"  - {message}" for message in diagnosis_messages(report)]
    correct = [r for r in report.records if r.status == "correct"]
    if correct:
        lines += ["", f"CORRECT ({len(correct)})"]
        lines += _wrapped(
            f"{names.gradient(r.tensor, r.index)} (line {report.line(r.offset)})" for r in correct
        )
    unchecked = [r for r in report.records if r.status == "unchecked"]
    if unchecked:
        lines += ["", f"UNCHECKED ({len(unchecked)}: the file does not claim them)"]
        lines += _wrapped(names.gradient(r.tensor, r.index) for r in unchecked)
    if report.skipped:
        count = len(report.skipped)
        lines += ["", f"NOT CHECKED ({count} statement{'s' if count > 1 else ''})"]
        for skipped in report.skipped:
            lines.append(f"  {report.where(skipped.offset)}: {skipped.written}: {skipped.reason}")
    return "\n".join(lines) + "\n"


#: Wrong entries of one general formula shown in the text report: its first indices.
GENERAL_ROWS = 3


def _first_of_each_formula(wrong):
    """The wrong records to print: a general formula's first few, and how many it has more."""
    shown, more, seen = [], {}, {}
    for position, record in wrong:
        if record.kind == "general":
            seen[record.offset] = seen.get(record.offset, 0) + 1
            if seen[record.offset] > GENERAL_ROWS:
                more[record.offset] = more.get(record.offset, 0) + 1
                continue
        shown.append((position, record))
    return shown, more


def _verdict(summary: dict[str, int], entries: int) -> str:
    """The headline: the verdict, and how many of the layer's entries the file answered."""
    claimed = summary["correct"] + summary["wrong"] + summary["invalid"]
    answered = entries - summary["unchecked"]
    extent = (
        f"every one of the {entries} entries answered"
        if answered == entries
        else f"{answered} of {entries} entries answered"
    )
    if summary["invalid"]:
        head = f"UNUSABLE CLAIMS: {summary['invalid']} could not be read; {extent}"
    elif summary["wrong"]:
        head = f"WRONG: {summary['wrong']} of {claimed} claims; {extent}"
    elif answered < entries:
        head = f"CORRECT BUT INCOMPLETE: all {claimed} claims correct; only {extent}"
    else:
        head = f"CORRECT: all {claimed} claims; {extent}"
    counts = ", ".join(f"{summary[s]} {s}" for s in ("wrong", "invalid", "correct", "unchecked"))
    return f"{head} ({counts})"


def _wrong_table(report: Report, names: ReaderNames, wrong) -> list[str]:
    rows = []
    for position, record in wrong:
        rows.append(
            (
                str(report.line(record.offset)),
                names.gradient(record.tensor, record.index),
                names.expression(record.expected),
                names.expression(record.got),
                position,
                record,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    widths = [
        max(w, len(h)) for w, h in zip(widths, ("line", "entry", "expected", "given"), strict=True)
    ]
    side_by_side = widths[2] + widths[3] <= SIDE_BY_SIDE
    out = []
    if side_by_side:
        out.append(
            "  "
            + "  ".join(
                h.ljust(w)
                for h, w in zip(("line", "entry", "expected", "given"), widths, strict=True)
            ).rstrip()
        )
    indent = " " * (2 + widths[0] + 2 + widths[1] + 2)
    shown: set[tuple[int | None, str]] = set()  # a statement's note, once for all its entries
    for line, entry, expected, given, position, record in rows:
        if side_by_side:
            out.append(
                "  "
                + "  ".join(
                    c.ljust(w) for c, w in zip((line, entry, expected, given), widths, strict=True)
                ).rstrip()
            )
        else:
            out.append(f"  {line.ljust(widths[0])}  {entry.ljust(widths[1])}  expected {expected}")
            out.append(f"{indent}given    {given}")
        details = []
        if record.missing:
            details.append("missing " + ", ".join(names.expression(t) for t in record.missing))
        if record.extra:
            details.append("extra " + ", ".join(names.expression(t) for t in record.extra))
        if details:
            out.append(indent + "; ".join(details))
        for note in _record_notes(report, names, position, record):
            if record.kind != "entry":
                if (record.offset, note) in shown:
                    continue
                shown.add((record.offset, note))
            out.append(indent + note)
    return out


def _record_notes(report: Report, names: ReaderNames, position: int, record: Record) -> list[str]:
    notes = [
        note if isinstance(note, str) else _differs_at(names, record, note[1])
        for note in record.notes
    ]
    explained = any(record in d.explained for d in report.diagnoses)
    for hint in report.hints.get(position, []):
        if hint[0] == "other_entry" and (explained or record.kind != "entry"):
            continue
        if hint[0] == "other_entry":
            notes.append(
                f"the given value is exactly {names.gradient(hint[1], hint[2])}:"
                " a wrong index on the left side?"
            )
        elif hint[0] == "not_linear":
            terms = ", ".join(names.expression(t) for t in hint[1][:4])
            notes.append(
                f"every term should hold exactly one d{report.letters.loss}/d"
                f"{report.letters.output} factor; these do not: {terms}"
            )
    if record.also_at:
        lines = sorted({report.line(offset) for offset in record.also_at})
        notes.append("also claimed at line " + ", ".join(map(str, lines)))
    return notes


def _differs_at(names: ReaderNames, record: Record, point: dict) -> str:
    """Where a piecewise claim and the exact value differ, in the reader's names."""
    entries = [
        f"{names.symbol(s)} = {v}"
        for s, v in sorted(point.items(), key=lambda i: i[0].name)
        if not is_upstream(s)
    ]
    upstream = [names.symbol(s) for s, v in point.items() if is_upstream(s) and v]
    scale = names.scale
    if upstream:
        entries.append(f"{upstream[0]} = {scale} (every other upstream entry 0)")
    elif not names.report.derivation.spec.is_loss:  # a loss's gradient has no upstream
        entries.append("every upstream entry 0")
    exact, given = (_value_text(expr, point) for expr in (record.expected, record.got))
    return f"they differ at {', '.join(entries)}: exact {exact}, given {given}"


def _value_text(expr, point: dict) -> str:
    try:
        return str(value_of(expr, point))
    except (ValueError, ZeroDivisionError, TypeError):
        return "undefined"


def _wrapped(items, width: int = 96) -> list[str]:
    lines, current = [], "  "
    for item in items:
        piece = item if current == "  " else ", " + item
        if len(current) + len(piece) > width and current != "  ":
            lines.append(current + ",")
            current = "  " + item
        else:
            current += piece
    if current.strip():
        lines.append(current)
    return lines


def diagnosis_messages(report: Report) -> list[str]:
    """One sentence per diagnosis: the mistake, where, what it computed and the right form."""
    names = ReaderNames(report)
    letters = report.letters
    spec = report.derivation.spec
    window, kind = spec.window, kind_check(spec)
    fields = {
        "X": letters.input,
        "W": letters.kernel or "W",
        "dO": f"d{letters.loss}/d{letters.output}",
        "S": _pair_text(window.stride if window else (1, 1)),
        "P": _pair_text(window.padding if window else (0, 0)),
        "this": "from 0" if report.zero_based else "from 1",
        "other": "from 1" if report.zero_based else "from 0",
        "option": "no --zero-based" if report.zero_based else "--zero-based",
    }
    # A kind's words may themselves name the letters (its right forms: "conv({X}, {dO})").
    own = kind.fields(spec) if kind.fields else {}
    fields.update({name: words.format(**fields) for name, words in own.items()})
    messages = []
    for diagnosis in report.diagnoses:
        pattern = diagnosis.pattern
        if pattern.sentence:
            lines = sorted({report.line(r.offset) for r in diagnosis.explained})
            where = "line" + ("s " if len(lines) > 1 else " ") + _ranges(lines)
            sentence = pattern.sentence.format(
                count=len(diagnosis.explained), lines=where, **fields
            )
            messages.append(f"{pattern.title.format(**fields)}: {sentence}")
            continue
        parts = []
        for tensor in diagnosis.tensors:
            explained = [r for r in diagnosis.explained if r.tensor == tensor]
            if not explained:
                continue
            lines = sorted({report.line(r.offset) for r in explained})
            wrong, right = pattern.forms.get(tensor, pattern.forms.get("*", ("", "")))
            where = "line" + ("s " if len(lines) > 1 else " ") + _ranges(lines)
            count = len(explained)
            parts.append(
                f"{count} wrong entr{'ies' if count > 1 else 'y'} of"
                f" {names.gradient(tensor, None)} ({where}) are exactly"
                f" {wrong.format(**fields)}; the right form is {right.format(**fields)}"
            )
        messages.append(f"{pattern.title.format(**fields)}: " + "; ".join(parts))
    return messages


def _pair_text(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


def _ranges(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> '3-5, 9'."""
    parts, start = [], None
    for position, number in enumerate(numbers):
        if start is None:
            start = number
        following = numbers[position + 1] if position + 1 < len(numbers) else None
        if following != number + 1:
            parts.append(str(start) if start == number else f"{start}-{number}")
            start = None
    return ", ".join(parts)


# -- JSON -----------------------------------------------------------------------------------------


def to_dict(report: Report) -> dict[str, Any]:
    """The contract's JSON object (extended with places, notes and structured diagnoses)."""
    names = ReaderNames(report)
    claims = []
    for position, record in enumerate(report.records):
        line, column = (
            report.source.position(record.offset) if record.offset is not None else (None, None)
        )
        item: dict[str, Any] = {
            "tensor": record.tensor or None,
            "index": list(record.index) if record.index is not None else None,
            "line": line,
            "status": record.status,
            "expected": expression_text(record.expected) if record.expected is not None else None,
            "got": expression_text(record.got) if record.got is not None else None,
            "missing_terms": [expression_text(t) for t in record.missing],
            "extra_terms": [expression_text(t) for t in record.extra],
            "column": column,
            "entry": names.gradient(record.tensor, record.index) if record.tensor else None,
            "written": record.written or None,
            "kind": record.kind if record.offset is not None else None,
        }
        if record.message:
            item["message"] = record.message
        notes = _record_notes(report, names, position, record)
        if notes:
            item["notes"] = notes
        if record.also_at:
            item["also_claimed_at_lines"] = sorted({report.line(o) for o in record.also_at})
        claims.append(item)
    return {
        "claims": claims,
        "diagnosis": diagnosis_messages(report),
        "summary": report.summary,
        "file": report.source.name,
        "layer": report.derivation.spec.to_dict(),
        "letters": {
            "input": report.letters.input,
            "kernel": report.letters.kernel,
            "output": report.letters.output,
            "bias": report.letters.bias,
            "loss": report.letters.loss,
        },
        "zero_based": report.zero_based,
        "diagnoses": [
            {
                "pattern": d.pattern.key,
                "title": d.pattern.title,
                "tensors": list(d.tensors),
                "lines": sorted({report.line(r.offset) for r in d.explained}),
                "explained": len(d.explained),
                "contradicted": len(d.contradicted),
            }
            for d in report.diagnoses
        ],
        "skipped": [
            {"line": report.line(s.offset), "written": s.written, "reason": s.reason}
            for s in report.skipped
        ],
        "exit_status": report.exit_status,
    }


def dumps(report: Report) -> str:
    return json.dumps(to_dict(report), indent=1, ensure_ascii=False) + "\n"


# -- batch summaries ------------------------------------------------------------------------------

SUMMARY_COLUMNS = (
    "file",
    "verdict",
    "correct",
    "wrong",
    "invalid",
    "unchecked",
    "entries",
    "score",
    "diagnosis",
    "first_problem",
)


def summary_row(name: str, report: Report | None, error: str | None = None) -> dict[str, Any]:
    """One row of the grade table: counts, the score (correct / all entries) and why."""
    if report is None:
        return {
            "file": name,
            "verdict": "unusable",
            **dict.fromkeys(("correct", "wrong", "invalid", "unchecked", "entries"), ""),
            "score": "0.00",
            "diagnosis": "",
            "first_problem": error or "",
        }
    summary = report.summary
    entries = sum(grad.size for grad in report.derivation.grads.values())
    correct_entries = len(
        {(r.tensor, r.index) for r in report.records if r.status == "correct"}
        - {(r.tensor, r.index) for r in report.records if r.status in ("wrong", "invalid")}
    )
    verdict = {0: "correct", 1: "wrong", 2: "unusable"}[report.exit_status]
    if verdict == "correct" and summary["unchecked"]:
        verdict = "incomplete"
    problem = first_error(report)
    if problem is None:
        names = ReaderNames(report)
        first_wrong = next((r for r in report.records if r.status == "wrong"), None)
        if first_wrong is not None:
            problem = (
                f"line {report.line(first_wrong.offset)}:"
                f" {names.gradient(first_wrong.tensor, first_wrong.index)}"
            )
    return {
        "file": name,
        "verdict": verdict,
        "correct": summary["correct"],
        "wrong": summary["wrong"],
        "invalid": summary["invalid"],
        "unchecked": summary["unchecked"],
        "entries": entries,
        "score": f"{correct_entries / entries:.2f}",
        "diagnosis": "; ".join(d.pattern.title for d in report.diagnoses),
        "first_problem": problem or "",
    }


#: A spreadsheet reads a cell starting with one of these as a formula (``=HYPERLINK(...)``).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def printable(value: Any) -> str:
    """``value`` as text with every control character (newlines, escape sequences) written as
    its escape (``\\n``, ``\\x1b``): file names come from whoever named the files."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(
        character if character.isprintable() else repr(character)[1:-1] for character in text
    )


def csv_cell(value: Any) -> str:
    """A cell a spreadsheet shows as text: printable, and a leading formula sign quoted."""
    text = printable(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def summary_csv(rows: list[dict[str, Any]], columns: tuple[str, ...] = SUMMARY_COLUMNS) -> str:
    """The grade table as CSV; names and messages are made printable and never formulas
    (``columns``: another command's table, check-code's)."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([csv_cell(row[column]) for column in columns] for row in rows)
    return stream.getvalue()


def summary_markdown(rows: list[dict[str, Any]], columns: tuple[str, ...] = SUMMARY_COLUMNS) -> str:
    """The grade table as Markdown; cells are printable, pipes and HTML escaped (``columns``:
    another command's table, check-code's)."""

    def cell(value: Any) -> str:
        text = printable(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(cell(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def summary_text(rows: list[dict[str, Any]], columns: tuple[str, ...] = SUMMARY_COLUMNS) -> str:
    """The grade table for a terminal (every column but the last, first_problem, below a row)."""
    columns = columns[:-1]
    rows = [{key: printable(value) for key, value in row.items()} for row in rows]
    widths = {c: max(len(c), *(len(str(row[c])) for row in rows)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    for row in rows:
        lines.append("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())
        if row["first_problem"]:
            lines.append("    " + str(row["first_problem"]))
    return "\n".join(lines) + "\n"
