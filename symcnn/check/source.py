"""Reading a submission: bytes -> text -> statements, each character keeping its place.

A submission is LaTeX, Markdown or plain text. The checker reads it as a list of *statements*:
one per line of plain text, one per inline ``$...$`` segment, one per row of a display block
(``$$...$$``, ``\\[...\\]``, ``align`` and its relatives, rows split at ``\\\\``). Several
equations written side by side (``a = b \\quad c = d``, ``a = b; c = d``) become separate
statements. Every character of a statement remembers its offset in the file, so an error deep
inside a display block is still reported at its own ``FILE:LINE:COLUMN``.

Nothing here understands mathematics; :mod:`symcnn.check.parse` does.
"""

from __future__ import annotations

import bisect
import re
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .drawn import DRAWN, read_drawn_block

#: Files larger than this are refused before any parsing (a derivation is a few kilobytes).
MAX_BYTES = 256_000

#: Deepest nesting of (), {}, [] and matrix environments a statement may have.
MAX_DEPTH = 32

_MATH_ENVIRONMENTS = frozenset(
    name + star
    for name in (
        "equation",
        "align",
        "alignat",
        "aligned",
        "gather",
        "gathered",
        "multline",
        "eqnarray",
        "split",
        "flalign",
        "displaymath",
        "math",
    )
    for star in ("", "*")
)
#: Environments whose rows (\\) and columns (&) belong to one expression, not to the display.
_MATRIX_ENVIRONMENTS = frozenset(
    {"matrix", "bmatrix", "pmatrix", "Bmatrix", "vmatrix", "Vmatrix", "smallmatrix", "cases"}
    | {"dcases"}
)
_ENVIRONMENT = re.compile(r"\\(begin|end)\s*\{([A-Za-z]+\*?)\}")
#: LaTeX commands that carry no mathematics: erased (with their braced argument).
_ERASED_WITH_ARGUMENT = re.compile(r"\\(?:label|tag|eqref|ref|hspace|vspace)\*?\s*\{[^{}]*\}")
_ERASED = re.compile(r"\\(?:nonumber|notag|noindent)(?![A-Za-z])")
#: A row break of a display block, with its optional spacing: \\, \\*, \\[0.8ex].
_ROW_BREAK = re.compile(r"\\\\\*?(?:\s*\[[^\[\]\n]{0,20}\])?")
#: Side-by-side equations are separated by wide spaces or semicolons.
_SEPARATOR = re.compile(r"\\qquad(?![A-Za-z])|\\quad(?![A-Za-z])|;")
#: A line ending in one of these continues on the next line (a claim cannot end in them).
_CONTINUES = ("+", "-", "*", "=", "\\cdot", "\\times", "·", "×", "−")
_FIT_OPEN = re.compile(r"\\symcnnfit\s*\{")
_FIT_CLOSE = re.compile(r"\}\s*\\\]")
_UNDERLINE = re.compile(r"[ \t]*(?:-{3,}|={3,}|\*{3,}|_{3,})[ \t]*(?=\n|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class NotationError(ValueError):
    """Input the checker cannot use; ``offset`` is its place in the file (None: the whole file)."""

    def __init__(
        self,
        message: str,
        offset: int | None = None,
        *,
        place: tuple | None = None,
        not_a_claim: bool = False,
    ):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.place = place  # (line, column) when known without a Source (decoding errors)
        # A general formula (a sum over an index variable) or a matrix drawn over several lines:
        # reported as not checked rather than as a claim that cannot be read.
        self.not_a_claim = not_a_claim

    def located(self, name: str, source: Source | None = None) -> str:
        """``NAME:LINE:COLUMN: message`` (``1:1`` for an error about the whole file)."""
        if self.place is not None:
            line, column = self.place
        elif source is not None and self.offset is not None:
            line, column = source.position(self.offset)
        else:
            line, column = 1, 1
        return f"{name}:{line}:{column}: {self.message}"


@dataclass(frozen=True)
class Source:
    """A submission's text and where its lines start, to turn offsets into line and column."""

    name: str
    text: str

    @cached_property
    def line_starts(self) -> list[int]:
        return [0] + [match.end() for match in re.finditer("\n", self.text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based ``(line, column)`` of a character offset."""
        starts = self.line_starts
        line = bisect.bisect_right(starts, offset) - 1
        return line + 1, offset - starts[line] + 1

    def where(self, offset: int | None) -> str:
        """``NAME:LINE:COLUMN`` (``NAME:1:1`` for an error about the whole file)."""
        line, column = self.position(offset) if offset is not None else (1, 1)
        return f"{self.name}:{line}:{column}"


def read_source(path: str | Path, *, max_bytes: int = MAX_BYTES) -> Source:
    """Read a submission, refusing what is not a text file of reasonable size.

    Raises
    ------
    NotationError
        For a file that is too large, empty, binary, not UTF-8 or holding control characters.
    """
    path = Path(path)
    try:
        status = path.stat()
    except OSError as error:  # missing, not permitted, a name too long for the system
        raise NotationError(f"cannot read the file: {error.strerror}") from None
    if not stat.S_ISREG(status.st_mode):
        # A FIFO or a device would block or never end: only a file on disk is read.
        kind = "a folder" if stat.S_ISDIR(status.st_mode) else "not a regular file"
        raise NotationError(f"cannot read the file: it is {kind}; give a text file")
    if status.st_size > max_bytes:
        raise NotationError(
            f"the file has {status.st_size:,} bytes, more than the limit of {max_bytes:,}: a"
            " hand derivation is a few kilobytes (raise the limit with --max-bytes)"
        )
    try:
        data = _read_bounded(path, max_bytes)
    except OSError as error:
        raise NotationError(f"cannot read the file: {error.strerror}") from None
    return decode_source(data, str(path), max_bytes=max_bytes)


#: Bytes read at a time: a file that grows while it is read is refused past the limit without
#: holding more than the limit and one chunk.
_CHUNK = 65_536


def _read_bounded(path: Path, max_bytes: int) -> bytes:
    """At most ``max_bytes + 1`` bytes of ``path``, read in chunks (the excess byte signals a
    file over the limit)."""
    chunks, size = [], 0
    with path.open("rb") as stream:
        while size <= max_bytes:
            chunk = stream.read(min(_CHUNK, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks)


def decode_source(data: bytes, name: str = "<text>", *, max_bytes: int = MAX_BYTES) -> Source:
    """Bytes -> :class:`Source`, with the same refusals as :func:`read_source`."""
    if len(data) > max_bytes:
        raise NotationError(f"the text has more than {max_bytes:,} bytes")
    if b"\x00" in data:
        raise NotationError(
            "a NUL byte: this is a binary file, not a derivation",
            place=_place(data, data.index(b"\x00")),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotationError(
            f"byte 0x{data[error.start]:02x} is not UTF-8: save the derivation as UTF-8 text",
            place=_place(data, error.start),
        ) from None
    return source_from_text(text, name)


def source_from_text(text: str, name: str = "<text>") -> Source:
    """A :class:`Source` from text already in memory (the Python API and the tests)."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise NotationError("the file is empty")
    control = _CONTROL.search(text)
    if control:
        raise NotationError(
            f"control character U+{ord(control.group()):04X}: this is not a text file",
            place=Source(name, text).position(control.start()),
        )
    return Source(name, text)


def _place(data: bytes, byte_offset: int) -> tuple[int, int]:
    """1-based (line, column) of a byte, counting the characters before it on its line."""
    before = data[:byte_offset]
    line_start = before.rfind(b"\n") + 1
    column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
    return before.count(b"\n") + 1, column


# -- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Statement:
    """One candidate equation: its text and the file offset of each of its characters.

    ``whole_line`` is true for a plain-text line that is nothing but this statement (a header
    such as ``dL/dX`` opens a section only then).
    """

    text: str
    offsets: tuple[int, ...]
    whole_line: bool = False

    def offset(self, index: int) -> int:
        """File offset of character ``index`` (the end of the statement past its last one)."""
        if not self.offsets:
            return 0
        if index >= len(self.offsets):
            return self.offsets[-1] + 1
        return self.offsets[max(index, 0)]

    def slice(self, start: int, stop: int) -> Statement:
        return Statement(self.text[start:stop], self.offsets[start:stop], self.whole_line)


class _Builder:
    """Collects characters (with offsets) into statements."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.chars: list[str] = []
        self.offsets: list[int] = []
        self.whole_line = False

    def add(self, text: str, offset: int) -> None:
        self.chars.extend(text)
        self.offsets.extend(range(offset, offset + len(text)))

    def add_placed(self, text: str, offsets: tuple[int, ...]) -> None:
        """Add characters that each bring their own offset (a drawn matrix read back)."""
        self.chars.extend(text)
        self.offsets.extend(offsets)

    def blank(self, length: int, offset: int) -> None:
        """Erase ``length`` characters: spaces keep the columns of what follows."""
        self.add(" " * length, offset)

    def ends_with_operator(self) -> bool:
        return "".join(self.chars).rstrip().endswith(_CONTINUES)

    def flush(self) -> None:
        text = "".join(self.chars)
        if text.strip():
            for part in _split_side_by_side(Statement(text, tuple(self.offsets), self.whole_line)):
                part = _trim(part)
                if part.text:  # a lone comma or full stop is no statement
                    self.statements.append(part)
        self.chars, self.offsets, self.whole_line = [], [], False


def split_statements(source: Source) -> list[Statement]:
    """Cut a submission into statements (see the module docstring)."""
    text = source.text
    out = _Builder()
    mode = "text"  # "text", "inline" or "display"
    closer = ""  # what ends the current math mode
    matrix_depth = 0
    fit_open = False
    line_has_math = False
    line_start = True
    position = 0
    length = len(text)
    while position < length:
        char = text[position]
        if char == "%" and (position == 0 or text[position - 1] != "\\"):
            end = text.find("\n", position)  # a LaTeX comment runs to the end of its line
            position = length if end < 0 else end
            continue
        if char == "\n":
            if mode == "text":
                if out.ends_with_operator():
                    out.blank(1, position)
                else:
                    out.whole_line = out.whole_line and not line_has_math
                    out.flush()
            elif mode == "inline":  # an unclosed $ ends with its line
                out.flush()
                mode = "text"
            else:
                out.blank(1, position)
            line_has_math, line_start = False, True
            position += 1
            continue
        if line_start and mode == "text":
            underline = _UNDERLINE.match(text, position)
            if underline:
                # A Markdown heading underline (or rule) ends the line above; it joins nothing.
                out.flush()
                position = underline.end()
                continue
            drawn = read_drawn_block(text, position)
            if drawn is not None:
                # Matrices drawn over several lines (⎡ ⎢ ⎣): each equation they belong to
                # becomes one statement, every matrix written out as \begin{bmatrix}.
                out.flush()
                lines, position = drawn
                for line, offsets in lines:
                    out.add_placed(line, offsets)
                    out.flush()
                continue
            out.whole_line = True
            line_start = False
        if mode == "text":
            opener = _opening(text, position)
            if opener:
                token, mode, closer = opener
                out.whole_line = False  # text before math on a line is not a line of its own
                out.flush()
                line_has_math = True
                position += len(token)
                continue
        elif text.startswith(closer, position) and matrix_depth == 0:
            out.flush()
            position += len(closer)
            mode, closer = "text", ""
            continue
        environment = _ENVIRONMENT.match(text, position) if char == "\\" else None
        if environment and mode == "display" and environment.group(2) in _MATH_ENVIRONMENTS:
            out.blank(len(environment.group()), position)  # aligned inside $$ ... $$
            position = environment.end()
            continue
        if environment and environment.group(2) in _MATRIX_ENVIRONMENTS:
            matrix_depth += 1 if environment.group(1) == "begin" else -1
            matrix_depth = max(matrix_depth, 0)
            out.add(environment.group(), position)
            position = environment.end()
            continue
        fitted = _FIT_OPEN.match(text, position) if char == "\\" else None
        if fitted:
            # symcnn's own notes wrap a matrix display in \symcnnfit{...} (scaled to the page):
            # the wrapper and its closing brace before \] are no part of the math.
            out.blank(len(fitted.group()), position)
            position = fitted.end()
            fit_open = True
            continue
        if fit_open and char == "}" and _FIT_CLOSE.match(text, position):
            out.blank(1, position)
            position += 1
            fit_open = False
            continue
        erased = (
            (_ERASED_WITH_ARGUMENT.match(text, position) or _ERASED.match(text, position))
            if char == "\\"
            else None
        )
        if erased:
            out.blank(len(erased.group()), position)
            position = erased.end()
            continue
        if mode == "display" and matrix_depth == 0:
            row_break = _ROW_BREAK.match(text, position)
            if row_break:
                out.flush()
                position = row_break.end()
                continue
            if char == "&":
                out.blank(1, position)
                position += 1
                continue
        out.add(char, position)
        position += 1
    out.whole_line = out.whole_line and not line_has_math
    out.flush()
    return [_row_vectors(_nested_lists(s)) for s in _join_continued(out.statements, text)]


def _join_continued(statements: list[Statement], text: str) -> list[Statement]:
    r"""Statements that continue the one before are joined to it.

    A statement opening with ``=`` (an aligned chain: ``a = b \\ &= c``, ``= c`` on the next
    line, ``$$ lhs $$ $$ = rhs $$``), one opening with ``+`` (a long sum wrapped by a printer,
    ``&\qquad + ...``), one opening with ``-`` when indented or in a display (a bullet
    ``- item`` at the start of a line is prose), and any statement while the equation before
    it has a bracket still open (``\Bigl( ... \\ ... \Bigr)``).
    """
    # Linear in the file: each chain keeps its parts and the two facts _continues reads (its
    # bracket depth and whether it has an "="), instead of rebuilding and rescanning its text
    # at every join (a file of 240 kB of "dL/dX11 = (" lines took minutes).
    chains: list[_Chain] = []
    for statement in statements:
        if chains and _continues(chains[-1], statement, text):
            chains[-1].add(statement)
        else:
            chains.append(_Chain(statement))
    return [chain.statement() for chain in chains]


class _Chain:
    """Statements joined into one: its parts, bracket depth and whether it has an ``=``."""

    def __init__(self, first: Statement):
        self.parts = [first]
        self.depth = _depth(first.text)
        self.has_equals = "=" in first.text

    @property
    def whole_line(self) -> bool:
        return self.parts[0].whole_line

    @property
    def last_offset(self) -> int:
        return self.parts[-1].offsets[-1]

    def add(self, statement: Statement) -> None:
        self.parts.append(statement)
        self.depth += _depth(statement.text)
        self.has_equals = self.has_equals or "=" in statement.text

    def statement(self) -> Statement:
        """The joined statement: parts separated by a space placed just after each part."""
        if len(self.parts) == 1:
            return self.parts[0]
        offsets: list[int] = []
        for part in self.parts:
            if offsets:
                offsets.append(offsets[-1] + 1)  # the gap between two parts
            offsets.extend(part.offsets)
        text = " ".join(part.text for part in self.parts)
        return Statement(text, tuple(offsets), self.whole_line)


def _depth(text: str) -> int:
    """Brackets opened minus brackets closed in ``text``."""
    return sum(text.count(bracket) for bracket in "([{") - sum(
        text.count(bracket) for bracket in ")]}"
    )


def _opening(text: str, position: int) -> tuple[str, str, str] | None:
    """The math delimiter opening at ``position``: (token, mode, closer), or None."""
    if text.startswith("$$", position):
        return "$$", "display", "$$"
    if text.startswith("$", position) and (position == 0 or text[position - 1] != "\\"):
        return "$", "inline", "$"
    if text.startswith("\\[", position):
        return "\\[", "display", "\\]"
    if text.startswith("\\(", position):
        return "\\(", "inline", "\\)"
    environment = _ENVIRONMENT.match(text, position)
    if environment and environment.group(1) == "begin":
        name = environment.group(2)
        if name in _MATH_ENVIRONMENTS:
            return environment.group(), "display", f"\\end{{{name}}}"
    return None


_LEADING_SPACE = re.compile(r"(?:\s|\\qquad(?![A-Za-z])|\\quad(?![A-Za-z])|\\[,;:! ])*")


def _continues(previous: _Chain, statement: Statement, text: str) -> bool:
    body = statement.text[_LEADING_SPACE.match(statement.text).end() :]
    if body.startswith(("=", "+")):
        return True
    gap = text[previous.last_offset + 1 : statement.offsets[0]]
    bracket = next((i for i, char in enumerate(body) if char in DRAWN), None)
    if bracket is not None and gap.count("\n") <= 1:
        # The next row of a matrix drawn over several lines (one drawn.py could not read back),
        # unless the line opens an equation of its own (dL/dW = ⎡...).
        own_equation = "=" in body[:bracket]
        if body[:1] in DRAWN or (previous.has_equals and not own_equation):
            return True
    if previous.has_equals and body.startswith(("-", "−")):
        start = statement.offsets[0]
        line_start = text.rfind("\n", 0, start) + 1
        return start - line_start >= 2 or not previous.whole_line
    return previous.depth > 0 and previous.has_equals


def _nested_lists(statement: Statement) -> Statement:
    """``= [[a, b], [c, d]]`` (NumPy's way, one line or several): a matrix, as ``\\begin{bmatrix}``.

    Only a ``[[`` opening a right side (after ``=``) is a matrix; each row is a bracketed list
    of entries parted by commas outside brackets. Every entry keeps its characters' places; the
    words added (``\\begin{bmatrix}``, ``&``, ``\\\\``) take the place of the bracket or comma
    they stand for. Anything else is left as written (and then not read, at its place).
    """
    text = statement.text
    start = 0
    for _ in range(_MAX_LIST_MATRICES):  # each rewrite copies the statement: bounded
        found = _LISTS.search(text, start)
        if found is None:
            return statement
        rewritten = _matrix_of_lists(statement, found.start(1))
        if rewritten is None:
            start = found.end()
            continue
        statement, text = rewritten, rewritten.text
        start = found.start(1)
    return statement


#: ``= [[``: a matrix written as nested lists opens a right side.
_LISTS = re.compile(r"=\s*(\[)\s*\[")
#: Matrices of nested lists rewritten per statement; a claim chain has a handful.
_MAX_LIST_MATRICES = 64


def _matrix_of_lists(statement: Statement, opening: int) -> Statement | None:
    """The statement with the ``[[...], [...]]`` at ``opening`` written as a bmatrix, or None."""
    text = statement.text
    rows: list[list[tuple[int, int]]] = []  # each row's entries as (start, stop) in text
    separators: list[int] = []  # where each row opens
    depth, position = 0, opening + 1
    row_start = None
    entries: list[tuple[int, int]] = []
    entry_start = 0
    while position < len(text):
        char = text[position]
        if depth == 0:
            if char == "[":
                row_start, entries, entry_start = position, [], position + 1
                separators.append(position)
                depth = 1
            elif char == "," and rows and len(separators) == len(rows):
                pass  # the comma between two rows (a line's last one is trimmed: optional)
            elif char == "]":
                break
            elif not char.isspace():
                return None  # text between the rows
        elif char in "([{":
            depth += 1
        elif char in ")}" or (char == "]" and depth > 1):
            depth -= 1
        elif char == "]":  # the end of a row
            entries.append((entry_start, position))
            rows.append(entries)
            depth, row_start = 0, None
        elif char == "," and depth == 1:
            entries.append((entry_start, position))
            entry_start = position + 1
        position += 1
    else:
        return None  # the outer bracket never closes
    if not rows or row_start is not None:
        return None
    chars: list[str] = []
    offsets: list[int] = []

    def add(piece: str, at: int) -> None:
        chars.extend(piece)
        offsets.extend([statement.offset(at)] * len(piece))

    def copy(begin: int, stop: int) -> None:
        chars.extend(text[begin:stop])
        offsets.extend(statement.offsets[begin:stop])

    copy(0, opening)
    add("\\begin{bmatrix} ", opening)
    for number, row in enumerate(rows):
        if number:
            add(" \\\\ ", separators[number])
        for column, (begin, stop) in enumerate(row):
            if column:
                add(" & ", begin - 1)
            copy(begin, stop)
    add(" \\end{bmatrix}", position)
    copy(position + 1, len(text))
    return Statement("".join(chars), tuple(offsets), statement.whole_line)


def _row_vectors(statement: Statement) -> Statement:
    """``= [a  b]`` in plain text: a row of entries parted by wide gaps (``⟦a & b⟧``).

    Printed notes lay a bias or a row out as ``∂L/∂B = [∂L/∂O₁₁₁  ∂L/∂O₂₁₁]``; read as it stands,
    the gap would multiply the entries. Only a bracket opening a right side (after ``=``) is a
    row: brackets after a letter are indices. The characters keep their places.
    """
    text = statement.text
    if "[" not in text:
        return statement
    chars = list(text)
    # After "=" (spaces aside), computed once: a scan per bracket was quadratic in the length.
    after_equals, last = [], ""
    for char in text:
        after_equals.append(last == "=")
        last = last if char.isspace() else char
    position = 0
    while position < len(chars):
        if chars[position] == "[" and after_equals[position]:
            depth, end = 0, None
            for index in range(position, len(chars)):
                depth += (chars[index] in "([{") - (chars[index] in ")]}")
                if depth == 0:
                    end = index
                    break
            if end is None:
                break
            inner_depth = 0
            for index in range(position + 1, end):
                char = chars[index]
                inner_depth += (char in "([{") - (char in ")]}")
                gap = char == " " and index + 1 < end and chars[index + 1] == " "
                if gap and inner_depth == 0 and chars[index - 1] != " ":
                    chars[index] = "&"
            chars[position], chars[end] = "⟦", "⟧"
            position = end
        position += 1
    return Statement("".join(chars), statement.offsets, statement.whole_line)


def _split_side_by_side(statement: Statement) -> list[Statement]:
    """``a = b \\quad c = d`` -> two statements; a piece without ``=`` stays with the one before.

    Only separators outside braces and brackets count (``\\quad`` also pads a sum inside a claim).
    """
    if statement.text.count("=") < 2:
        return [statement]
    cuts = []
    depth = 0
    text = statement.text
    index = 0
    while index < len(text):
        char = text[index]
        if char in "({[":
            depth += 1
        elif char in ")}]":
            depth -= 1
        elif depth == 0:
            match = _SEPARATOR.match(text, index)
            if match:
                cuts.append((match.start(), match.end()))
                index = match.end()
                continue
        index += 1
    pieces: list[tuple[int, int]] = []
    start = 0
    for cut_start, cut_end in [*cuts, (len(text), len(text))]:
        if "=" in text[start:cut_start] or not pieces:
            pieces.append((start, cut_start))
        else:
            pieces[-1] = (pieces[-1][0], cut_start)
        start = cut_end
    return [statement.slice(a, b) for a, b in pieces]


def _trim(statement: Statement) -> Statement:
    """Drop surrounding blanks and a sentence's trailing comma, full stop or colon."""
    text = statement.text
    start = len(text) - len(text.lstrip())
    stop = len(text.rstrip())
    while stop > start and (
        text[stop - 1] in ",:;" or (text[stop - 1] == "." and text[stop - 2 : stop] != "..")
    ):
        stop = len(text[: stop - 1].rstrip())
    return statement.slice(start, stop)
