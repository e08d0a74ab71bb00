"""Matrices drawn over several lines of plain text, read back into one line each.

symcnn's text notes (and students copying them) draw a matrix with ⎡ ⎢ ⎣ ... ⎤ ⎥ ⎦ (or
⎛ ⎜ ⎝ ... ⎞ ⎟ ⎠), one row per line, the equation's other text on one of those lines::

            ⎡a  b⎤
    dL/dW = ⎢c  d⎥
            ⎣e  f⎦

A block of consecutive lines holding such brackets is cut into *groups* (lines joined by a
matrix that spans them); each group becomes one line of text, read left to right, with every
matrix written as ``\\begin{bmatrix} a & b \\\\ c & d \\\\ e & f \\end{bmatrix}``, which the
grammar reads like any LaTeX matrix. Every character keeps its offset in the file, so an
entry's error is still reported at its own line and column. A drawing this cannot read
unambiguously (brackets that do not line up, text on two lines of a group at one column) is
left alone: the statement keeps its drawn characters and the checker reports it as not read.

Nothing here understands mathematics; only the layout.
"""

from __future__ import annotations

import re

#: The drawn brackets: opener, middle and closer pieces of each kind.
_TOP, _MIDDLE, _BOTTOM = "⎡⎛", "⎢⎜", "⎣⎝"
_CLOSERS = {"⎡": "⎤", "⎢": "⎥", "⎣": "⎦", "⎛": "⎞", "⎜": "⎟", "⎝": "⎠"}
DRAWN = "⎡⎢⎣⎤⎥⎦⎛⎜⎝⎞⎟⎠"
#: Entries of a drawn row are parted by two spaces or more (one space is inside an entry).
_GAP = re.compile(r"\s{2,}")
#: Lines of another notation (LaTeX math) are never read as a drawing.
_MATH = re.compile(r"\$|\\\[|\\\(|\\begin")

#: Most lines one drawn block may have: a gradient of 64 rows drawn in full, twice over.
MAX_LINES = 128

#: A line of text and the file offset of each of its characters.
Line = tuple[str, tuple[int, ...]]


class _Unreadable(Exception):
    """The block's layout is not a drawing this module reads."""


class _Drawing:
    """One drawn matrix: its first and last line (in the block), and per line its brackets."""

    def __init__(self, top: int, bottom: int, spans: dict[int, tuple[int, int]]):
        self.top, self.bottom = top, bottom
        self.spans = spans  # line -> (column of the opener, column of the closer)

    @property
    def left(self) -> int:
        return self.spans[self.top][0]

    @property
    def right(self) -> int:
        return max(close for _, close in self.spans.values())


def read_drawn_block(text: str, position: int) -> tuple[list[Line], int] | None:
    """The lines of the drawn block starting at ``position`` (a line start), read as lines.

    Returns the groups' lines (each with its characters' file offsets) and the position after
    the block, or None when no drawn block starts here or its layout cannot be read.
    """
    rows: list[tuple[str, int]] = []  # (line text, offset of its first character)
    cursor = position
    while cursor < len(text):
        end = text.find("\n", cursor)
        end = len(text) if end < 0 else end
        line = text[cursor:end]
        if not any(char in DRAWN for char in line) or _MATH.search(line):
            break
        rows.append((line, cursor))
        cursor = end + 1
    if len(rows) < 2 or len(rows) > MAX_LINES:
        return None  # no drawing, or one larger than any gradient's (then not read, and said so)
    try:
        lines = _read_block(rows)
    except _Unreadable:
        return None
    return lines, min(cursor, len(text))


def _read_block(rows: list[tuple[str, int]]) -> list[Line]:
    drawings = _find_drawings([line for line, _ in rows])
    lines = []
    for first, last in _groups(drawings, len(rows)):
        inside = [d for d in drawings if first <= d.top <= last]
        lines.extend(_side_by_side(_linearize(rows, first, last, inside)))
    return lines


#: ``X = ⎡...⎤,   O = ⎡...⎤``: equations laid side by side, parted by a comma and a wide gap.
_LISTING = re.compile(r",\s{2,}")


def _side_by_side(line: Line) -> list[Line]:
    """A group's line cut where equations stand side by side (a piece with no ``=`` stays)."""
    text, offsets = line
    cuts, depth = [], 0
    for position, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if depth == 0 and char == "," and _LISTING.match(text, position):
            cuts.append(position)
    pieces: list[tuple[int, int]] = []
    start = 0
    for cut in [*cuts, len(text)]:
        if "=" in text[start:cut] or not pieces:
            pieces.append((start, cut))
        else:
            pieces[-1] = (pieces[-1][0], cut)
        start = cut + 1
    return [(text[a:b], offsets[a:b]) for a, b in pieces]


def _find_drawings(lines: list[str]) -> list[_Drawing]:
    """Every drawn matrix of the block; each bracket character must belong to one."""
    drawings = []
    used: set[tuple[int, int]] = set()
    for top, line in enumerate(lines):
        for column, char in enumerate(line):
            if char not in _TOP or (top, column) in used:
                continue
            spans = {}
            row = top
            while True:
                piece = _at(lines, row, column)
                if row > top and piece not in _MIDDLE + _BOTTOM:
                    raise _Unreadable  # an opener with no bottom piece under it
                close = lines[row].find(_CLOSERS[piece], column + 1)
                between = lines[row][column + 1 : close] if close > 0 else ""
                if close < 0 or any(c in DRAWN for c in between):
                    raise _Unreadable
                spans[row] = (column, close)
                used.update({(row, column), (row, close)})
                if piece in _BOTTOM:
                    break
                row += 1
            drawings.append(_Drawing(top, row, spans))
    for row, line in enumerate(lines):
        if any(char in DRAWN and (row, column) not in used for column, char in enumerate(line)):
            raise _Unreadable  # a bracket piece of no matrix
    if not drawings:
        raise _Unreadable
    return drawings


def _at(lines: list[str], row: int, column: int) -> str:
    if row >= len(lines) or column >= len(lines[row]):
        return " "
    return lines[row][column]


def _groups(drawings: list[_Drawing], count: int) -> list[tuple[int, int]]:
    """Runs of lines joined by the matrices that span them."""
    groups: list[list[int]] = []
    for drawing in sorted(drawings, key=lambda d: d.top):
        if groups and drawing.top <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], drawing.bottom)
        else:
            groups.append([drawing.top, drawing.bottom])
    covered = sum(last - first + 1 for first, last in groups)
    if covered != count:
        raise _Unreadable  # a line of the block that no matrix spans
    return [(first, last) for first, last in groups]


def _linearize(rows, first: int, last: int, drawings: list[_Drawing]) -> Line:
    """One group's lines as one line: left to right, each matrix as ``\\begin{bmatrix}``."""
    chars: list[str] = []
    offsets: list[int] = []

    def add(piece: str, offset: int) -> None:
        chars.extend(piece)
        offsets.extend([offset] * len(piece))

    starts = {d.left: d for d in drawings}
    width = max(len(rows[r][0]) for r in range(first, last + 1))
    column = 0
    while column < width:
        drawing = starts.get(column)
        if drawing is not None:
            _emit_matrix(rows, drawing, add, chars, offsets)
            for row in range(first, last + 1):
                if row not in drawing.spans:
                    skipped = rows[row][0][column : drawing.right + 1]
                    if skipped.strip():
                        raise _Unreadable  # text under or over a matrix, not beside it
            column = drawing.right + 1
            continue
        written = [
            (rows[r][0][column], rows[r][1] + column)
            for r in range(first, last + 1)
            if column < len(rows[r][0]) and not rows[r][0][column].isspace()
        ]
        if len(written) > 1:
            raise _Unreadable  # two lines of one equation hold text at the same column
        if written:
            add(*written[0])
        else:
            line, start = rows[first]
            add(" ", start + min(column, len(line)))
        column += 1
    return "".join(chars), tuple(offsets)


def _emit_matrix(rows, drawing: _Drawing, add, chars, offsets) -> None:
    """``\\begin{bmatrix} a & b \\\\ c & d \\end{bmatrix}``, entries at their own offsets."""
    cells = []
    for row in range(drawing.top, drawing.bottom + 1):
        line, start = rows[row]
        open_column, close_column = drawing.spans[row]
        entries = _entries(line, start, open_column + 1, close_column)
        if entries:  # a blank line inside the brackets is spacing, not a row
            cells.append(entries)
    counts = {len(row) for row in cells}
    if len(counts) > 1:
        cells = _entries_by_columns(rows, drawing) or cells
    opener = rows[drawing.top][1] + drawing.left
    add(" \\begin{bmatrix} ", opener)
    for number, row in enumerate(cells):
        if number:
            add(" \\\\ ", row[0][1] if row else opener)
        for position, (entry, offset) in enumerate(row):
            if position:
                add(" & ", offset)
            chars.extend(entry)
            offsets.extend(range(offset, offset + len(entry)))
    line, start = rows[drawing.bottom]
    add(" \\end{bmatrix} ", start + drawing.spans[drawing.bottom][1])


def _entries(line: str, start: int, begin: int, end: int) -> list[tuple[str, int]]:
    """The entries of one drawn row: text between its brackets, parted by wide gaps."""
    entries = []
    inner = line[begin:end]
    position = 0
    for gap in [*_GAP.finditer(inner), None]:
        stop = gap.start() if gap else len(inner)
        piece = inner[position:stop]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            entries.append((piece.strip(), start + begin + position + lead))
        position = gap.end() if gap else stop
    return entries


def _entries_by_columns(rows, drawing: _Drawing) -> list[list[tuple[str, int]]] | None:
    """Rows whose wide gaps differ: part the entries where every row is blank instead.

    ``⎡a + b  c⎤`` over ``⎣d      e⎦`` splits ``d`` from ``e`` at the same columns; None when
    the rows' brackets do not line up or the columns do not give every row the same count.
    """
    spans = set(drawing.spans.values())
    if len(spans) != 1:
        return None
    ((begin, end),) = spans
    lines = [rows[r] for r in range(drawing.top, drawing.bottom + 1)]
    blank = [all(_at([line], 0, column).isspace() for line, _ in lines) for column in range(end)]
    cuts, column = [], begin + 1
    while column < end:
        if blank[column] and column + 1 < end and blank[column + 1]:
            run = column
            while run < end and blank[run]:
                run += 1
            cuts.append((column, run))
            column = run
        else:
            column += 1
    result = []
    for line, start in lines:
        row, position = [], begin + 1
        for cut_start, cut_end in [*cuts, (end, end)]:
            piece = line[position:cut_start]
            if piece.strip():
                lead = len(piece) - len(piece.lstrip())
                row.append((piece.strip(), start + position + lead))
            position = cut_end
        result.append(row)
    return result if len({len(row) for row in result}) == 1 else None
