"""A submission cut into statements, each character keeping its place in the file."""

import pytest

from symcnn.check.source import NotationError, source_from_text, split_statements


def cut(text):
    source = source_from_text(text)
    return source, split_statements(source)


def texts(text):
    return [statement.text for statement in cut(text)[1]]


def test_plain_lines_are_statements():
    assert texts("a = b\n\nc = d\n") == ["a = b", "c = d"]


def test_inline_math_segments_are_statements_and_prose_between_too():
    assert texts(r"so $x = 1$ and $y = 2$, done") == ["so", "x = 1", "and", "y = 2", ", done"]


def test_display_blocks_join_lines_and_split_rows():
    text = "$$\na = b\n + c\n$$\n\\begin{align}\nd &= e \\\\\nf &= g\n\\end{align}\n"
    assert [t.split() for t in texts(text)] == [
        ["a", "=", "b", "+", "c"],
        ["d", "=", "e"],
        ["f", "=", "g"],
    ]


def test_matrix_rows_stay_inside_their_statement():
    text = r"\[ M = \begin{bmatrix} a & b \\ c & d \end{bmatrix} \]"
    assert texts(text) == [r"M = \begin{bmatrix} a & b \\ c & d \end{bmatrix}"]


def test_side_by_side_equations_are_separated_but_padded_sums_are_not():
    assert texts(r"$$a = 1 \quad b = 2 \qquad c = 3$$") == ["a = 1", "b = 2", "c = 3"]
    assert texts(r"$$a = \quad x + \quad y$$") == [r"a = \quad x + \quad y"]
    assert texts("a = 1; b = 2") == ["a = 1", "b = 2"]


def test_a_line_ending_in_an_operator_continues():
    assert texts("dL/dX11 = a +\n   b\nc = d") == ["dL/dX11 = a +    b", "c = d"]


def test_a_display_block_opening_with_equals_continues_the_one_before():
    assert texts("$$ M $$\n\n$$ = N $$") == ["M = N"]


def test_comments_labels_and_trailing_punctuation_are_dropped():
    text = "a = b, % a comment = here\n$$c = d. \\label{eq:1}$$\n$$e = f + ...$$"
    assert texts(text) == ["a = b", "c = d", "e = f + ..."]


def test_offsets_point_into_the_file():
    source, statements = cut("text\n$$\n  x = 1\n  + y\n$$\n")
    (statement,) = [s for s in statements if "=" in s.text]
    assert source.position(statement.offset(statement.text.index("x"))) == (3, 3)
    assert source.position(statement.offset(statement.text.index("y"))) == (4, 5)


def test_whole_lines_are_marked():
    statements = cut("dL/dX\nsee $dL/dO$ here\n")[1]
    assert [(s.text, s.whole_line) for s in statements] == [
        ("dL/dX", True),
        ("see", False),
        ("dL/dO", False),
        ("here", False),
    ]


def test_line_endings_and_bom_are_normalised():
    source = source_from_text("\ufeffa = b\r\nc = d\r")
    assert source.text == "a = b\nc = d\n"


def test_an_unclosed_display_block_runs_to_the_end():
    assert texts("$$ a = b\nc") == ["a = b c"]


@pytest.mark.parametrize("text", ["", " \n\t\n"])
def test_empty_text_is_refused(text):
    with pytest.raises(NotationError, match="empty"):
        source_from_text(text)
